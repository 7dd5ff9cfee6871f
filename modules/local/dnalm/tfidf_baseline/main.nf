process DNALM_TFIDF_BASELINE {
    tag "${meta.id} ${meta.task}"
    label 'process_medium'
    container "${params.container_image}"

    input:
    tuple val(meta), path(vocab), path(data)

    output:
    tuple val(meta), path("tfidf_${meta.id}_${meta.task}", type: 'dir'),        emit: results
    tuple val("${task.process}"), val('dnalm'), eval('dnalm --version'), emit: versions_dnalm, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    // next-k-mer data needs the k to predict (meta.next_k, not the vocabulary's k); task folders carry their labels
    def k_arg = meta.next_k ? "--k ${meta.next_k}" : ''
    """
    # dnalm code ${task.ext.dnalm_code}
    dnalm tfidf-baseline --data ${data} --vocab ${vocab} ${k_arg} --out tfidf_${meta.id}_${meta.task} ${args}
    """

    stub:
    """
    mkdir -p tfidf_${meta.id}_${meta.task}
    touch tfidf_${meta.id}_${meta.task}/metrics.json tfidf_${meta.id}_${meta.task}/predictions.tsv tfidf_${meta.id}_${meta.task}/tree_selection.tsv
    """
}

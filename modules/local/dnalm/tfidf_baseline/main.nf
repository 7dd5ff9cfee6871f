process DNALM_TFIDF_BASELINE {
    tag "${meta.id} ${meta.task}"
    label 'process_medium'
    container "${params.container_image}"

    input:
    tuple val(meta), path(vocab), path(data)

    output:
    tuple val(meta), path("tfidf_${meta.id}_${meta.task}", type: 'dir'),        emit: results
    tuple val("${task.process}"), val('dnalm'), eval('dnalm --version | sed "s/^dnalm //"'), emit: versions_dnalm, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    // next-k-mer data needs k (meta.k); task folders carry their own labels
    def k_arg = meta.k ? "--k ${meta.k}" : ''
    """
    dnalm tfidf-baseline --data ${data} --vocab ${vocab} ${k_arg} --out tfidf_${meta.id}_${meta.task} ${args}
    """

    stub:
    """
    mkdir -p tfidf_${meta.id}_${meta.task}
    touch tfidf_${meta.id}_${meta.task}/metrics.json tfidf_${meta.id}_${meta.task}/predictions.tsv tfidf_${meta.id}_${meta.task}/tree_selection.tsv
    """
}

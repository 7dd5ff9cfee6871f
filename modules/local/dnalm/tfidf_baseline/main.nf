process DNALM_TFIDF_BASELINE {
    tag "${meta.id} k=${k}"
    label 'process_medium'
    container 'dnalm/dnalm:0.1.0'

    input:
    tuple val(meta), path(vocab), path(data), val(k)

    output:
    tuple val(meta), path("tfidf_${meta.id}_next${k}mer", type: 'dir'),         emit: results
    tuple val("${task.process}"), val('dnalm'), eval('dnalm --version | sed "s/^dnalm //"'), emit: versions_dnalm, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    dnalm tfidf-baseline --data ${data} --vocab ${vocab} --k ${k} --out tfidf_${meta.id}_next${k}mer ${args}
    """

    stub:
    """
    mkdir -p tfidf_${meta.id}_next${k}mer
    touch tfidf_${meta.id}_next${k}mer/metrics.json tfidf_${meta.id}_next${k}mer/predictions.tsv tfidf_${meta.id}_next${k}mer/tree_selection.tsv
    """
}

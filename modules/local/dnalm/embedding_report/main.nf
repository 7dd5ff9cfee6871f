process DNALM_EMBEDDING_REPORT {
    tag "${meta.id}"
    label 'process_low'
    container "${params.container_image}"

    input:
    tuple val(meta), path(sets, stageAs: 'sets/*')

    output:
    tuple val(meta), path("${meta.id}_embedding_report", type: 'dir'),                 emit: results
    path "${meta.id}_embedding_report/*_mqc.*", optional: true,                         emit: mqc
    tuple val("${task.process}"), val('dnalm'), eval('dnalm --version'), emit: versions_dnalm, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''

    """
    # dnalm code ${task.ext.dnalm_code}
    dnalm embedding-report --embeddings ${sets} --out ${meta.id}_embedding_report ${args}
    """

    stub:
    """
    mkdir -p ${meta.id}_embedding_report
    touch ${meta.id}_embedding_report/embedding_summary.tsv ${meta.id}_embedding_report/embeddings_mqc.tsv
    """
}

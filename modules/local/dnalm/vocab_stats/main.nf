process DNALM_VOCAB_STATS {
    tag "${meta.id}"
    label 'process_single'
    container "${params.container_image}"

    input:
    tuple val(meta), path(tokenized, stageAs: 'tokenized/*')

    output:
    tuple val(meta), path("${meta.id}_vocab_stats", type: 'dir'),                 emit: stats
    path "${meta.id}_vocab_stats/*_mqc.*",                                        emit: mqc
    tuple val("${task.process}"), val('dnalm'), eval('dnalm --version'), emit: versions_dnalm, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    # dnalm code ${task.ext.dnalm_code}
    dnalm vocab-stats --tokenized ${tokenized} --out ${meta.id}_vocab_stats ${args}
    """

    stub:
    """
    mkdir -p ${meta.id}_vocab_stats
    touch ${meta.id}_vocab_stats/vocab_stats.tsv ${meta.id}_vocab_stats/vocab_stats.json ${meta.id}_vocab_stats/vocab_stats_mqc.tsv ${meta.id}_vocab_stats/vocab_token_lengths_mqc.yaml
    """
}

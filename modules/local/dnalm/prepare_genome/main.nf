process DNALM_PREPARE_GENOME {
    tag "${meta.id}"
    label 'process_medium'
    container "${params.container_image}"

    input:
    tuple val(meta), path(fasta)

    output:
    tuple val(meta), path("${meta.id}", type: 'dir'),                 emit: genome
    tuple val(meta), path("${meta.id}/holdout_default.bed"),          emit: holdout_default
    path "${meta.id}/*_mqc.*",                                        emit: mqc
    tuple val("${task.process}"), val('dnalm'), eval('dnalm --version'), emit: versions_dnalm, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    # dnalm code ${task.ext.dnalm_code}
    dnalm prepare-genome --fasta ${fasta} --genome-id ${meta.id} --out ${meta.id} ${args}
    """

    stub:
    """
    mkdir -p ${meta.id}
    echo | gzip > ${meta.id}/runs.fa.gz
    touch ${meta.id}/runs.bed ${meta.id}/gaps.bed ${meta.id}/holdout_default.bed ${meta.id}/genome_stats.json
    touch ${meta.id}/genome_stats.tsv ${meta.id}/genome_stats_mqc.tsv ${meta.id}/genome_dinucleotides_mqc.yaml
    """
}

process DNALM_NEXTKMER_DATA {
    tag "${meta.id}"
    label 'process_low'
    container "${params.container_image}"

    input:
    tuple val(meta), path(genome), path(holdout_regions)

    output:
    tuple val(meta), path("${meta.id}_nextkmer_data", type: 'dir'),             emit: data
    tuple val("${task.process}"), val('dnalm'), eval('dnalm --version'), emit: versions_dnalm, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def regions = holdout_regions ? "--holdout-regions ${holdout_regions}" : ''
    """
    # dnalm code ${task.ext.dnalm_code}
    dnalm nextkmer-data --genome ${genome} ${regions} --out ${meta.id}_nextkmer_data ${args}
    """

    stub:
    """
    mkdir -p ${meta.id}_nextkmer_data
    touch ${meta.id}_nextkmer_data/train.tsv ${meta.id}_nextkmer_data/test.tsv ${meta.id}_nextkmer_data/samples.bed ${meta.id}_nextkmer_data/nextkmer_data.json
    """
}

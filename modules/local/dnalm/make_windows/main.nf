process DNALM_MAKE_WINDOWS {
    tag "${meta.id}"
    label 'process_low'
    container "${params.container_image}"

    input:
    tuple val(meta), path(tokenized), path(holdout_regions)

    output:
    tuple val(meta), path("${meta.id}_windows", type: 'dir'),                 emit: windows
    path "${meta.id}_windows/*_mqc.*",                                        emit: mqc
    tuple val("${task.process}"), val('dnalm'), eval('dnalm --version'), emit: versions_dnalm, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def regions = holdout_regions ? "--holdout-regions ${holdout_regions}" : ''
    """
    # dnalm code ${task.ext.dnalm_code}
    dnalm make-windows --tokenized ${tokenized} ${regions} --out ${meta.id}_windows ${args}
    """

    stub:
    """
    mkdir -p ${meta.id}_windows
    touch ${meta.id}_windows/train.npy ${meta.id}_windows/test.npy ${meta.id}_windows/windows.bed ${meta.id}_windows/windows.json ${meta.id}_windows/windows_lengths_mqc.yaml
    """
}

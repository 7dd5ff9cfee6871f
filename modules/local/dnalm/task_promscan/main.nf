process DNALM_TASK_PROMSCAN {
    tag "${meta.id}"
    label 'process_low'
    container "${params.container_image}"

    input:
    tuple val(meta), path(genome), path(tss)

    output:
    tuple val(meta), path("${meta.id}_task", type: 'dir'),                      emit: task
    tuple val("${task.process}"), val('dnalm'), eval('dnalm --version'), emit: versions_dnalm, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    # dnalm code ${task.ext.dnalm_code}
    dnalm task-promscan --genome ${genome} --tss ${tss} --out ${meta.id}_task ${args}
    """

    stub:
    """
    mkdir -p ${meta.id}_task
    touch ${meta.id}_task/train.csv ${meta.id}_task/dev.csv ${meta.id}_task/test.csv ${meta.id}_task/task.json
    """
}

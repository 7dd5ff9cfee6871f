process DNALM_CNN_BASELINE {
    tag "${meta.task}"
    label 'process_medium'
    container "${params.container_image}"

    input:
    tuple val(meta), path(data)

    output:
    tuple val(meta), path("cnn_${meta.task}", type: 'dir'),                    emit: results
    tuple val("${task.process}"), val('dnalm'), eval('dnalm --version'), emit: versions_dnalm, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    # dnalm code ${task.ext.dnalm_code}
    dnalm cnn-baseline --data ${data} --out cnn_${meta.task} ${args}
    """

    stub:
    """
    mkdir -p cnn_${meta.task}
    touch cnn_${meta.task}/metrics.json
    """
}

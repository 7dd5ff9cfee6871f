process DNALM_MASK_PREDICTIONS {
    tag "${meta.id}"
    label 'process_gpu'
    container "${(params.gpus_per_node as Integer) > 0 ? params.container_image_gpu : params.container_image}"

    input:
    tuple val(meta), path(model), path(tokenized), path(windows)

    output:
    tuple val(meta), path("${meta.id}_mask_predictions", type: 'dir'),                 emit: results
    path "${meta.id}_mask_predictions/*_mqc.*", optional: true,                         emit: mqc
    tuple val("${task.process}"), val('dnalm'), eval('dnalm --version'), emit: versions_dnalm, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''

    """
    # dnalm code ${task.ext.dnalm_code}
    dnalm mask-predictions --model ${model} --tokenized ${tokenized} --windows ${windows} --out ${meta.id}_mask_predictions ${args}
    """

    stub:
    """
    mkdir -p ${meta.id}_mask_predictions
    touch ${meta.id}_mask_predictions/mask_predictions.json ${meta.id}_mask_predictions/mask_accuracy_mqc.yaml
    """
}

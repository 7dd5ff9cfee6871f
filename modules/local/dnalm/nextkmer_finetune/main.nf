process DNALM_NEXTKMER_FINETUNE {
    tag "${meta.id} k=${k}"
    label 'process_gpu'
    container "${(params.gpus_per_node as Integer) > 0 ? params.container_image_gpu : params.container_image}"

    input:
    tuple val(meta), path(model), path(data), val(k)

    output:
    tuple val(meta), path("${meta.id}_next${k}mer", type: 'dir'),               emit: results
    tuple val("${task.process}"), val('dnalm'), eval('dnalm --version'), emit: versions_dnalm, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    // a model directory is staged; a HuggingFace hub id (meta.hub_id) is downloaded by the task
    def local_model = model ? "--model ${model}" : ''
    def hub_model = meta.hub_id ? "--model ${meta.hub_id}" : ''
    def trust = meta.trust_remote_code ? "--trust-remote-code" : ''
    """
    # dnalm code ${task.ext.dnalm_code}
    dnalm nextkmer-finetune ${local_model} ${hub_model} ${trust} --data ${data} --k ${k} --model-id ${meta.id} --out ${meta.id}_next${k}mer ${args}
    """

    stub:
    """
    mkdir -p ${meta.id}_next${k}mer
    touch ${meta.id}_next${k}mer/metrics.json ${meta.id}_next${k}mer/predictions.tsv ${meta.id}_next${k}mer/loss_curve.tsv
    """
}

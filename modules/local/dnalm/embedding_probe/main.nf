process DNALM_EMBEDDING_PROBE {
    tag "${meta.id} ${meta.task}"
    label 'process_gpu'
    container "${(params.gpus_per_node as Integer) > 0 ? params.container_image_gpu : params.container_image}"

    input:
    tuple val(meta), path(model), path(data)

    output:
    tuple val(meta), path("probe_${meta.task}_${meta.id}", type: 'dir'),      emit: results
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
    dnalm embedding-probe ${local_model} ${hub_model} ${trust} --data ${data} --model-id ${meta.id} --out probe_${meta.task}_${meta.id} ${args}
    """

    stub:
    """
    mkdir -p probe_${meta.task}_${meta.id}
    touch probe_${meta.task}_${meta.id}/metrics.json
    """
}

process DNALM_PRETRAIN {
    tag "${meta.id}"
    label 'process_gpu'
    container "${(params.gpus_per_node as Integer) > 0 ? params.container_image_gpu : params.container_image}"

    input:
    tuple val(meta), path(tokenized), path(windows), path(deepspeed_config)

    output:
    tuple val(meta), path("${meta.id}_pretrained/model", type: 'dir'),   emit: model
    tuple val(meta), path("${meta.id}_pretrained", type: 'dir'),         emit: results
    path "${meta.id}_pretrained/*_mqc.*",                                emit: mqc
    tuple val("${task.process}"), val('dnalm'), eval('dnalm --version'), emit: versions_dnalm, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def launch_args = task.ext.launch_args ?: ''
    // a staged DeepSpeed config file, else --pretrain_deepspeed names one of dnalm's choices ('', auto, zero2)
    def deepspeed = deepspeed_config ? "--deepspeed ${deepspeed_config}" : "--deepspeed '${params.pretrain_deepspeed}'"
    // dnalm launch starts one rank per GPU of this node (torchrun), or the command itself for one process
    """
    # dnalm code ${task.ext.dnalm_code}
    dnalm launch ${launch_args} -- dnalm pretrain --tokenized ${tokenized} --windows ${windows} --model-id ${meta.id} --out ${meta.id}_pretrained ${deepspeed} ${args}
    """

    stub:
    """
    mkdir -p ${meta.id}_pretrained/model
    touch ${meta.id}_pretrained/model/config.json ${meta.id}_pretrained/model/model.safetensors ${meta.id}_pretrained/model/tokenizer.json
    touch ${meta.id}_pretrained/metrics.json ${meta.id}_pretrained/metrics.tsv ${meta.id}_pretrained/loss_curve.tsv ${meta.id}_pretrained/loss_curve.png ${meta.id}_pretrained/per_token.tsv
    touch ${meta.id}_pretrained/pretraining_mqc.tsv ${meta.id}_pretrained/pretraining_loss_mqc.yaml
    """
}

process DNALM_PRETRAIN_MULTINODE {
    tag "${meta.id}"
    label 'process_multinode'
    // No container directive: this task holds a SLURM allocation of several nodes and runs on the first
    // one with the host's Python; `dnalm launch` (standard library only) starts one container per node
    // with srun, inside which torchrun starts one rank per GPU (see docs/usage.md, "Several nodes").

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
    // No container of its own (conf/base.config's containerOptions): `dnalm launch` passes DNALM_CACHE_DIR on to
    // the containers it starts on each node, which see the work directory, not where a staged file's link points
    def copy_deepspeed = deepspeed_config ? "cp --remove-destination \"\$(readlink -f ${deepspeed_config})\" ${deepspeed_config}" : ''
    """
    # dnalm code ${task.ext.dnalm_code}
    export DNALM_CACHE_DIR='${params.checkpoint_root}/.cache'
    ${copy_deepspeed}
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

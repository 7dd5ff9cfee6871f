process DNALM_ATTENTION_MOTIFS {
    tag "${meta.id} ${meta.task}"
    label 'process_gpu'
    container "${(params.gpus_per_node as Integer) > 0 ? params.container_image_gpu : params.container_image}"

    input:
    tuple val(meta), path(classifier), path(data), path(jaspar)

    output:
    tuple val(meta), path("${meta.task}_${meta.id}_motifs", type: 'dir'),              emit: results
    path "${meta.task}_${meta.id}_motifs/*_mqc.*", optional: true,                     emit: mqc
    tuple val("${task.process}"), val('dnalm'), eval('dnalm --version'), emit: versions_dnalm, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    # dnalm code ${task.ext.dnalm_code}
    dnalm attention-motifs --classifier ${classifier} --data ${data} --jaspar ${jaspar} --model-id ${meta.task}_${meta.id} --out ${meta.task}_${meta.id}_motifs ${args}
    """

    stub:
    """
    mkdir -p ${meta.task}_${meta.id}_motifs
    touch ${meta.task}_${meta.id}_motifs/motifs.tsv ${meta.task}_${meta.id}_motifs/kmers.tsv ${meta.task}_${meta.id}_motifs/summary.json
    """
}

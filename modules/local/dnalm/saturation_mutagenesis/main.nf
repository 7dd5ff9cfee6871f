process DNALM_SATURATION_MUTAGENESIS {
    tag "${meta.id}"
    label 'process_gpu'
    container "${(params.gpus_per_node as Integer) > 0 ? params.container_image_gpu : params.container_image}"

    input:
    tuple val(meta), path(model), path(genome), path(regions), path(classifier)

    output:
    tuple val(meta), path("${meta.id}_mutagenesis", type: 'dir'),                      emit: results
    tuple val("${task.process}"), val('dnalm'), eval('dnalm --version'), emit: versions_dnalm, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    // no classifier: [] stages nothing and reads as an empty, false list (engine fact 22)
    def scorer = classifier ? "--classifier ${classifier}" : ''

    """
    # dnalm code ${task.ext.dnalm_code}
    dnalm saturation-mutagenesis --model ${model} --genome ${genome} --regions ${regions} --model-id ${meta.id} ${scorer} --out ${meta.id}_mutagenesis ${args}
    """

    stub:
    """
    mkdir -p ${meta.id}_mutagenesis
    touch ${meta.id}_mutagenesis/mutagenesis.tsv ${meta.id}_mutagenesis/positions.tsv ${meta.id}_mutagenesis/summary.json
    """
}

process DNALM_VARIANT_EFFECTS {
    tag "${meta.id}"
    label 'process_gpu'
    container "${(params.gpus_per_node as Integer) > 0 ? params.container_image_gpu : params.container_image}"

    input:
    tuple val(meta), path(model), path(genome), path(variants), path(classifier)

    output:
    tuple val(meta), path("${meta.id}_variant_effects", type: 'dir'),                  emit: results
    path "${meta.id}_variant_effects/*_mqc.*", optional: true,                          emit: mqc
    tuple val("${task.process}"), val('dnalm'), eval('dnalm --version'), emit: versions_dnalm, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    // no classifier: [] stages nothing and reads as an empty, false list (engine fact 22)
    def scorer = classifier ? "--classifier ${classifier}" : ''

    """
    # dnalm code ${task.ext.dnalm_code}
    dnalm variant-effects --model ${model} --genome ${genome} --variants ${variants} --model-id ${meta.id} ${scorer} --out ${meta.id}_variant_effects ${args}
    """

    stub:
    """
    mkdir -p ${meta.id}_variant_effects
    touch ${meta.id}_variant_effects/variant_effects.tsv ${meta.id}_variant_effects/variant_effects.vcf.gz ${meta.id}_variant_effects/variant_effects.vcf.gz.tbi ${meta.id}_variant_effects/summary.json
    """
}

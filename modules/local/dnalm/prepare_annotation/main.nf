process DNALM_PREPARE_ANNOTATION {
    tag "${meta.id}"
    label 'process_single'
    container "${params.container_image}"

    input:
    tuple val(meta), path(track), path(genome), path(contig_map)

    output:
    // dnalm names the track file (<name>.bed, JASPAR motifs <name>.jaspar): the workflow takes the file it wrote
    tuple val(meta), path("${meta.id}_annotation/*.{bed,jaspar}", arity: '1'), emit: track
    tuple val(meta), path("${meta.id}_annotation/annotation.json"),          emit: summary
    tuple val("${task.process}"), val('dnalm'), eval('dnalm --version'), emit: versions_dnalm, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def mapping = contig_map ? "--contig-map ${contig_map}" : ''
    """
    # dnalm code ${task.ext.dnalm_code}
    dnalm prepare-annotation --track ${track} --name ${meta.id} --format ${meta.format} --role ${meta.role} --genome ${genome} ${mapping} --out ${meta.id}_annotation ${args}
    """

    stub:
    // JASPAR motifs stay JASPAR, every other format becomes BED, as in dnalm.genome.annotations.prepare_annotation
    def suffix = meta.format == 'jaspar' ? 'jaspar' : 'bed'
    """
    mkdir -p ${meta.id}_annotation
    touch ${meta.id}_annotation/${meta.id}.${suffix} ${meta.id}_annotation/annotation.json
    """
}

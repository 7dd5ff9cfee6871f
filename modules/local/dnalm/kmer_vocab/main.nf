process DNALM_KMER_VOCAB {
    tag "${meta.id}"
    label 'process_single'
    container "${params.container_image}"

    input:
    val(meta)

    output:
    tuple val(meta), path("${meta.id}", type: 'dir'),                 emit: vocab
    tuple val("${task.process}"), val('dnalm'), eval('dnalm --version | sed "s/^dnalm //"'), emit: versions_dnalm, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def stride = meta.stride ? "--stride ${meta.stride}" : ''
    """
    dnalm kmer-vocab --kind ${meta.kind} --k ${meta.k} ${stride} --out ${meta.id} ${args}
    """

    stub:
    """
    mkdir -p ${meta.id}
    touch ${meta.id}/tokenizer.json ${meta.id}/dnalm_vocab.json
    """
}

process DNALM_KMER_VOCAB {
    tag "${meta.kind}:${meta.k}${meta.stride ? ":${meta.stride}" : ''}"
    label 'process_single'
    container "${params.container_image}"

    input:
    val(meta)

    output:
    // dnalm kmer-vocab names its directory (kmer4, kmer6_overlap, kmer6_stride3); the workflow takes meta.id from it
    tuple val(meta), path("*", type: 'dir', arity: '1'),               emit: vocab
    tuple val("${task.process}"), val('dnalm'), eval('dnalm --version'), emit: versions_dnalm, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def stride = meta.stride ? "--stride ${meta.stride}" : ''
    """
    # dnalm code ${task.ext.dnalm_code}
    dnalm kmer-vocab --kind ${meta.kind} --k ${meta.k} ${stride} ${args}
    """

    stub:
    // a stand-in name: the real one is dnalm's (kmer4, kmer6_overlap ...), and a -stub run has no dnalm to ask
    def name = "stub_${meta.kind}${meta.k}${meta.stride ? "_${meta.stride}" : ''}"
    """
    mkdir -p ${name}
    touch ${name}/dnalm_vocab.json
    """
}

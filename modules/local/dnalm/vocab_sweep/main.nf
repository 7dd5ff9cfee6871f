process DNALM_VOCAB_SWEEP {
    tag "${meta.id}"
    label 'process_medium'
    label 'process_high_memory'
    container "${params.container_image}"

    input:
    tuple val(meta), path(genome)

    output:
    tuple val(meta), path("${meta.id}_vocabularies/bpe_*", type: 'dir', arity: '1..*'), emit: vocabs
    tuple val(meta), path("${meta.id}_vocabularies/*.{tsv,json}", arity: '1..*'),       emit: summary
    tuple val("${task.process}"), val('dnalm'), eval('dnalm --version'), emit: versions_dnalm, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    # dnalm code ${task.ext.dnalm_code}
    dnalm vocab-sweep --genome ${genome} --out ${meta.id}_vocabularies ${args}
    """

    stub:
    """
    mkdir -p ${meta.id}_vocabularies/bpe_100
    touch ${meta.id}_vocabularies/merges.tsv ${meta.id}_vocabularies/vocab_sweep.json ${meta.id}_vocabularies/bpe_100/tokenizer.json ${meta.id}_vocabularies/bpe_100/dnalm_vocab.json
    """
}

process DNALM_TOKENIZE_GENOME {
    tag "${meta.id}"
    label 'process_medium'
    container "${params.container_image}"

    input:
    tuple val(meta), path(vocab), path(genome)

    output:
    tuple val(meta), path("${meta.id}_tokenized", type: 'dir'),       emit: tokenized
    tuple val("${task.process}"), val('dnalm'), eval('dnalm --version'), emit: versions_dnalm, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    # dnalm code ${task.ext.dnalm_code}
    dnalm tokenize-genome --genome ${genome} --vocab ${vocab} --out ${meta.id}_tokenized ${args}
    """

    stub:
    """
    mkdir -p ${meta.id}_tokenized/vocab
    touch ${meta.id}_tokenized/tokens.npy ${meta.id}_tokenized/runs.tsv ${meta.id}_tokenized/token_counts.npy ${meta.id}_tokenized/tokenized.json
    """
}

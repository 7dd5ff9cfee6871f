process DNALM_WORD2VEC {
    tag "${meta.id}"
    label 'process_low'
    container "${params.container_image}"

    input:
    tuple val(meta), path(tokenized), path(windows), path(repeats)

    output:
    tuple val(meta), path("word2vec_${meta.id}", type: 'dir'),                 emit: results
    path "word2vec_${meta.id}/*_mqc.*", optional: true,                         emit: mqc
    tuple val("${task.process}"), val('dnalm'), eval('dnalm --version'), emit: versions_dnalm, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def repeats_arg = repeats ? "--repeats ${repeats}" : ''
    """
    # dnalm code ${task.ext.dnalm_code}
    dnalm word2vec --tokenized ${tokenized} --windows ${windows} ${repeats_arg} --name word2vec_${meta.id} --out word2vec_${meta.id} ${args}
    """

    stub:
    """
    mkdir -p word2vec_${meta.id}
    touch word2vec_${meta.id}/embeddings.npy word2vec_${meta.id}/tokens.tsv word2vec_${meta.id}/embeddings.json
    """
}

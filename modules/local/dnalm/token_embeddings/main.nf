process DNALM_TOKEN_EMBEDDINGS {
    tag "${meta.id}"
    label 'process_single'
    container "${params.container_image}"

    input:
    tuple val(meta), path(model), path(tokenized), path(repeats)

    output:
    tuple val(meta), path("${meta.id}_token_embeddings", type: 'dir'),                 emit: results
    path "${meta.id}_token_embeddings/*_mqc.*", optional: true,                         emit: mqc
    tuple val("${task.process}"), val('dnalm'), eval('dnalm --version'), emit: versions_dnalm, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def repeats_arg = repeats ? "--repeats ${repeats}" : ''
    """
    # dnalm code ${task.ext.dnalm_code}
    dnalm token-embeddings --model ${model} --tokenized ${tokenized} ${repeats_arg} --name ${meta.id} --out ${meta.id}_token_embeddings ${args}
    """

    stub:
    """
    mkdir -p ${meta.id}_token_embeddings
    touch ${meta.id}_token_embeddings/embeddings.npy ${meta.id}_token_embeddings/tokens.tsv ${meta.id}_token_embeddings/embeddings.json
    """
}

process DNALM_WINDOW_EMBEDDINGS {
    tag "${meta.id}"
    label 'process_gpu'
    container "${(params.gpus_per_node as Integer) > 0 ? params.container_image_gpu : params.container_image}"

    input:
    tuple val(meta), path(model), path(tokenized), path(tracks, stageAs: 'tracks/*')

    output:
    tuple val(meta), path("${meta.id}_window_embeddings", type: 'dir'),                 emit: results
    path "${meta.id}_window_embeddings/*_mqc.*", optional: true,                         emit: mqc
    tuple val("${task.process}"), val('dnalm'), eval('dnalm --version'), emit: versions_dnalm, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def tracks_arg = tracks ? "--tracks ${tracks}" : ''
    """
    # dnalm code ${task.ext.dnalm_code}
    dnalm window-embeddings --model ${model} --tokenized ${tokenized} ${tracks_arg} --out ${meta.id}_window_embeddings ${args}
    """

    stub:
    """
    mkdir -p ${meta.id}_window_embeddings
    touch ${meta.id}_window_embeddings/windows.tsv ${meta.id}_window_embeddings/window_embeddings.npy ${meta.id}_window_embeddings/window_umap.png
    """
}

process DNALM_SELECT_VOCABULARY {
    tag "${meta.id}"
    label 'process_single'
    container "${params.container_image}"

    input:
    tuple val(meta), path(results, stageAs: 'results/*')

    output:
    tuple val(meta), path("${meta.id}_vocabulary_selection", type: 'dir'),                   emit: selection
    tuple val(meta), path("${meta.id}_vocabulary_selection/selected_model.txt"),             emit: selected
    path "${meta.id}_vocabulary_selection/*_mqc.*",                                          emit: mqc
    tuple val("${task.process}"), val('dnalm'), eval('dnalm --version'), emit: versions_dnalm, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    # dnalm code ${task.ext.dnalm_code}
    dnalm select-vocabulary --results ${results} --candidates ${meta.candidates} --out ${meta.id}_vocabulary_selection ${args}
    """

    stub:
    """
    mkdir -p ${meta.id}_vocabulary_selection
    echo ${meta.candidates.tokenize(',')[0]} > ${meta.id}_vocabulary_selection/selected_model.txt
    touch ${meta.id}_vocabulary_selection/selected.json ${meta.id}_vocabulary_selection/nextkmer_results.tsv ${meta.id}_vocabulary_selection/ranking.tsv ${meta.id}_vocabulary_selection/nextkmer_accuracy.png
    touch ${meta.id}_vocabulary_selection/nextkmer_mqc.tsv ${meta.id}_vocabulary_selection/vocabulary_selection_mqc.tsv ${meta.id}_vocabulary_selection/nextkmer_cycles_mqc.yaml
    """
}

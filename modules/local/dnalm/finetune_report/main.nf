process DNALM_FINETUNE_REPORT {
    tag "${meta.id}"
    label 'process_single'
    container "${params.container_image}"

    input:
    tuple val(meta), path(results, stageAs: 'results/*')

    output:
    tuple val(meta), path("${meta.id}_finetune_report", type: 'dir'),           emit: report
    path "${meta.id}_finetune_report/*_mqc.*",                                  emit: mqc
    tuple val("${task.process}"), val('dnalm'), eval('dnalm --version'), emit: versions_dnalm, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    # dnalm code ${task.ext.dnalm_code}
    dnalm finetune-report --results ${results} --out ${meta.id}_finetune_report ${args}
    """

    stub:
    """
    mkdir -p ${meta.id}_finetune_report
    touch ${meta.id}_finetune_report/finetune_results.tsv ${meta.id}_finetune_report/finetune_summary.tsv ${meta.id}_finetune_report/finetune_mqc.tsv
    """
}

process DNALM_REPORT {
    tag 'report'
    label 'process_single'
    container "${params.container_image}"

    input:
    path(results, stageAs: 'results/*')
    path(versions)
    path(workflow_summary)

    output:
    path "dnalm_report",                                                        emit: report
    // No output on the versions topic: this process consumes that topic, and a consumer that also emits to
    // it keeps the topic open, so the run would never end (docs: "Topic channels")

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def versions_arg = versions ? "--versions ${versions}" : ''
    def summary_arg = workflow_summary ? "--workflow-summary ${workflow_summary}" : ''
    """
    # dnalm code ${task.ext.dnalm_code}
    dnalm report --results results ${versions_arg} ${summary_arg} --out dnalm_report ${args}
    """

    stub:
    """
    mkdir -p dnalm_report/dnalm_report_data
    touch dnalm_report/dnalm_report.html dnalm_report/dnalm_report_data/multiqc_data.json
    """
}

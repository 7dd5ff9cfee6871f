process DNALM_REPORT {
    tag 'report'
    label 'process_single'
    container 'dnalm/dnalm:0.1.0'

    input:
    path(results, stageAs: 'results/*')
    path(versions)
    path(workflow_summary)

    output:
    path "dnalm_report",                                                        emit: report
    tuple val("${task.process}"), val('dnalm'), eval('dnalm --version | sed "s/^dnalm //"'), emit: versions_dnalm, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def versions_arg = versions ? "--versions ${versions}" : ''
    def summary_arg = workflow_summary ? "--workflow-summary ${workflow_summary}" : ''
    """
    dnalm report --results results ${versions_arg} ${summary_arg} --out dnalm_report ${args}
    """

    stub:
    """
    mkdir -p dnalm_report/dnalm_report_data
    touch dnalm_report/dnalm_report.html dnalm_report/dnalm_report_data/multiqc_data.json
    """
}

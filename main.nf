#!/usr/bin/env nextflow
/*
 * dnalm: build and evaluate DNA language models on any genome.
 *   nextflow run main.nf -profile test,docker --outdir results
 *   nextflow run main.nf -profile hpc,apptainer --genome hg38 --outdir results
 */

include { DNALM                                  } from './workflows/dnalm'
include { DNALM_REPORT                           } from './modules/local/dnalm/report'
include { validateParameters; paramsSummaryLog   } from 'plugin/nf-schema'

// The named genome's entry in conf/genomes.config
def namedGenome(name, genomes) {
    if (!genomes.containsKey(name)) {
        error("--genome '${name}' is not in conf/genomes.config; known genomes: ${genomes.keySet().sort().join(', ')}")
    }
    return genomes[name]
}

// One row of the --annotations sheet (name,path,format,role) -> [ meta, track ]; relative paths are
// resolved against the sheet's folder
def annotationRow(row, sheet) {
    if (!row.name || !row.path || !row.format || !row.role) {
        error("--annotations ${sheet}: every row needs name, path, format and role; got ${row}")
    }
    if (!(row.format in ['bed', 'sga', 'jaspar'])) {
        error("--annotations ${sheet}: track '${row.name}' has format '${row.format}'; use bed, sga or jaspar")
    }
    def path = row.path.contains('://') || row.path.startsWith('/') ? row.path : "${sheet.parent}/${row.path}"
    return [[id: row.name, format: row.format, role: row.role], file(path, checkIfExists: true)]
}

// MultiQC custom content (JSON is YAML) with the run's command line, profile, revision and start time
def workflowSummary(wf) {
    def rows = [
        'Command line': wf.commandLine, 'Profile': wf.profile, 'Revision': wf.revision ?: wf.commitId ?: 'local',
        'Container engine': wf.containerEngine ?: 'none', 'Launch directory': wf.launchDir.toString(),
        'Work directory': wf.workDir.toString(), 'Started': wf.start.toString(), 'Nextflow': wf.nextflow.version.toString()
    ]
    def html = '<dl class="dl-horizontal">' + rows.collect { k, v -> "<dt>${k}</dt><dd><samp>${v}</samp></dd>" }.join('') + '</dl>'
    return groovy.json.JsonOutput.toJson([id: 'dnalm_workflow_summary', section_name: 'Workflow summary',
                                          description: 'How this run was started (filled by Nextflow).',
                                          plot_type: 'html', data: html])
}

workflow {
    main:
    validateParameters()
    log.info(paramsSummaryLog(workflow))
    // Container profiles bind-mount the checkpoint root, so it must exist before the first task starts
    file(params.checkpoint_root).mkdirs()

    // --fasta replaces the genome, and with it the named genome's annotations and holdout contigs, which
    // belong to its assembly (to use a local copy of a named genome, set params.genomes.NAME.fasta).
    if (!params.genome && !params.fasta) {
        error("Give --genome NAME (one of: ${params.genomes.keySet().sort().join(', ')}) or --fasta PATH_OR_URL")
    }
    if (params.genome && params.fasta) {
        log.warn("--fasta given: the FASTA, annotations and holdout contigs of --genome ${params.genome} are not used")
    }
    def named = params.fasta ? [:] : namedGenome(params.genome, params.genomes)
    def fasta = file(params.fasta ?: named.fasta, checkIfExists: true)
    def meta = [
        id: params.fasta ? fasta.name.replaceAll(/\.(fa|fasta|fna)(\.gz)?$/, '') : params.genome,
        contigs: params.contigs,
        exclude_contigs: params.exclude_contigs ?: (named.exclude_contigs ?: ''),
        holdout_contigs: params.holdout_contigs ?: (params.holdout_regions ? '' : (named.holdout_contigs ?: ''))
    ]
    ch_fasta = channel.of([meta, fasta])
    def holdout_regions = params.holdout_regions ? file(params.holdout_regions, checkIfExists: true) : null

    // Annotation tracks: the user's sheet, else the named genome's tracks
    def sheet = params.annotations ? file(params.annotations, checkIfExists: true) : null
    ch_tracks = sheet
        ? channel.fromPath(sheet).splitCsv(header: true, strip: true).map { row -> annotationRow(row, sheet) }
        : channel.fromList(
            ['repeats', 'genes', 'tss', 'cpg', 'ctcf_peaks', 'chromhmm', 'motif']
                .findAll { role -> named[role] }
                .collect { role -> [[id: role, format: role == 'motif' ? 'jaspar' : 'bed', role: role], file(named[role], checkIfExists: true)] }
        )
    def contig_map = params.contig_map ? file(params.contig_map, checkIfExists: true) : null

    DNALM(ch_fasta, holdout_regions, params.kmer_vocabs, ch_tracks, contig_map, params.pretrain_nodes)

    ch_versions = channel.topic('versions')
        .map { process, tool, version -> "${process.tokenize(':').last()}\t${tool}\t${version}" }
        .unique()
        .collectFile(name: 'software_versions.tsv', storeDir: "${params.outdir}/pipeline_info", sort: true, newLine: true)

    // The report: every step's results, the versions and what only Nextflow knows about the run
    ch_summary = channel.value(workflowSummary(workflow))
        .collectFile(name: 'workflow_summary_mqc.yaml')
    DNALM_REPORT(DNALM.out.reported.collect(), ch_versions, ch_summary)

    onComplete:
    log.info(workflow.success
        ? "dnalm finished: results in ${params.outdir}"
        : "dnalm failed: fix the error above and rerun with -resume to continue where it stopped")
}

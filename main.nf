#!/usr/bin/env nextflow
/*
 * dnalm: build and evaluate DNA language models on any genome.
 *   nextflow run main.nf -profile test,docker --outdir results
 *   nextflow run main.nf -profile hpc,apptainer --genome hg38 --outdir results
 */

include { DNALM                                                  } from './workflows/dnalm'
include { DNALM_REPORT                                           } from './modules/local/dnalm/report'
include { validateParameters; paramsSummaryLog; samplesheetToList } from 'plugin/nf-schema'
include { namedGenome; namedTracks; genomeId; safeId; annotationTrack; workflowSummary; logCompletion } from './subworkflows/local/utils_dnalm_pipeline'

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
        id: params.fasta ? genomeId(fasta.name) : safeId(params.genome, '--genome'),
        contigs: params.contigs,
        exclude_contigs: params.exclude_contigs ?: (named.exclude_contigs ?: ''),
        holdout_contigs: params.holdout_contigs ?: (params.holdout_regions ? '' : (named.holdout_contigs ?: ''))
    ]
    ch_fasta = channel.of([meta, fasta])
    def holdout_regions = params.holdout_regions ? file(params.holdout_regions, checkIfExists: true) : null

    // Annotation tracks: the user's sheet (every field checked by nf-schema against
    // assets/schema_annotations.json), else the named genome's tracks
    def sheet = params.annotations ? file(params.annotations, checkIfExists: true) : null
    ch_tracks = sheet
        ? channel.fromList(samplesheetToList(sheet, "${projectDir}/assets/schema_annotations.json"))
            .map { track_meta, path -> annotationTrack(track_meta, path, sheet) }
        : channel.fromList(namedTracks(named))
    def contig_map = params.contig_map ? file(params.contig_map, checkIfExists: true) : null
    def variants = params.variants ? file(params.variants, checkIfExists: true) : null
    def mutagenesis_regions = params.mutagenesis_regions ? file(params.mutagenesis_regions, checkIfExists: true) : null
    // the JASPAR matrices attention motifs are matched to: the user's, else the bundled JASPAR 2022 collection
    def motif_database = params.skip_attention_motifs.toString() == 'true' ? null
        : params.motif_database ? file(params.motif_database, checkIfExists: true)
        : file("${projectDir}/assets/motifs/JASPAR2022_hg19genome.jaspar.gz", checkIfExists: true)

    DNALM(ch_fasta, holdout_regions, params.kmer_vocabs, ch_tracks, contig_map, (params.pretrain_nodes as Integer),
          variants, mutagenesis_regions, motif_database)

    // DNALM_REPORT consumes the versions topic, so it must not emit to it (the run would never end). A tool's
    // version line may start with its name (`dnalm --version`: 'dnalm 0.1.0'), which the table does not repeat
    ch_versions = channel.topic('versions')
        .map { process, tool, version -> "${process.tokenize(':').last()}\t${tool}\t${version.toString().replaceFirst("^${tool} ", '')}" }
        .unique()
        .collectFile(name: 'software_versions.tsv', storeDir: "${params.outdir}/pipeline_info", sort: true, newLine: true)

    // The report: every step's results, the versions and what only Nextflow knows about the run
    ch_summary = channel.value(workflowSummary(workflow))
        .collectFile(name: 'workflow_summary_mqc.yaml')
    DNALM_REPORT(DNALM.out.reported.collect(sort: true), ch_versions, ch_summary)

    // A handler rather than an `onComplete:` section, which only the strict syntax parser reads; it calls a
    // function, since names in the handler resolve against a binding without `workflow` (engine fact 29)
    workflow.onComplete {
        logCompletion()
    }
}

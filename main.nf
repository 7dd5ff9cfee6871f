#!/usr/bin/env nextflow
/*
 * dnalm: build and evaluate DNA language models on any genome.
 *   nextflow run main.nf -profile test,docker --outdir results
 *   nextflow run main.nf -profile hpc,apptainer --genome hg38 --outdir results
 */

include { DNALM                                  } from './workflows/dnalm'
include { validateParameters; paramsSummaryLog   } from 'plugin/nf-schema'

// The genome to work on: --fasta (any assembly) or --genome NAME from conf/genomes.config.
// Explicit params win over the named genome's defaults.
def resolveGenome(name, fasta, genomes) {
    if (!name && !fasta) {
        error("Give --genome NAME (one of: ${genomes.keySet().sort().join(', ')}) or --fasta PATH_OR_URL")
    }
    if (name && !genomes.containsKey(name)) {
        error("--genome '${name}' is not in conf/genomes.config; known genomes: ${genomes.keySet().sort().join(', ')}")
    }
    def named = name ? genomes[name] : [:]
    def path = fasta ?: named.fasta
    def id = name ?: file(path).name.replaceAll(/\.(fa|fasta|fna)(\.gz)?$/, '')
    return [
        id: id,
        fasta: path,
        contigs: params.contigs ?: '',
        exclude_contigs: params.exclude_contigs ?: (named.exclude_contigs ?: ''),
        holdout_contigs: params.holdout_contigs ?: (params.holdout_regions ? '' : (named.holdout_contigs ?: ''))
    ]
}

workflow {
    main:
    validateParameters()
    log.info(paramsSummaryLog(workflow))

    def genome = resolveGenome(params.genome, params.fasta, params.genomes)
    def meta = genome.subMap(['id', 'contigs', 'exclude_contigs', 'holdout_contigs'])
    ch_fasta = channel.of([meta, file(genome.fasta, checkIfExists: true)])
    def holdout_regions = params.holdout_regions ? file(params.holdout_regions, checkIfExists: true) : null

    DNALM(ch_fasta, holdout_regions, params.kmer_vocabs)

    channel.topic('versions')
        .map { process, tool, version -> "${process.tokenize(':').last()}\t${tool}\t${version}" }
        .unique()
        .collectFile(name: 'software_versions.tsv', storeDir: "${params.outdir}/pipeline_info", sort: true, newLine: true)

    onComplete:
    log.info(workflow.success
        ? "dnalm finished: results in ${params.outdir}"
        : "dnalm failed: fix the error above and rerun with -resume to continue where it stopped")
}

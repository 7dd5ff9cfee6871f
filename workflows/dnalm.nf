/*
 * DNALM: the study, step by step. Each step is one subworkflow; adding a step is one module plus one
 * line of wiring here.
 */

include { PREPARE_GENOME } from '../subworkflows/local/prepare_genome'
include { VOCABULARIES   } from '../subworkflows/local/vocabularies'
include { ANNOTATIONS    } from '../subworkflows/local/annotations'
include { PRETRAIN       } from '../subworkflows/local/pretrain'
include { NEXTKMER       } from '../subworkflows/local/nextkmer'
include { FINETUNE       } from '../subworkflows/local/finetune'
include { EMBEDDINGS     } from '../subworkflows/local/embeddings'
include { VARIANT_EFFECTS } from '../subworkflows/local/variant_effects'

workflow DNALM {
    take:
    ch_fasta            // channel: [ meta, fasta ]; meta: id, contigs, exclude_contigs, holdout_contigs
    holdout_regions     // path of a BED of held-out regions, or null
    kmer_vocabs         // string: 'kind:k[:stride],...'
    ch_tracks           // channel: [ meta (id, format, role), track ]
    contig_map          // path of a contig name map for the tracks, or null
    pretrain_nodes      // integer: nodes per pretraining task
    variants            // path of a VCF to score, or null
    mutagenesis_regions // path of a BED of regions whose every SNV is scored, or null
    motif_database      // path of JASPAR matrices for attention motifs, or null for none

    main:
    PREPARE_GENOME(ch_fasta)
    ANNOTATIONS(ch_tracks, PREPARE_GENOME.out.genome, contig_map)

    // The holdout set: the user's BED, else whole contigs (meta.holdout_contigs), else the default region
    ch_holdout = holdout_regions
        ? channel.value(holdout_regions)
        : PREPARE_GENOME.out.holdout_default.map { meta, bed -> meta.holdout_contigs ? [] : bed }

    VOCABULARIES(PREPARE_GENOME.out.genome, ch_holdout, kmer_vocabs, params.tfidf_vocabs.toString())
    PRETRAIN(VOCABULARIES.out.tokenized, VOCABULARIES.out.windows, pretrain_nodes)
    // CLI values are strings under the strict syntax parser and typed under the legacy one: convert here
    def trust_remote_code = params.trust_remote_code.toString() == 'true'
    def skip_cnn_baseline = params.skip_cnn_baseline.toString() == 'true'
    def skip_embedding_probe = params.skip_embedding_probe.toString() == 'true'
    // VOCABULARIES.out.tfidf feeds two subworkflows: a DSL2 channel is forked to every consumer (engine fact 16)
    NEXTKMER(PREPARE_GENOME.out.genome, ch_holdout, PRETRAIN.out.models, params.nextkmer_k.toString(),
             params.nextkmer_models.toString(), trust_remote_code, VOCABULARIES.out.tfidf)
    // the selected model's classifiers are read by attention motifs and --variant_classifier_task
    def classifier_task = params.variant_classifier_task ? params.variant_classifier_task.toString() : ''
    def keep_classifiers = motif_database != null || (classifier_task && (variants || mutagenesis_regions))
    FINETUNE(PREPARE_GENOME.out.genome, ANNOTATIONS.out, NEXTKMER.out.selected, params.finetune_models.toString(),
             trust_remote_code, params.finetune_tasks.toString(), VOCABULARIES.out.tfidf, keep_classifiers as boolean,
             !skip_cnn_baseline, !skip_embedding_probe)
    EMBEDDINGS(PREPARE_GENOME.out.genome, NEXTKMER.out.selected, VOCABULARIES.out.tokenized, VOCABULARIES.out.windows,
               ANNOTATIONS.out)
    VARIANT_EFFECTS(PREPARE_GENOME.out.genome, NEXTKMER.out.selected, FINETUNE.out.classifiers, variants,
                    mutagenesis_regions, classifier_task, motif_database)

    emit:
    genome      = PREPARE_GENOME.out.genome
    tracks      = ANNOTATIONS.out               // channel: [ meta (id, format, role), track file ]
    tokenized   = VOCABULARIES.out.tokenized
    windows     = VOCABULARIES.out.windows
    models      = PRETRAIN.out.models
    selected    = NEXTKMER.out.selected         // channel: [ meta, model_dir ] of the selected vocabulary
    finetuned   = FINETUNE.out.results
    // every step's result folder the report reads (its *_mqc.* content, pictures and run facts)
    reported    = PREPARE_GENOME.out.genome.mix(VOCABULARIES.out.stats, VOCABULARIES.out.windows, PRETRAIN.out.results,
                                                NEXTKMER.out.selection, FINETUNE.out.report, EMBEDDINGS.out.results,
                                                VARIANT_EFFECTS.out.results, VARIANT_EFFECTS.out.mutagenesis,
                                                VARIANT_EFFECTS.out.motifs)
                      .map { _meta, dir -> dir }
    mqc         = PREPARE_GENOME.out.mqc.mix(VOCABULARIES.out.mqc, PRETRAIN.out.mqc, NEXTKMER.out.mqc, FINETUNE.out.mqc,
                                         EMBEDDINGS.out.mqc, VARIANT_EFFECTS.out.mqc)
}

/*
 * VOCABULARIES: one BPE sweep + fixed k-mer vocabularies, each tokenized over the genome and cut into
 * pretraining windows, plus one statistics table across all of them.
 */

include { DNALM_VOCAB_SWEEP     } from '../../../modules/local/dnalm/vocab_sweep'
include { DNALM_KMER_VOCAB      } from '../../../modules/local/dnalm/kmer_vocab'
include { DNALM_TOKENIZE_GENOME } from '../../../modules/local/dnalm/tokenize_genome'
include { DNALM_MAKE_WINDOWS    } from '../../../modules/local/dnalm/make_windows'
include { DNALM_VOCAB_STATS     } from '../../../modules/local/dnalm/vocab_stats'
include { kmerMeta; safeId      } from '../utils_dnalm_pipeline'

workflow VOCABULARIES {
    take:
    ch_genome           // channel: [ meta, genome_dir ]
    ch_holdout          // channel: holdout BED, or [] when whole contigs are held out (meta.holdout_contigs)
    kmer_vocabs         // string: 'kind:k[:stride],...'

    main:
    DNALM_VOCAB_SWEEP(ch_genome)
    ch_bpe = DNALM_VOCAB_SWEEP.out.vocabs
        .flatMap { meta, dirs -> (dirs instanceof List ? dirs : [dirs]).collect { dir -> [meta + [id: safeId(dir.name, 'BPE vocabulary'), genome_id: meta.id], dir] } }

    ch_kmer_meta = ch_genome
        .map { meta, _dir -> meta }
        .combine(channel.fromList(kmer_vocabs.tokenize(',')))
        .map { meta, spec -> meta + [genome_id: meta.id] + kmerMeta(spec) }
    DNALM_KMER_VOCAB(ch_kmer_meta)

    ch_vocabs = ch_bpe.mix(DNALM_KMER_VOCAB.out.vocab)
    DNALM_TOKENIZE_GENOME(ch_vocabs.combine(ch_genome.map { _meta, dir -> dir }))

    DNALM_MAKE_WINDOWS(DNALM_TOKENIZE_GENOME.out.tokenized.combine(ch_holdout.map { bed -> [bed] }))

    ch_all_tokenized = DNALM_TOKENIZE_GENOME.out.tokenized
        .map { _meta, dir -> dir }
        .collect(sort: true)
        .map { dirs -> [dirs] }
    DNALM_VOCAB_STATS(ch_genome.map { meta, _dir -> meta }.combine(ch_all_tokenized))

    emit:
    vocabs    = ch_vocabs                                   // channel: [ meta, vocab_dir ]
    tokenized = DNALM_TOKENIZE_GENOME.out.tokenized         // channel: [ meta, tokenized_dir ]
    windows   = DNALM_MAKE_WINDOWS.out.windows              // channel: [ meta, windows_dir ]
    stats     = DNALM_VOCAB_STATS.out.stats                 // channel: [ meta, stats_dir ]
    mqc       = DNALM_MAKE_WINDOWS.out.mqc.mix(DNALM_VOCAB_STATS.out.mqc)
}

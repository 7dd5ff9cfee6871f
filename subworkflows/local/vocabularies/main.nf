/*
 * VOCABULARIES: one BPE sweep + fixed k-mer vocabularies, each tokenized over the genome and cut into
 * pretraining windows, plus one statistics table across all of them; and the k-mer vocabularies of the
 * TF-IDF baselines, built once for NEXTKMER and FINETUNE.
 */

include { DNALM_VOCAB_SWEEP                     } from '../../../modules/local/dnalm/vocab_sweep'
include { DNALM_KMER_VOCAB                      } from '../../../modules/local/dnalm/kmer_vocab'
include { DNALM_KMER_VOCAB as DNALM_TFIDF_VOCAB } from '../../../modules/local/dnalm/kmer_vocab'
include { DNALM_TOKENIZE_GENOME                 } from '../../../modules/local/dnalm/tokenize_genome'
include { DNALM_MAKE_WINDOWS                    } from '../../../modules/local/dnalm/make_windows'
include { DNALM_VOCAB_STATS                     } from '../../../modules/local/dnalm/vocab_stats'
include { kmerSpec; namedByDir                  } from '../utils_dnalm_pipeline'

workflow VOCABULARIES {
    take:
    ch_genome           // channel: [ meta, genome_dir ]
    ch_holdout          // channel: holdout BED, or [] when whole contigs are held out (meta.holdout_contigs)
    kmer_vocabs         // string: 'kind:k[:stride],...'
    tfidf_vocabs        // string: 'kind:k[:stride],...' vocabularies of the TF-IDF baselines

    main:
    // dnalm names every vocabulary's directory (bpe_600, kmer4, kmer6_overlap ...), and that name is its id
    DNALM_VOCAB_SWEEP(ch_genome)
    ch_bpe = DNALM_VOCAB_SWEEP.out.vocabs
        .flatMap { meta, dirs -> dirs.collect { dir -> namedByDir(meta + [genome_id: meta.id], dir, 'BPE vocabulary') } }

    DNALM_KMER_VOCAB(
        ch_genome
            .map { meta, _dir -> meta }
            .combine(channel.fromList(kmer_vocabs.tokenize(',')))
            .map { meta, spec -> meta + [genome_id: meta.id] + kmerSpec(spec) }
    )
    ch_kmer = DNALM_KMER_VOCAB.out.vocab.map { meta, dir -> namedByDir(meta, dir, 'k-mer vocabulary') }

    ch_vocabs = ch_bpe.mix(ch_kmer)
    DNALM_TOKENIZE_GENOME(ch_vocabs.combine(ch_genome.map { _meta, dir -> dir }))

    DNALM_MAKE_WINDOWS(DNALM_TOKENIZE_GENOME.out.tokenized.combine(ch_holdout.map { bed -> [bed] }))

    ch_all_tokenized = DNALM_TOKENIZE_GENOME.out.tokenized
        .map { _meta, dir -> dir }
        .collect(sort: true)
        .map { dirs -> [dirs] }
    DNALM_VOCAB_STATS(ch_genome.map { meta, _dir -> meta }.combine(ch_all_tokenized))

    DNALM_TFIDF_VOCAB(channel.fromList(tfidf_vocabs.tokenize(',').collect { spec -> kmerSpec(spec) }))
    ch_tfidf = DNALM_TFIDF_VOCAB.out.vocab.map { meta, dir -> namedByDir(meta, dir, 'k-mer vocabulary') }

    emit:
    vocabs    = ch_vocabs                                   // channel: [ meta, vocab_dir ]
    tokenized = DNALM_TOKENIZE_GENOME.out.tokenized         // channel: [ meta, tokenized_dir ]
    windows   = DNALM_MAKE_WINDOWS.out.windows              // channel: [ meta, windows_dir ]
    stats     = DNALM_VOCAB_STATS.out.stats                 // channel: [ meta, stats_dir ]
    tfidf     = ch_tfidf                                    // channel: [ meta (id, kind, k, stride), vocab_dir ]
    mqc       = DNALM_MAKE_WINDOWS.out.mqc.mix(DNALM_VOCAB_STATS.out.mqc)
}

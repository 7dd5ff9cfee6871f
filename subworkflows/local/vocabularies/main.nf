/*
 * VOCABULARIES: one BPE sweep + fixed k-mer vocabularies, each tokenized over the genome and cut into
 * pretraining windows, plus one statistics table across all of them; and the k-mer vocabularies of the
 * TF-IDF baselines for NEXTKMER and FINETUNE. Each k-mer vocabulary is built once, for all who use it.
 */

include { DNALM_VOCAB_SWEEP                     } from '../../../modules/local/dnalm/vocab_sweep'
include { DNALM_KMER_VOCAB                      } from '../../../modules/local/dnalm/kmer_vocab'
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

    // Every k-mer vocabulary is built once, whether pretraining (kmer_vocabs), the TF-IDF baselines
    // (tfidf_vocabs) or both use it; it does not depend on the genome
    def pretrain_specs = kmer_vocabs.tokenize(',').collect { spec -> kmerSpec(spec) }
    def tfidf_specs = tfidf_vocabs.tokenize(',').collect { spec -> kmerSpec(spec) }
    DNALM_KMER_VOCAB(channel.fromList((pretrain_specs + tfidf_specs).unique()))
    ch_kmer_vocabs = DNALM_KMER_VOCAB.out.vocab.map { spec, dir -> namedByDir(spec, dir, 'k-mer vocabulary') }
    ch_kmer = ch_kmer_vocabs
        .filter { meta, _dir -> meta.subMap(['kind', 'k', 'stride']) in pretrain_specs }
        .combine(ch_genome.map { meta, _dir -> meta })
        .map { meta, dir, genome -> [genome + [genome_id: genome.id] + meta, dir] }

    ch_vocabs = ch_bpe.mix(ch_kmer)
    DNALM_TOKENIZE_GENOME(ch_vocabs.combine(ch_genome.map { _meta, dir -> dir }))

    DNALM_MAKE_WINDOWS(DNALM_TOKENIZE_GENOME.out.tokenized.combine(ch_holdout.map { bed -> [bed] }))

    ch_all_tokenized = DNALM_TOKENIZE_GENOME.out.tokenized
        .map { _meta, dir -> dir }
        .collect(sort: true)
        .map { dirs -> [dirs] }
    DNALM_VOCAB_STATS(ch_genome.map { meta, _dir -> meta }.combine(ch_all_tokenized))

    ch_tfidf = ch_kmer_vocabs.filter { meta, _dir -> meta.subMap(['kind', 'k', 'stride']) in tfidf_specs }

    emit:
    vocabs    = ch_vocabs                                   // channel: [ meta, vocab_dir ]
    tokenized = DNALM_TOKENIZE_GENOME.out.tokenized         // channel: [ meta, tokenized_dir ]
    windows   = DNALM_MAKE_WINDOWS.out.windows              // channel: [ meta, windows_dir ]
    stats     = DNALM_VOCAB_STATS.out.stats                 // channel: [ meta, stats_dir ]
    tfidf     = ch_tfidf                                    // channel: [ meta (id, kind, k, stride), vocab_dir ]
    mqc       = DNALM_MAKE_WINDOWS.out.mqc.mix(DNALM_VOCAB_STATS.out.mqc)
}

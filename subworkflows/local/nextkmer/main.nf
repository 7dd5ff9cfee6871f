/*
 * NEXTKMER: GROVER's vocabulary benchmark. Every pretrained model (and every external model listed) is
 * fine-tuned to predict the next k nt after 50 nt of held-out sequence, for each k; TF-IDF + random-forest
 * baselines run on the same samples; the best vocabulary by mean accuracy over k is selected, and the
 * later steps run on its model.
 */

include { DNALM_NEXTKMER_DATA                   } from '../../../modules/local/dnalm/nextkmer_data'
include { DNALM_NEXTKMER_FINETUNE               } from '../../../modules/local/dnalm/nextkmer_finetune'
include { DNALM_TFIDF_BASELINE                  } from '../../../modules/local/dnalm/tfidf_baseline'
include { DNALM_SELECT_VOCABULARY               } from '../../../modules/local/dnalm/select_vocabulary'
include { externalModel; safeId                 } from '../utils_dnalm_pipeline'

workflow NEXTKMER {
    take:
    ch_genome           // channel: [ meta, genome_dir ]
    ch_holdout          // channel: holdout BED, or [] when whole contigs are held out (meta.holdout_contigs)
    ch_models           // channel: [ meta, model_dir ] of the pretrained models
    kmer_values         // string: 'k,...' (GROVER: 2,3,4,5,6)
    external_models     // string: comma-separated model directories or hub ids, '' for none
    trust_remote_code   // boolean: allow external models' own code
    ch_tfidf_vocabs     // channel: [ meta (id, kind, k, stride), vocab_dir ] of the TF-IDF baselines

    main:
    def ks = kmer_values.tokenize(',').collect { k -> k.trim().toInteger() }
    ch_k = channel.fromList(ks)

    DNALM_NEXTKMER_DATA(
        ch_genome
            .map { meta, dir -> [meta + [max_k: ks.max()], dir] }
            .combine(ch_holdout.map { bed -> [bed] })
    )
    ch_data = DNALM_NEXTKMER_DATA.out.data.map { _meta, dir -> dir }

    ch_external = channel.fromList(external_models.tokenize(',').collect { ref -> externalModel(ref.trim(), trust_remote_code) })
    DNALM_NEXTKMER_FINETUNE(
        ch_models.map { meta, dir -> [[id: meta.id], dir] }
            .mix(ch_external)
            .combine(ch_data)
            .combine(ch_k)
    )

    DNALM_TFIDF_BASELINE(
        ch_tfidf_vocabs
            .combine(ch_data)
            .combine(ch_k)
            .map { meta, vocab, data, k -> [meta + [next_k: k, task: safeId("next${k}mer", 'next-k-mer task')], vocab, data] }
    )

    ch_results = DNALM_NEXTKMER_FINETUNE.out.results
        .mix(DNALM_TFIDF_BASELINE.out.results)
        .map { _meta, dir -> dir }
        .collect(sort: true)
        .map { dirs -> [dirs] }
    // the choice is among this run's pretrained models; external ones (an earlier run's dnalm model too) are
    // references, since the later steps need the tokenized genome and windows of the selected vocabulary
    ch_candidates = ch_models.map { meta, _dir -> meta.id }.collect(sort: true).map { ids -> [ids.join(',')] }
    DNALM_SELECT_VOCABULARY(
        ch_genome.map { meta, _dir -> meta }.combine(ch_results).combine(ch_candidates)
            .map { meta, dirs, candidates -> [meta + [candidates: candidates], dirs] }
    )

    // The selected model, one of this run's pretrained ones, goes on to fine-tuning and embedding analysis
    ch_selected = ch_models
        .combine(DNALM_SELECT_VOCABULARY.out.selected.map { _meta, txt -> txt.text.trim() })
        .filter { meta, _dir, selected -> meta.id == selected }
        .map { meta, dir, _selected -> [meta, dir] }

    emit:
    selected  = ch_selected                                 // channel: [ meta, model_dir ]
    selection = DNALM_SELECT_VOCABULARY.out.selection       // channel: [ meta, selection_dir ]
    mqc       = DNALM_SELECT_VOCABULARY.out.mqc
}

/*
 * EMBEDDINGS: what the selected model learned (GROVER Figs. 4-5, DNABERT study): its token embeddings against
 * a Word2Vec baseline, self-similarity per layer, predictions at masked positions, and embeddings of genome
 * windows coloured by every annotation track.
 */

include { DNALM_TOKEN_EMBEDDINGS  } from '../../../modules/local/dnalm/token_embeddings'
include { DNALM_WORD2VEC          } from '../../../modules/local/dnalm/word2vec'
include { DNALM_EMBEDDING_REPORT  } from '../../../modules/local/dnalm/embedding_report'
include { DNALM_SELF_SIMILARITY   } from '../../../modules/local/dnalm/self_similarity'
include { DNALM_MASK_PREDICTIONS  } from '../../../modules/local/dnalm/mask_predictions'
include { DNALM_WINDOW_EMBEDDINGS } from '../../../modules/local/dnalm/window_embeddings'

workflow EMBEDDINGS {
    take:
    ch_genome           // channel: [ meta, genome_dir ]
    ch_selected         // channel: [ meta, model_dir ] of the selected vocabulary
    ch_tokenized        // channel: [ meta, tokenized_dir ] of every vocabulary
    ch_windows          // channel: [ meta, windows_dir ] of every vocabulary
    ch_annotations      // channel: [ meta (id, format, role), track file ]

    main:
    ch_input = ch_selected.map { meta, dir -> [meta.id, meta, dir] }
        .join(ch_tokenized.map { meta, dir -> [meta.id, dir] })
        .join(ch_windows.map { meta, dir -> [meta.id, dir] })
        .map { _id, meta, model, tokenized, windows -> [meta, model, tokenized, windows] }
    // The first repeat track ([] without one) adds each token's share of occurrences in repeats. Track lists
    // are sorted: tasks finish in any order, and an unsorted list would change the task hash (-resume)
    ch_repeats = ch_annotations.filter { meta, _track -> meta.role == 'repeats' }
        .map { _meta, track -> track }
        .toSortedList { a, b -> a.name <=> b.name }
        .map { files -> [files ? files[0] : []] }
    ch_tracks = ch_annotations.filter { meta, _track -> meta.format != 'jaspar' }
        .map { _meta, track -> track }
        .toSortedList { a, b -> a.name <=> b.name }
        .map { files -> [files] }

    DNALM_TOKEN_EMBEDDINGS(ch_input.combine(ch_repeats).map { meta, model, tokenized, _windows, repeats -> [meta, model, tokenized, repeats] })
    DNALM_WORD2VEC(ch_input.combine(ch_repeats).map { meta, _model, tokenized, windows, repeats -> [meta, tokenized, windows, repeats] })
    ch_sets = DNALM_TOKEN_EMBEDDINGS.out.results.mix(DNALM_WORD2VEC.out.results)
        .map { _meta, dir -> dir }
        .collect(sort: true)
        .map { dirs -> [dirs] }
    DNALM_EMBEDDING_REPORT(ch_genome.map { meta, _dir -> meta }.combine(ch_sets))

    DNALM_SELF_SIMILARITY(ch_input)
    DNALM_MASK_PREDICTIONS(ch_input)
    DNALM_WINDOW_EMBEDDINGS(ch_input.combine(ch_tracks).map { meta, model, tokenized, _windows, tracks -> [meta, model, tokenized, tracks] })

    emit:
    report  = DNALM_EMBEDDING_REPORT.out.results                // channel: [ meta, report_dir ]
    windows = DNALM_WINDOW_EMBEDDINGS.out.results               // channel: [ meta, window_embeddings_dir ]
    results = DNALM_EMBEDDING_REPORT.out.results.mix(DNALM_SELF_SIMILARITY.out.results, DNALM_MASK_PREDICTIONS.out.results, DNALM_WINDOW_EMBEDDINGS.out.results)
    mqc     = DNALM_EMBEDDING_REPORT.out.mqc.mix(DNALM_SELF_SIMILARITY.out.mqc, DNALM_MASK_PREDICTIONS.out.mqc, DNALM_WINDOW_EMBEDDINGS.out.mqc)
}

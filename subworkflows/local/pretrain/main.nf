/*
 * PRETRAIN: one BERT masked-token model per vocabulary, on that vocabulary's windows.
 * Checkpoints live under --checkpoint_root/<genome>/<vocabulary>, so a failed or killed task resumes.
 */

include { DNALM_PRETRAIN } from '../../../modules/local/dnalm/pretrain'

workflow PRETRAIN {
    take:
    ch_tokenized        // channel: [ meta, tokenized_dir ]
    ch_windows          // channel: [ meta, windows_dir ]

    main:
    DNALM_PRETRAIN(ch_tokenized.join(ch_windows))

    emit:
    models  = DNALM_PRETRAIN.out.model      // channel: [ meta, model_dir ]
    results = DNALM_PRETRAIN.out.results    // channel: [ meta, results_dir ]
    mqc     = DNALM_PRETRAIN.out.mqc
}

/*
 * PRETRAIN: one BERT masked-token model per vocabulary, on that vocabulary's windows: on one GPU node, or
 * across `nodes` nodes of a SLURM allocation. Checkpoints live under --checkpoint_root/<genome>/<vocabulary>,
 * so a failed or killed task resumes.
 */

include { DNALM_PRETRAIN           } from '../../../modules/local/dnalm/pretrain'
include { DNALM_PRETRAIN_MULTINODE } from '../../../modules/local/dnalm/pretrain_multinode'
include { deepspeedFile            } from '../utils_dnalm_pipeline'

workflow PRETRAIN {
    take:
    ch_tokenized        // channel: [ meta, tokenized_dir ]
    ch_windows          // channel: [ meta, windows_dir ]
    nodes               // integer: nodes per model (1: one process, no SLURM allocation of its own)

    main:
    // a DeepSpeed config file (--pretrain_deepspeed) is staged into every task; [[]]: none (engine fact 22)
    ch_input = ch_tokenized.join(ch_windows).combine(channel.value([deepspeedFile(params.pretrain_deepspeed)]))
    if (nodes > 1) {
        DNALM_PRETRAIN_MULTINODE(ch_input)
        ch_out = DNALM_PRETRAIN_MULTINODE.out
    } else {
        DNALM_PRETRAIN(ch_input)
        ch_out = DNALM_PRETRAIN.out
    }

    emit:
    models  = ch_out.model      // channel: [ meta, model_dir ]
    results = ch_out.results    // channel: [ meta, results_dir ]
    mqc     = ch_out.mqc
}

/*
 * VARIANT_EFFECTS: the user's variants (--variants) and every SNV of the user's regions (--mutagenesis_regions)
 * scored by the selected model, zero-shot (masked-LM log-likelihood ratio of ALT vs REF) and, with
 * --variant_classifier_task, by its classifier of that task (DNABERT's difference score and log-odds ratio);
 * and the motifs each of its classifiers attends to (unless --skip_attention_motifs). Without a param its channel is
 * empty and no task runs (engine fact 21).
 */

include { DNALM_VARIANT_EFFECTS        } from '../../../modules/local/dnalm/variant_effects'
include { DNALM_SATURATION_MUTAGENESIS } from '../../../modules/local/dnalm/saturation_mutagenesis'
include { DNALM_ATTENTION_MOTIFS       } from '../../../modules/local/dnalm/attention_motifs'

workflow VARIANT_EFFECTS {
    take:
    ch_genome           // channel: [ meta, genome_dir ]
    ch_selected         // channel: [ meta, model_dir ] of the selected vocabulary
    ch_classifiers      // channel: [ meta (id, task), finetuned_dir, task_dir ] of the selected model
    variants            // path of a VCF (plain, gzip or bgzip), or null
    regions             // path of a BED of regions to mutate, or null
    classifier_task     // string: the task whose classifier also scores the variants, or '' for none
    motifs              // path of the JASPAR matrices attention motifs are matched to, or null for no motifs

    main:
    ch_variants = variants ? channel.value(variants) : channel.empty()
    ch_regions = regions ? channel.value(regions) : channel.empty()
    // the classifier of --variant_classifier_task, or [] (no file) without it, as [[]] since combine flattens a
    // list item (engine fact 22); a task the run does not build stops the run (engine fact 23) rather than
    // leaving the variants unscored
    ch_classifier = classifier_task && (variants || regions)
        ? ch_classifiers
            .filter { meta, _dir, _task_dir -> meta.task == classifier_task }
            .map { _meta, dir, _task_dir -> dir }
            .ifEmpty { error("--variant_classifier_task ${classifier_task}: no such task was fine-tuned in this run") }
        : channel.value([[]])
    ch_model = ch_selected.combine(ch_genome.map { _meta, dir -> dir })
    DNALM_VARIANT_EFFECTS(ch_model.combine(ch_variants).combine(ch_classifier))
    DNALM_SATURATION_MUTAGENESIS(ch_model.combine(ch_regions).combine(ch_classifier))

    ch_jaspar = motifs ? channel.value(motifs) : channel.empty()
    DNALM_ATTENTION_MOTIFS(ch_classifiers.combine(ch_jaspar))

    emit:
    results     = DNALM_VARIANT_EFFECTS.out.results         // channel: [ meta, variant_effects_dir ]
    mutagenesis = DNALM_SATURATION_MUTAGENESIS.out.results  // channel: [ meta, mutagenesis_dir ]
    motifs      = DNALM_ATTENTION_MOTIFS.out.results        // channel: [ meta, motifs_dir ]
    mqc         = DNALM_VARIANT_EFFECTS.out.mqc.mix(DNALM_ATTENTION_MOTIFS.out.mqc)
}

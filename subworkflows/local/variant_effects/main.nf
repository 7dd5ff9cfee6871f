/*
 * VARIANT_EFFECTS: the user's variants (--variants) scored by the selected model, zero-shot (masked-LM
 * log-likelihood ratio of ALT vs REF). Without --variants the channel is empty and no task runs.
 */

include { DNALM_VARIANT_EFFECTS } from '../../../modules/local/dnalm/variant_effects'

workflow VARIANT_EFFECTS {
    take:
    ch_genome           // channel: [ meta, genome_dir ]
    ch_selected         // channel: [ meta, model_dir ] of the selected vocabulary
    variants            // path of a VCF (plain, gzip or bgzip), or null

    main:
    ch_variants = variants ? channel.value(variants) : channel.empty()
    DNALM_VARIANT_EFFECTS(ch_selected.combine(ch_genome.map { _meta, dir -> dir }).combine(ch_variants))

    emit:
    results = DNALM_VARIANT_EFFECTS.out.results     // channel: [ meta, variant_effects_dir ]
    mqc     = DNALM_VARIANT_EFFECTS.out.mqc
}

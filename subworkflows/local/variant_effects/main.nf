/*
 * VARIANT_EFFECTS: the user's variants (--variants) and every SNV of the user's regions (--mutagenesis_regions)
 * scored by the selected model, zero-shot (masked-LM log-likelihood ratio of ALT vs REF). Without the param
 * its channel is empty and no task runs (engine fact 21).
 */

include { DNALM_VARIANT_EFFECTS        } from '../../../modules/local/dnalm/variant_effects'
include { DNALM_SATURATION_MUTAGENESIS } from '../../../modules/local/dnalm/saturation_mutagenesis'

workflow VARIANT_EFFECTS {
    take:
    ch_genome           // channel: [ meta, genome_dir ]
    ch_selected         // channel: [ meta, model_dir ] of the selected vocabulary
    variants            // path of a VCF (plain, gzip or bgzip), or null
    regions             // path of a BED of regions to mutate, or null

    main:
    ch_variants = variants ? channel.value(variants) : channel.empty()
    ch_regions = regions ? channel.value(regions) : channel.empty()
    ch_model = ch_selected.combine(ch_genome.map { _meta, dir -> dir })
    DNALM_VARIANT_EFFECTS(ch_model.combine(ch_variants))
    DNALM_SATURATION_MUTAGENESIS(ch_model.combine(ch_regions))

    emit:
    results = DNALM_VARIANT_EFFECTS.out.results     // channel: [ meta, variant_effects_dir ]
    mutagenesis = DNALM_SATURATION_MUTAGENESIS.out.results  // channel: [ meta, mutagenesis_dir ]
    mqc     = DNALM_VARIANT_EFFECTS.out.mqc
}

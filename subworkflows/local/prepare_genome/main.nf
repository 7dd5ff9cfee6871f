/*
 * PREPARE_GENOME: FASTA -> N-free runs, statistics and the default holdout region.
 */

include { DNALM_PREPARE_GENOME } from '../../../modules/local/dnalm/prepare_genome'

workflow PREPARE_GENOME {
    take:
    ch_fasta            // channel: [ meta, fasta ]

    main:
    DNALM_PREPARE_GENOME(ch_fasta)

    emit:
    genome          = DNALM_PREPARE_GENOME.out.genome             // channel: [ meta, genome_dir ]
    holdout_default = DNALM_PREPARE_GENOME.out.holdout_default    // channel: [ meta, bed ]
    mqc             = DNALM_PREPARE_GENOME.out.mqc
}

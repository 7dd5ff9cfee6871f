/*
 * ANNOTATIONS: every annotation track checked against the genome's contigs and written as sorted BED
 * (JASPAR motifs are validated and passed through).
 */

include { DNALM_PREPARE_ANNOTATION } from '../../../modules/local/dnalm/prepare_annotation'

workflow ANNOTATIONS {
    take:
    ch_tracks           // channel: [ meta (id, format, role), track ]
    ch_genome           // channel: [ meta, genome_dir ]
    contig_map          // path of a two-column contig name map, or null

    main:
    DNALM_PREPARE_ANNOTATION(
        ch_tracks
            .combine(ch_genome.map { _meta, dir -> dir })
            .map { meta, track, genome -> [meta, track, genome, contig_map ?: []] }
    )

    emit:
    DNALM_PREPARE_ANNOTATION.out.track      // channel: [ meta (id, format, role), track (.bed, .jaspar) ]
}

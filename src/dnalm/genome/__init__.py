"""Stage 1, the genome: FASTA reading, preparation into runs, annotations, held-out regions, intervals."""

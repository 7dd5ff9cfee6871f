"""clean a FASTA into N-free runs with genome statistics and a default holdout region"""

from __future__ import annotations

import argparse
from pathlib import Path

from dnalm.cli.options import FRACTION, POSITIVE_INT, name_list


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--fasta", type=Path, required=True, help="FASTA or FASTA.gz (multi-record)")
    p.add_argument("--genome-id", help="name used in reports (default: FASTA file name)")
    p.add_argument("--contigs", type=name_list, default=[], metavar="GLOBS",
                   help="keep only these contigs (comma-separated names or globs)")
    p.add_argument("--exclude-contigs", type=name_list, default=[], metavar="GLOBS",
                   help="drop these contigs (e.g. 'chrUn*,*_random,chrM')")
    p.add_argument("--min-run", type=POSITIVE_INT, default=50, help="drop N-free runs shorter than this many bp")
    p.add_argument("--holdout-fraction", type=FRACTION, default=0.05,
                   help="share of sequence, from the end, written to holdout_default.bed")


def run(args: argparse.Namespace, out: Path) -> None:
    from dnalm.genome.prepare import check_genome_id, genome_id_from_name, prepare_genome

    prepare_genome(fasta=args.fasta, out=out, genome_id=check_genome_id(args.genome_id or
                                                                        genome_id_from_name(args.fasta.name)),
                   contigs=args.contigs, exclude=args.exclude_contigs, min_run=args.min_run,
                   holdout_fraction=args.holdout_fraction)

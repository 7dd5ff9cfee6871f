"""check an annotation track against the genome's contigs and write it as sorted BED"""

from __future__ import annotations

import argparse
from pathlib import Path

from dnalm.cli.options import add_genome, identifier
from dnalm.genome.annotations import FORMATS, ROLES


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--track", type=Path, required=True, help="BED, EPD SGA or JASPAR file (plain or gzip)")
    p.add_argument("--name", required=True, type=identifier, help="track name, used for output files")
    p.add_argument("--format", choices=FORMATS, required=True, help="file format")
    p.add_argument("--role", choices=ROLES, required=True, help="what later steps use the track for")
    add_genome(p)
    p.add_argument("--contig-map", type=Path,
                   help="two columns: the track's contig name, the genome's (e.g. NC_000001.11 chr1)")


def run(args: argparse.Namespace, out: Path) -> None:
    from dnalm.genome.annotations import prepare_annotation

    prepare_annotation(track=args.track, name=args.name, fmt=args.format, role=args.role, genome_dir=args.genome,
                       contig_map=args.contig_map, out=out)

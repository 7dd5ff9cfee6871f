"""CTCF motif sites (FIMO-style scan, memelite) labelled bound where they meet a ChIP-seq peak; 1 kb around
each site; writes train/dev/test.csv (80/10/10, stratified) and task.json"""

from __future__ import annotations

import argparse
from pathlib import Path

from dnalm.cli.options import POSITIVE, POSITIVE_INT, add_task


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_task(p)
    p.add_argument("--motif", type=Path, required=True, help="JASPAR matrix (e.g. MA0139.1)")
    p.add_argument("--peaks", type=Path, required=True, help="BED of ChIP-seq peaks")
    p.add_argument("--window", type=POSITIVE_INT, default=1000, help="bp around each site")
    p.add_argument("--p-threshold", type=POSITIVE, default=1e-4, help="motif p-value cut-off")


def run(args: argparse.Namespace, out: Path) -> None:
    from dnalm.evaluation.genome_tasks import ctcf

    ctcf(genome_dir=args.genome, motif=args.motif, peaks=args.peaks, out=out, seed=args.seed,
         train_fraction=args.train_fraction, window=args.window, threshold=args.p_threshold)

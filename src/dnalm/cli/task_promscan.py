"""1,001 bp windows every 300 bp across 10 kb around each TSS; label 1 where the window holds the TSS (GROVER
PromScan); writes train/dev/test.csv (80/10/10, stratified) and task.json"""

from __future__ import annotations

import argparse
from pathlib import Path

from dnalm.cli.options import add_task, add_tss


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_task(p)
    add_tss(p)


def run(args: argparse.Namespace, out: Path) -> None:
    from dnalm.evaluation.genome_tasks import promscan

    promscan(genome_dir=args.genome, tss_file=args.tss, tss_format=args.tss_format, out=out, seed=args.seed,
             train_fraction=args.train_fraction)

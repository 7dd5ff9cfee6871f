"""all fine-tuning and baseline results: tidy table, mean and sd over seeds, a chart per task"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--results", type=Path, nargs="+", required=True,
                   help="finetune and tfidf-baseline output directories")


def run(args: argparse.Namespace, out: Path) -> None:
    from dnalm.evaluation.finetune_report import finetune_report

    finetune_report(result_dirs=args.results, out=out)

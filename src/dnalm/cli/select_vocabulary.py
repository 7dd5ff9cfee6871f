"""rank pretrained models by mean next-k-mer accuracy over k; table, plot and selected.json"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--results", type=Path, nargs="+", required=True,
                   help="nextkmer-finetune and tfidf-baseline output directories")


def run(args: argparse.Namespace, out: Path) -> None:
    from dnalm.evaluation.selection import select_vocabulary

    select_vocabulary(result_dirs=args.results, out=out)

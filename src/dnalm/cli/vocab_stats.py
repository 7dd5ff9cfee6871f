"""statistics of vocabularies over their tokenized genomes"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tokenized", type=Path, nargs="+", required=True, help="tokenize-genome output directories")


def run(args: argparse.Namespace, out: Path) -> None:
    from dnalm.vocab.stats import vocab_stats

    vocab_stats(tokenized_dirs=args.tokenized, out=out)

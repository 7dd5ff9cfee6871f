"""rank pretrained models by mean next-k-mer accuracy over k; table, plot and selected.json"""

from __future__ import annotations

import argparse
from pathlib import Path

from dnalm.cli.options import name_list


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--results", type=Path, nargs="+", required=True,
                   help="nextkmer-finetune and tfidf-baseline output directories")
    p.add_argument("--candidates", type=name_list, default=None, metavar="ID,...",
                   help="the models to choose from (the workflow's: those it pretrained); the other dnalm models "
                        "are references, like external models (default: every dnalm model)")


def run(args: argparse.Namespace, out: Path) -> None:
    from dnalm.evaluation.selection import select_vocabulary

    select_vocabulary(result_dirs=args.results, out=out, candidates=args.candidates)

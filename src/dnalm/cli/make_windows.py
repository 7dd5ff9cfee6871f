"""sample pretraining windows (GROVER: 50% 510 tokens, else 20..510) and split train/test"""

from __future__ import annotations

import argparse
from pathlib import Path

from dnalm.cli.options import FRACTION, POSITIVE_INT, add_holdout, add_seed


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tokenized", type=Path, required=True, help="tokenize-genome output directory")
    add_holdout(p)
    p.add_argument("--test-fraction", type=FRACTION, default=0.2, help="share of test windows")
    p.add_argument("--max-len", type=POSITIVE_INT, default=510, help="longest window in tokens")
    p.add_argument("--min-len", type=POSITIVE_INT, default=20, help="shortest window in tokens")
    p.add_argument("--p-max", type=FRACTION, default=0.5, help="probability of a window of --max-len tokens")
    add_seed(p)


def run(args: argparse.Namespace, out: Path) -> None:
    from dnalm.pretraining.windows import make_windows

    make_windows(tokenized_dir=args.tokenized, out=out, holdout_contigs=args.holdout_contigs,
                 holdout_regions=args.holdout_regions, test_fraction=args.test_fraction, seed=args.seed,
                 max_len=args.max_len, min_len=args.min_len, p_max=args.p_max)

"""next-k-mer samples from the holdout set: 50 nt input, the next k nt as label (GROVER)"""

from __future__ import annotations

import argparse
from pathlib import Path

from dnalm.cli.options import FRACTION, POSITIVE_INT, add_genome, add_holdout, add_seed, add_subset


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_genome(p)
    add_holdout(p)
    add_subset(p, "--samples", 500_000, "samples (pieces)")
    p.add_argument("--stride", type=POSITIVE_INT, default=510,
                   help="bases between piece starts: 510 cuts 510 nt pieces (GROVER); lower it for small "
                        "holdout sets")
    p.add_argument("--context", type=POSITIVE_INT, default=50, help="input length in nt")
    p.add_argument("--max-k", type=POSITIVE_INT, default=6, help="labels for k = 1..max-k")
    p.add_argument("--split", choices=["random", "block"], default="random",
                   help="random: seeded 80/20 (GROVER); block: the last 20%% in genome order is test, for "
                        "overlapping samples")
    p.add_argument("--test-fraction", type=FRACTION, default=0.2, help="share of test samples")
    add_seed(p)


def run(args: argparse.Namespace, out: Path) -> None:
    from dnalm.evaluation.nextkmer import nextkmer_data

    nextkmer_data(genome_dir=args.genome, out=out, holdout_contigs=args.holdout_contigs,
                  holdout_regions=args.holdout_regions, samples=args.samples, stride=args.stride,
                  context=args.context, max_k=args.max_k, split=args.split, test_fraction=args.test_fraction,
                  seed=args.seed)

"""train byte-pair encoding once to max(cycles) merges; one vocabulary per cycle count"""

from __future__ import annotations

import argparse
from pathlib import Path

from dnalm.cli.options import CORES, NON_NEGATIVE_INT, POSITIVE_INT, add_genome, add_seed, int_list


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_genome(p)
    p.add_argument("--cycles", type=int_list, required=True, help="merge counts, e.g. 100,600,5000")
    p.add_argument("--chunk-bp", type=POSITIVE_INT, default=1000,
                   help="runs are cut into chunks of this size that no merge crosses")
    p.add_argument("--sample-bp", type=NON_NEGATIVE_INT, default=0,
                   help="train on a seeded random sample of chunks of this many bp (default: 0 = all)")
    p.add_argument("--threads", type=POSITIVE_INT, default=CORES,
                   help="threads that merge their share of the chunks; the merges do not depend on it "
                        "(default: the cores available)")
    add_seed(p)


def run(args: argparse.Namespace, out: Path) -> None:
    from dnalm.vocab.bpe import vocab_sweep

    vocab_sweep(genome_dir=args.genome, out=out, cycles=args.cycles, chunk_bp=args.chunk_bp,
                sample_bp=args.sample_bp, seed=args.seed, threads=args.threads)

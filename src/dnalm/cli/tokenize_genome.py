"""encode every N-free run whole into a flat token array"""

from __future__ import annotations

import argparse
from pathlib import Path

from dnalm.cli.options import CORES, NON_NEGATIVE_INT, POSITIVE_INT, add_genome


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_genome(p)
    p.add_argument("--vocab", type=Path, required=True, help="vocabulary directory")
    p.add_argument("--piece-bp", type=NON_NEGATIVE_INT, default=0,
                   help="encode long runs in pieces of this size to bound memory; same result (default: 0 = whole)")
    p.add_argument("--threads", type=POSITIVE_INT, default=CORES,
                   help="runs encoded at the same time (default: the cores available)")


def run(args: argparse.Namespace, out: Path) -> None:
    from dnalm.vocab.tokenized import tokenize_genome

    tokenize_genome(genome_dir=args.genome, vocab_dir=args.vocab, out=out, piece_bp=args.piece_bp,
                    threads=args.threads)

"""build a fixed k-mer vocabulary"""

from __future__ import annotations

import argparse
from pathlib import Path

from dnalm.cli.options import POSITIVE_INT


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kind", choices=["kmer", "kmer-overlap", "kmer-stride"], required=True,
                   help="kmer: non-overlapping (GROVER baselines); kmer-overlap: stride 1 (DNABERT); "
                        "kmer-stride: every --stride bases (GenomeNet-BERT)")
    p.add_argument("--k", type=POSITIVE_INT, required=True, help="k-mer length (1..8)")
    p.add_argument("--stride", type=POSITIVE_INT, help="bases between k-mer starts (kmer-stride only)")


def default_out(args: argparse.Namespace) -> Path:
    """The vocabulary's name (kmer4, kmer6_overlap, kmer6_stride3): the workflow takes its id from it."""
    from dnalm.vocab.vocabulary import kmer_vocabulary_name

    return Path(kmer_vocabulary_name(args.kind, args.k, args.stride))


def run(args: argparse.Namespace, out: Path) -> None:
    from dnalm.vocab.vocabulary import kmer_vocabulary

    out.rmdir()  # kmer_vocabulary creates its directory
    kmer_vocabulary(out=out, kind=args.kind, k=args.k, stride=args.stride)

"""promoters TSS -249..+50 on their strand vs shuffled copies (GROVER Prom300); writes train/dev/test.csv
(80/10/10, stratified) and task.json"""

from __future__ import annotations

import argparse
from pathlib import Path

from dnalm.cli.options import add_task, add_tss


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_task(p)
    add_tss(p)
    p.add_argument("--negatives", choices=["tokens", "nucleotides"], default="tokens",
                   help="tokens: shuffle the tokens of 6 of 8 chunks (GROVER, needs --vocab); nucleotides: "
                        "permute 15 of 20 equal parts (DNABERT)")
    p.add_argument("--vocab", type=Path, help="vocabulary whose tokens are shuffled (bpe or kmer)")


def run(args: argparse.Namespace, out: Path) -> None:
    from dnalm.evaluation.genome_tasks import prom300

    prom300(genome_dir=args.genome, tss_file=args.tss, tss_format=args.tss_format, out=out,
            negatives=args.negatives, vocab_dir=args.vocab, seed=args.seed, train_fraction=args.train_fraction)

"""gensim Word2Vec CBOW on tokenized training windows: the static baseline"""

from __future__ import annotations

import argparse
from pathlib import Path

from dnalm.cli.options import CORES, NON_NEGATIVE_INT, POSITIVE_INT, add_seed, add_subset


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tokenized", type=Path, required=True, help="tokenize-genome output directory")
    p.add_argument("--windows", type=Path, required=True, help="make-windows output: its training windows")
    add_subset(p, "--sentences", 100_000, "training windows (sentences)")
    p.add_argument("--vector-size", type=POSITIVE_INT, default=768, help="dimensions (default: 768, BERT-base)")
    p.add_argument("--window", type=POSITIVE_INT, default=5, help="context window in tokens")
    p.add_argument("--min-count", type=POSITIVE_INT, default=1, help="ignore rarer tokens")
    p.add_argument("--epochs", type=POSITIVE_INT, default=5, help="passes over the sentences")
    p.add_argument("--workers", type=NON_NEGATIVE_INT, default=0,
                   help="threads (default 0: the CPUs this process may use); 1 gives the same vectors for a seed "
                        "on every run, more threads race and differ slightly")
    p.add_argument("--repeats", type=Path, help="repeat BED for the token characteristics")
    p.add_argument("--name", help="name in reports (default: word2vec_<tokenized>)")
    add_seed(p)


def run(args: argparse.Namespace, out: Path) -> None:
    from dnalm.analysis.token_embeddings import word2vec

    word2vec(tokenized_dir=args.tokenized, windows_dir=args.windows, out=out,
             name=args.name or f"word2vec_{args.tokenized.name}", sentences=args.sentences,
             vector_size=args.vector_size, window=args.window, min_count=args.min_count, epochs=args.epochs,
             workers=args.workers or CORES, seed=args.seed, repeats=args.repeats)

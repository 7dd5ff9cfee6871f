"""TF-IDF features of tokens + random forest on a labelled task (next-k-mer or CSV folder)"""

from __future__ import annotations

import argparse
from pathlib import Path

from dnalm.cli.options import (
    CORES,
    FRACTION,
    NON_NEGATIVE_INT,
    POSITIVE,
    POSITIVE_INT,
    K,
    add_label_map,
    add_seed,
    add_subset,
    int_list,
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, required=True, help="nextkmer-data output or a folder of train/dev/test.csv")
    p.add_argument("--vocab", type=Path, required=True, help="vocabulary directory that tokenizes the sequences")
    p.add_argument("--k", type=K, help="next-k-mer data: predict the next k nt (1..8)")
    add_label_map(p)
    p.add_argument("--trees", type=int_list, default=[100, 200, 500, 1000, 2000],
                   help="forest sizes tried; the best validation MCC (accuracy over 32 classes) is kept. Under "
                        "1,000 validation rows none is chosen: the largest up to 500 is used")
    p.add_argument("--max-leaf-nodes", type=NON_NEGATIVE_INT, default=0,
                   help="leaves per tree (default 0: unbounded for up to 32 classes where --memory-gb allows, "
                        "else 256)")
    add_subset(p, "--max-train", 50_000, "training samples")
    p.add_argument("--tree-samples", type=NON_NEGATIVE_INT, default=0,
                   help="bootstrap samples per tree (default 0: all training rows for up to 32 classes, else "
                        "10,000: bounds time with many classes)")
    p.add_argument("--memory-gb", type=POSITIVE, default=8.0, help="forest sizes over this memory are not tried")
    p.add_argument("--valid-fraction", type=FRACTION, default=0.1,
                   help="share of training rows held out to choose the forest size, where the task has no "
                        "dev split")
    p.add_argument("--threads", type=POSITIVE_INT, default=CORES, help="trees grown at once (default: cores)")
    add_seed(p)


def run(args: argparse.Namespace, out: Path) -> None:
    from dnalm.evaluation.tfidf import tfidf_baseline

    tfidf_baseline(data_dir=args.data, vocab_dir=args.vocab, out=out, k=args.k, trees=args.trees,
                   max_leaf_nodes=args.max_leaf_nodes, max_train=args.max_train, memory_gb=args.memory_gb,
                   valid_fraction=args.valid_fraction, seed=args.seed, threads=args.threads,
                   tree_samples=args.tree_samples, label_map=args.label_map)

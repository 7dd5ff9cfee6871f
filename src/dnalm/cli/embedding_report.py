"""PCA and MEV, PC-characteristic correlations, UMAPs and clusters of embedding sets"""

from __future__ import annotations

import argparse
from pathlib import Path

from dnalm.cli.options import POSITIVE_INT, add_seed


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--embeddings", type=Path, nargs="+", required=True, help="token-embeddings / word2vec outputs")
    p.add_argument("--pcs", type=POSITIVE_INT, default=20, help="principal components correlated")
    p.add_argument("--clusters", type=POSITIVE_INT, default=10, help="token clusters cut from the tree")
    add_seed(p)


def run(args: argparse.Namespace, out: Path) -> None:
    from dnalm.analysis.embedding_report import embedding_report

    embedding_report(set_dirs=args.embeddings, out=out, n_pcs=args.pcs, n_clusters=args.clusters, seed=args.seed)

"""per layer, mean pairwise cosine similarity of each token's contextual embeddings (GROVER Fig. 5a)"""

from __future__ import annotations

import argparse
from pathlib import Path

from dnalm.cli.options import POSITIVE_INT, add_analysis_inputs, analysis_inputs


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_analysis_inputs(p, held_out=("--max-windows", 2000, "held-out windows"))
    p.add_argument("--per-token", type=POSITIVE_INT, default=5000, help="occurrences used per token")


def run(args: argparse.Namespace, out: Path) -> None:
    from dnalm.analysis.self_similarity import self_similarity

    self_similarity(out=out, per_token=args.per_token, max_windows=args.max_windows, **analysis_inputs(args))

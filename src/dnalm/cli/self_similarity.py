"""per layer, mean pairwise cosine similarity of each token's contextual embeddings (GROVER Fig. 5a)"""

from __future__ import annotations

import argparse
from pathlib import Path

from dnalm.cli.options import POSITIVE_INT, add_analysis_inputs

MODEL = True


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_analysis_inputs(p)
    p.add_argument("--per-token", type=POSITIVE_INT, default=5000, help="occurrences used per token")
    p.add_argument("--max-windows", type=POSITIVE_INT, default=2000, help="held-out windows read")


def run(args: argparse.Namespace, out: Path) -> None:
    from dnalm.analysis.self_similarity import self_similarity
    from dnalm.pretraining.windows import Windows

    self_similarity(model_dir=args.model, tokenized_dir=args.tokenized,
                    windows_file=Windows(args.windows).path("test"),
                    out=out, per_token=args.per_token, max_windows=args.max_windows, batch_size=args.batch_size,
                    seed=args.seed)

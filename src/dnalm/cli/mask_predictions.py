"""predictions at masked positions: rank of the true token, accuracy by position in the mask"""

from __future__ import annotations

import argparse
from pathlib import Path

from dnalm.cli.options import POSITIVE_INT, add_analysis_inputs

MODEL = True


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_analysis_inputs(p)
    p.add_argument("--span", type=POSITIVE_INT, default=6, help="contiguous tokens masked (default: 6, DNABERT)")
    p.add_argument("--samples", type=POSITIVE_INT, default=2000, help="held-out windows masked")


def run(args: argparse.Namespace, out: Path) -> None:
    from dnalm.analysis.mask_predictions import mask_predictions
    from dnalm.pretraining.windows import Windows

    mask_predictions(model_dir=args.model, tokenized_dir=args.tokenized,
                     windows_file=Windows(args.windows).path("test"),
                     out=out, span=args.span, samples=args.samples, batch_size=args.batch_size, seed=args.seed)

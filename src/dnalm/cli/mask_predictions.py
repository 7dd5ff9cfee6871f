"""predictions at masked positions: rank of the true token, accuracy by position in the mask"""

from __future__ import annotations

import argparse
from pathlib import Path

from dnalm.cli.options import POSITIVE_INT, add_analysis_inputs, analysis_inputs


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_analysis_inputs(p, held_out=("--samples", 2000, "held-out windows masked"))
    p.add_argument("--span", type=POSITIVE_INT, default=6, help="contiguous tokens masked (default: 6, DNABERT)")


def run(args: argparse.Namespace, out: Path) -> None:
    from dnalm.analysis.mask_predictions import mask_predictions

    mask_predictions(out=out, span=args.span, samples=args.samples, **analysis_inputs(args))

"""the trained input embeddings of every token, with token characteristics (GROVER Fig. 4)"""

from __future__ import annotations

import argparse
from pathlib import Path

from dnalm.cli.options import add_model_inputs, model_name


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model_inputs(p)
    p.add_argument("--repeats", type=Path, help="repeat BED: adds each token's share of occurrences in repeats")
    p.add_argument("--name", help="name in reports (default: from --model)")


def run(args: argparse.Namespace, out: Path) -> None:
    from dnalm.analysis.token_embeddings import token_embeddings

    token_embeddings(model_dir=args.model, tokenized_dir=args.tokenized, out=out,
                     name=args.name or model_name(str(args.model)), repeats=args.repeats)

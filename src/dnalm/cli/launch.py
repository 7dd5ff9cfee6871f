"""start a training command on 1 process, N local processes or every node of a SLURM allocation
(srun + torchrun; standard library only)"""

from __future__ import annotations

import argparse
from pathlib import Path

# One set of flags with `python3 -m dnalm launch`, which bin/dnalm runs for `launch` on a bare host Python.
from dnalm.pretraining.launch import add_arguments  # noqa: F401

OUT = False


def run(args: argparse.Namespace, out: Path | None) -> int:
    from dnalm.cli import main
    from dnalm.pretraining.launch import from_args

    return from_args(args, here=main)

"""Logging and progress bars shared by every subcommand.

Logs go to stderr as `[dnalm <step>] LEVEL message`, which Nextflow keeps in `.command.err`. Progress bars
redraw in place on a terminal; in a batch job (no TTY) they print a line at most every 30 seconds so
cluster logs stay readable.
"""

from __future__ import annotations

import logging
import sys
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")
log = logging.getLogger("dnalm")


def setup_logging(step: str, verbose: bool = False) -> None:
    """Configure the `dnalm` logger for one subcommand run."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"[dnalm {step}] %(levelname)s %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG if verbose else logging.INFO)
    log.propagate = False


def progress(iterable: Iterable[T] | None = None, *, total: float | None = None, desc: str = "",
             unit: str = "it", unit_scale: bool = False) -> Iterator[T]:
    """A tqdm bar that suits both terminals and batch logs."""
    from tqdm import tqdm  # imported here: `dnalm launch` runs on a bare host Python

    tty = sys.stderr.isatty()
    return tqdm(iterable, total=total, desc=desc, unit=unit, unit_scale=unit_scale, file=sys.stderr,
                mininterval=0.5 if tty else 30.0, dynamic_ncols=tty, leave=tty)

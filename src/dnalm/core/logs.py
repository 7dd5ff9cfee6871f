"""Logging and progress bars shared by every subcommand.

Logs go to stderr as `[dnalm <step>] LEVEL message`, which Nextflow keeps in `.command.err`. Progress bars
redraw in place on a terminal; in a batch job (no TTY) they print a line at most every 30 seconds so
cluster logs stay readable.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import weakref
from typing import Any, Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
log = logging.getLogger("dnalm")
_bars: weakref.WeakSet = weakref.WeakSet()  # bars not closed yet: see close_progress


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
    bar = tqdm(iterable, total=total, desc=desc, unit=unit, unit_scale=unit_scale, file=sys.stderr,
               mininterval=0.5 if tty else 30.0, dynamic_ncols=tty, leave=tty)
    _bars.add(bar)
    return bar


def close_progress() -> None:
    """Close every bar still open, so that what is printed next (an error) starts on a line of its own.

    A step that fails leaves its bar open; the CLI calls this before it reports the error."""
    for bar in list(_bars):
        bar.close()


def run_logging_progress(what: str, func: Callable[..., T], *args: Any, every: float = 30.0,
                         done: Any = None, total: int = 0, unit: str = "") -> T:
    """`func(*args)` in a thread while a line is logged every `every` seconds: long calls into C (BPE
    training) still show in a batch log that the step is alive. A call that counts its work in `done[0]`
    (a one-element array it writes) gets `done` of `total` `unit` and the time left at the rate so far."""
    result: dict[str, Any] = {}

    def call() -> None:
        try:
            result["value"] = func(*args)
        except BaseException as exc:  # re-raised in the caller's thread
            result["error"] = exc

    began = time.perf_counter()
    worker = threading.Thread(target=call, name=what, daemon=True)
    worker.start()
    worker.join(every)
    while worker.is_alive():
        seconds = time.perf_counter() - began
        count = int(done[0]) if done is not None else 0
        if count:
            log.info("%s: %d of %d %s after %.0f s, about %.0f s left at this rate", what, count, total, unit,
                     seconds, seconds * (total - count) / count)
        else:
            log.info("%s: running for %.0f s", what, seconds)
        worker.join(every)
    if "error" in result:
        raise result["error"]
    return result["value"]

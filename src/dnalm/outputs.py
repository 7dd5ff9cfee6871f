"""Atomic outputs: a step's directory appears complete or not at all.

Nextflow's `-resume` and users alike trust that an output directory which exists is whole, so every
subcommand builds its `--out` directory under a hidden temporary sibling and renames it into place only
after the last file is written. A failure removes the temporary directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path
from typing import Any, Iterator

from dnalm.errors import InputError


@contextlib.contextmanager
def atomic_directory(out: Path) -> Iterator[Path]:
    """Yield a temporary directory that becomes `out` when the block finishes without error."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(f"--out {out}: already exists and is not empty; choose a new directory")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if out.exists():
        out.rmdir()
    os.replace(tmp, out)


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """Yield a temporary sibling that becomes `path` when the block finishes without error: state kept
    between runs (resume batches, fingerprint records) is then whole or absent, never truncated."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


def write_json(path: Path, data: Any) -> None:
    """Write indented, key-sorted JSON so reruns produce byte-identical files."""
    Path(path).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def write_tsv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    """Write a tidy tab-separated table; floats with 6 significant digits."""
    with open(path, "w") as fh:
        fh.write("\t".join(header) + "\n")
        for row in rows:
            fh.write("\t".join(_cell(v) for v in row) + "\n")


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)

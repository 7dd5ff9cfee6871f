"""BED and the other line-based track files: the one reader of their lines and of checked intervals.

Standard library only, so that checking a track or building the CLI's parser (which names the annotation
formats) imports no numpy; the numpy lookups on intervals are in `intervals`.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Iterator

from dnalm.core.errors import InputError

NOT_DATA = ("#", "track", "browser")


def data_lines(path: Path, flag: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, whitespace-separated fields) of each data line of a text file, gzip or not (by its
    content); blank, comment, `track` and `browser` lines are skipped. `flag` names the file in errors."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{flag} {path}: no such file")
    with open(path, "rb") as fh:
        opener = gzip.open if fh.read(2) == b"\x1f\x8b" else open
    try:
        with opener(path, "rt") as fh:
            for lineno, line in enumerate(fh, start=1):
                if line.strip() and not line.startswith(NOT_DATA):
                    yield lineno, line.split()
    except (UnicodeDecodeError, EOFError, OSError) as exc:
        raise InputError(f"{flag} {path}: not a readable text file ({exc})") from None


def read_bed(path: Path, flag: str) -> list[tuple[str, int, int]]:
    """The (contig, start, end) of every interval, checked: three columns, 0 <= start < end."""
    rows = []
    for lineno, f in data_lines(path, flag):
        try:
            contig, start, end = f[0], int(f[1]), int(f[2])
        except (IndexError, ValueError):
            raise InputError(f"{flag} {path}: line {lineno}: not BED (contig, start, end)") from None
        if not 0 <= start < end:
            raise InputError(f"{flag} {path}: line {lineno}: start must be < end and >= 0")
        rows.append((contig, start, end))
    return rows

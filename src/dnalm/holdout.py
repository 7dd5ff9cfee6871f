"""The holdout set: genome regions that pretraining never sees and next-k-mer data comes from.

`--holdout-contigs` (names or globs) and `--holdout-regions` (BED) mean the same in every step that
takes them; this module is the one place that turns them into intervals.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

import numpy as np

from dnalm.errors import InputError


WHOLE_CONTIG = 1 << 62


class Holdout:
    """Held-out intervals per contig, merged and sorted."""

    def __init__(self, intervals: dict[str, list[tuple[int, int]]]):
        self.intervals = {c: _merge(iv) for c, iv in intervals.items() if iv}

    @classmethod
    def from_args(cls, contigs: list[str], regions: Path | None, genome_contigs: set[str]) -> "Holdout":
        """Build from the CLI flags, checked against the contig names of the genome."""
        intervals: dict[str, list[tuple[int, int]]] = {}
        for pattern in contigs:
            hits = [c for c in genome_contigs if fnmatch.fnmatchcase(c, pattern)]
            if not hits:
                raise InputError(f"--holdout-contigs: no contig of the genome matches '{pattern}'")
            for c in hits:
                intervals.setdefault(c, []).append((0, WHOLE_CONTIG))
        if regions:
            for contig, start, end in _read_bed(Path(regions)):
                if contig not in genome_contigs:
                    raise InputError(f"--holdout-regions {regions}: contig '{contig}' is not in the genome")
                intervals.setdefault(contig, []).append((start, end))
        return cls(intervals)

    def segments(self, contig: str, start: int, end: int) -> list[tuple[int, int]]:
        """The held-out parts [a, b) of the span [start, end) on `contig`, in genome coordinates."""
        return [(max(s, start), min(e, end)) for s, e in self.intervals.get(contig, []) if s < end and e > start]

    def covered_bp(self, runs: list[tuple[str, int, int]]) -> int:
        """Held-out bases inside the (contig, start, end) runs: whole contigs count their real length."""
        return sum(b - a for contig, start, end in runs for a, b in self.segments(contig, start, end))

    def overlaps(self, contig: str, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Boolean mask: which [start, end) spans on `contig` touch a held-out interval."""
        intervals = np.array(self.intervals.get(contig, []), dtype=np.int64).reshape(-1, 2)
        # Intervals are disjoint and sorted: the first one ending after `start` is the only candidate.
        i = np.searchsorted(intervals[:, 1], starts, side="right")
        found = i < len(intervals)
        hit = np.zeros(len(starts), dtype=bool)
        hit[found] = intervals[i[found], 0] < np.asarray(ends)[found]
        return hit


def _merge(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for s, e in sorted(intervals):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def _read_bed(path: Path) -> list[tuple[str, int, int]]:
    if not path.is_file():
        raise InputError(f"--holdout-regions {path}: no such file")
    rows = []
    with open(path) as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            f = line.rstrip("\n").split("\t")
            try:
                contig, start, end = f[0], int(f[1]), int(f[2])
            except (IndexError, ValueError):
                raise InputError(f"--holdout-regions {path}: line {lineno}: not BED (contig, start, end)") from None
            if not 0 <= start < end:
                raise InputError(f"--holdout-regions {path}: line {lineno}: start must be < end and >= 0")
            rows.append((contig, start, end))
    return rows

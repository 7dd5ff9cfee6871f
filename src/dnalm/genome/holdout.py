"""The holdout set: genome regions that pretraining never sees and next-k-mer data comes from.

`--holdout-contigs` (names or globs) and `--holdout-regions` (BED) mean the same in every step that
takes them; this module is the one place that turns them into intervals.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

import numpy as np

from dnalm.core.errors import InputError
from dnalm.genome.bed import read_bed
from dnalm.genome.intervals import NO_INTERVALS, merge, touches

WHOLE_CONTIG = 1 << 62


class Holdout:
    """Held-out intervals per contig, merged and sorted."""

    def __init__(self, intervals: dict[str, list[tuple[int, int]]]):
        self.intervals = {c: merge(*np.array(iv, dtype=np.int64).T) for c, iv in intervals.items() if iv}

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
            for contig, start, end in read_bed(Path(regions), "--holdout-regions"):
                if contig not in genome_contigs:
                    raise InputError(f"--holdout-regions {regions}: contig '{contig}' is not in the genome")
                intervals.setdefault(contig, []).append((start, end))
        return cls(intervals)

    def segments(self, contig: str, start: int, end: int) -> list[tuple[int, int]]:
        """The held-out parts [a, b) of the span [start, end) on `contig`, in genome coordinates."""
        return [(max(s, start), min(e, end)) for s, e in self.intervals.get(contig, NO_INTERVALS).tolist()
                if s < end and e > start]

    def covered_bp(self, runs: list[tuple[str, int, int]]) -> int:
        """Held-out bases inside the (contig, start, end) runs: whole contigs count their real length."""
        return sum(b - a for contig, start, end in runs for a, b in self.segments(contig, start, end))

    def overlaps(self, contig: str, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Boolean mask: which [start, end) spans on `contig` touch a held-out interval."""
        return touches(self.intervals.get(contig, NO_INTERVALS), starts, ends)


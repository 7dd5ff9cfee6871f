"""Genome intervals in numpy: merging, and the lookups every stage makes on intervals.

Held-out regions, repeats, chromHMM states, genes and genome windows are all intervals per contig, read
from BED by `bed`. "Merged" intervals are an (n, 2) int64 array per contig, sorted and disjoint, which is
what the lookups below (contains, touches, covered) take; `window_overlaps` measures windows against tracks.
"""

from __future__ import annotations

from array import array
from pathlib import Path

import numpy as np

from dnalm.core.errors import InputError
from dnalm.genome.bed import data_lines, read_bed

NO_INTERVALS = np.zeros((0, 2), dtype=np.int64)


def merge(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Sorted, disjoint (start, end) rows covering the same bases as the intervals; touching ones join."""
    starts, ends = np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)
    if not len(starts):
        return NO_INTERVALS
    order = np.lexsort((ends, starts))
    starts, reach = starts[order], np.maximum.accumulate(ends[order])
    first = np.concatenate([[True], starts[1:] > reach[:-1]])
    last = np.concatenate([np.flatnonzero(first)[1:] - 1, [len(starts) - 1]])
    return np.stack([starts[first], reach[last]], axis=1)


def read_merged(path: Path, flag: str) -> dict[str, np.ndarray]:
    """A BED file's intervals, merged per contig."""
    per: dict[str, list[tuple[int, int]]] = {}
    for contig, start, end in read_bed(path, flag):
        per.setdefault(contig, []).append((start, end))
    return {contig: merge(*np.array(pairs, dtype=np.int64).T) for contig, pairs in per.items()}


def contains(merged: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Which positions fall inside one of the merged intervals."""
    if len(merged) == 0:
        return np.zeros(len(positions), dtype=bool)
    i = np.searchsorted(merged[:, 0], positions, side="right") - 1
    ok = i >= 0
    hit = np.zeros(len(positions), dtype=bool)
    hit[ok] = positions[ok] < merged[i[ok], 1]
    return hit


def touches(merged: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Which [start, end) spans share a base with one of the merged intervals."""
    # The first interval ending after `start` is the only candidate: the intervals are sorted and disjoint.
    i = np.searchsorted(merged[:, 1], starts, side="right")
    found = i < len(merged)
    hit = np.zeros(len(starts), dtype=bool)
    hit[found] = merged[i[found], 0] < np.asarray(ends)[found]
    return hit


def covered(merged: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Bases of each [lo, hi) inside the merged intervals."""
    if not len(merged):
        return np.zeros(len(lo))
    cum = np.concatenate([[0], np.cumsum(merged[:, 1] - merged[:, 0])])

    def below(x: np.ndarray) -> np.ndarray:  # covered bases in [0, x): whole intervals, less the part past x
        k = np.searchsorted(merged[:, 0], x, side="right")
        return cum[k] - np.where(k > 0, np.maximum(merged[np.maximum(k - 1, 0), 1] - x, 0), 0)

    return below(hi) - below(lo)


class BedTable:
    """A BED file as numpy columns: contig codes (shared through `contigs`), starts, ends, name codes (4th
    column) and strands (6th: 1 for +, 2 for -, 0 otherwise). Nothing per interval is kept as a Python
    object, so a genome's repeats (millions of lines) take arrays."""

    def __init__(self, path: Path, flag: str, contigs: dict[str, int]):
        self.names: dict[str, int] = {}
        columns = [array("q") for _ in range(5)]
        for lineno, f in data_lines(path, flag):
            try:
                start, end = int(f[1]), int(f[2])
            except (IndexError, ValueError):
                raise InputError(f"{flag} {path}: line {lineno}: not BED (contig, start, end)") from None
            name = self.names.setdefault(f[3], len(self.names)) if len(f) > 3 else -1
            strand = {"+": 1, "-": 2}.get(f[5], 0) if len(f) > 5 else 0
            for column, value in zip(columns, (contigs.setdefault(f[0], len(contigs)), start, end, name, strand)):
                column.append(value)
        self.contig, self.start, self.end, self.name, self.strand = (
            np.frombuffer(c, dtype=np.int64) if len(c) else np.zeros(0, np.int64) for c in columns)

    def merged(self, code: int) -> np.ndarray:
        """The merged intervals of one contig (by code)."""
        on = self.contig == code
        return merge(self.start[on], self.end[on])


def window_overlaps(bed: Path, tracks: list[Path]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per track, per window of `bed` (windows do not overlap each other, as `iter_windows` writes them):
    the share of its bases in the track, the track's dominant name (4th column: most bases; ties to the
    name first in the file) and the strand(s) of the intervals it meets (6th column: +, -, both, none). In
    numpy, so millions of windows take arrays, not a Python object each; the windows are read once."""
    contigs: dict[str, int] = {}
    windows = BedTable(bed, "windows", contigs)
    return [_track_overlaps(windows, contigs, track) for track in tracks]


def _track_overlaps(windows: BedTable, contigs: dict[str, int],
                    track: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    intervals = BedTable(track, "--tracks", contigs)
    n, n_names = len(windows.start), len(intervals.names)
    share = np.zeros(n)
    best = np.full(n, -1)
    strands = np.zeros(n, dtype=np.int64)
    for code in contigs.values():
        w = np.flatnonzero(windows.contig == code)
        if not len(w):
            continue
        w = w[np.argsort(windows.start[w], kind="stable")]
        t = np.flatnonzero(intervals.contig == code)
        ws, we, ts, te = windows.start[w], windows.end[w], intervals.start[t], intervals.end[t]
        share[w] = covered(intervals.merged(code), ws, we)
        first = np.searchsorted(we, ts, side="right")     # the windows each interval meets: first..last
        count = np.maximum(np.searchsorted(ws, te, side="left") - first, 0)
        interval = np.repeat(np.arange(len(t)), count)
        window = np.repeat(first, count) + np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
        bases = np.minimum(we[window], te[interval]) - np.maximum(ws[window], ts[interval])
        met = bases > 0
        window, bases, name = window[met], bases[met], intervals.name[t][interval[met]]
        np.bitwise_or.at(strands, w[window], intervals.strand[t][interval[met]])
        named = name >= 0
        if named.any():
            keys, total = np.unique(window[named] * n_names + name[named], return_inverse=True)
            total = np.bincount(total, weights=bases[named])
            order = np.lexsort((keys % n_names, -total, keys // n_names))
            top = order[np.concatenate([[True], np.diff(keys[order] // n_names) > 0])]
            best[w[keys[top] // n_names]] = keys[top] % n_names
    names = np.array(list(intervals.names) + ["none"], dtype=object)
    dominant = names[np.where(best >= 0, best, n_names)]
    strand = np.array(["none", "+", "-", "both"], dtype=object)[strands]
    return share / (windows.end - windows.start), dominant, strand

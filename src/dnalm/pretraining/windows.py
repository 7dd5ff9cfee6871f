"""Pretraining windows over the tokenized genome, as GROVER sampled them.

Each run is tiled left to right with windows whose length is 510 tokens with probability 0.5 and
otherwise uniform in 20..510, so the model sees both full-length and short contexts. The last piece of a
run is kept (shorter than drawn) when it still has `min_len` tokens. Windows never touch the holdout set.
Windows are rows (run, first token, length) into the flat token array; nothing is re-tokenized.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dnalm.core import mqc
from dnalm.core.errors import InputError
from dnalm.core.logs import log, progress
from dnalm.core.outputs import write_json
from dnalm.genome.holdout import Holdout
from dnalm.vocab.tokenized import SPAN_BLOCK, TokenizedGenome

COLUMNS = ("run", "first_token", "length")


class Windows:
    """A make-windows directory, the one place that knows its layout: per split (train, test) a `.npy` of
    rows (run, first token, length) into the tokenized genome; windows.bed and windows.json beside them."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, split: str) -> Path:
        return self.root / f"{split}.npy"

    def rows(self, split: str) -> np.ndarray:
        return read_rows(self.path(split))


def read_rows(path: Path) -> np.ndarray:
    """The rows of one split's file, checked to be windows."""
    try:
        rows = np.load(path)
    except OSError as exc:
        raise InputError(f"{path}: cannot read windows ({exc})") from None
    if rows.ndim != 2 or rows.shape[1] != len(COLUMNS):
        raise InputError(f"{path}: not a windows file (rows of run, first token, length)")
    return rows


def draw_lengths(rng: np.random.Generator, n: int, max_len: int = 510, min_len: int = 20,
                 p_max: float = 0.5) -> np.ndarray:
    """`n` window lengths: `max_len` with probability `p_max`, else uniform over min_len..max_len."""
    uniform = rng.integers(min_len, max_len + 1, size=n)
    return np.where(rng.random(n) < p_max, max_len, uniform)


def tile(rng: np.random.Generator, n_tokens: int, max_len: int, min_len: int, p_max: float) -> np.ndarray:
    """(offset, length) rows tiling `n_tokens` tokens without overlap."""
    expected = max(int(n_tokens / ((max_len + min_len) / 2 * (1 - p_max) + max_len * p_max)) + 8, 8)
    lengths = draw_lengths(rng, expected, max_len, min_len, p_max)
    while lengths.sum() < n_tokens:
        lengths = np.concatenate([lengths, draw_lengths(rng, expected, max_len, min_len, p_max)])
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    keep = offsets < n_tokens
    offsets, lengths = offsets[keep], lengths[keep]
    lengths[-1] = min(lengths[-1], n_tokens - offsets[-1])
    if lengths[-1] < min_len:
        offsets, lengths = offsets[:-1], lengths[:-1]
    return np.stack([offsets, lengths], axis=1)


def _free_segments(genome: TokenizedGenome, run: int, contig: str, start: int, holdout: Holdout,
                   block: int) -> tuple[np.ndarray, int]:
    """(start, end) token indices of the maximal stretches of run `run` outside the holdout set, and the
    number of tokens held out; one block of tokens at a time."""
    edges, held, was_blocked = [], 0, 1
    for lo, _ids, starts, ends in genome.run_spans(run, block):
        blocked = holdout.overlaps(contig, start + starts, start + ends).astype(np.int8)
        held += int(blocked.sum())
        change = np.diff(np.concatenate([[was_blocked], blocked]))  # -1: a free stretch starts, 1: it ends
        edges.append(lo + np.flatnonzero(change))
        was_blocked = blocked[-1]
    tail = [] if was_blocked else [genome.runs[run][5]]  # a stretch still free at the end of the run
    edges = np.concatenate([np.zeros(0, dtype=np.int64), *edges, tail]).astype(np.int64)
    return edges.reshape(-1, 2), held


def _bed_spans(genome: TokenizedGenome, run: int, first: np.ndarray, last: np.ndarray,
               block: int) -> tuple[np.ndarray, np.ndarray]:
    """bp (from the run start) where the tokens `first` start and the tokens `last` end (both sorted)."""
    out_start, out_end = np.empty(len(first), dtype=np.int64), np.empty(len(last), dtype=np.int64)
    for lo, ids, starts, ends in genome.run_spans(run, block):
        hi = lo + len(ids)
        a, b = np.searchsorted(first, [lo, hi])
        out_start[a:b] = starts[first[a:b] - lo]
        a, b = np.searchsorted(last, [lo, hi])
        out_end[a:b] = ends[last[a:b] - lo]
    return out_start, out_end


def _check_both_splits(tokenized_dir: Path, train: int, test: int, held_tokens: int) -> None:
    """Pretraining needs training windows and held-out test windows: a set without either would look
    complete and fail (or silently evaluate nothing) steps later."""
    if train and test:
        return
    raise InputError(f"--tokenized {tokenized_dir}: {train} training and {test} test windows outside the holdout "
                     f"set ({held_tokens} tokens held out); pretraining needs both: hold out less "
                     "(--holdout-contigs, --holdout-regions) or change --test-fraction")


def _write_bed(path: Path, contigs: dict[int, str], rows: np.ndarray, is_test: np.ndarray,
               chunk: int = 100_000) -> None:
    """windows.bed: contig, start, end, w<i>, length, split; written `chunk` windows at a time."""
    split = np.where(is_test, "test", "train")
    with open(path, "w") as fh:
        for lo in range(0, len(rows), chunk):
            part = zip(rows[lo:lo + chunk].tolist(), split[lo:lo + chunk].tolist())
            fh.writelines(f"{contigs[run]}\t{s}\t{e}\tw{lo + i}\t{length}\t{kind}\n"
                          for i, ((run, _, length, s, e), kind) in enumerate(part))


def make_windows(tokenized_dir: Path, out: Path, *, holdout_contigs: list[str], holdout_regions: Path | None,
                 test_fraction: float, seed: int, max_len: int, min_len: int, p_max: float,
                 block: int = SPAN_BLOCK) -> dict:
    """Tile the tokenized genome outside the holdout set and split windows 80/20 into train/test.

    Windows are numpy rows and each run is read `block` tokens at a time, so memory grows with the
    number of windows (40 bytes each), not with the longest chromosome."""
    if min_len > max_len:
        raise InputError(f"--min-len {min_len}: longer than --max-len {max_len}")
    genome = TokenizedGenome.open(tokenized_dir)
    holdout = Holdout.from_args(holdout_contigs, holdout_regions, {r[1] for r in genome.runs})
    rng = np.random.default_rng(seed)
    parts, held_tokens = [], 0
    for run, contig, start, _end, first, _n in progress(genome.runs, desc="windows", unit="run"):
        free, held = _free_segments(genome, run, contig, start, holdout, block)
        held_tokens += held
        tiles = [tile(rng, seg_end - seg_start, max_len, min_len, p_max) + [seg_start, 0]
                 for seg_start, seg_end in free.tolist()]
        tiles = np.concatenate(tiles) if tiles else np.zeros((0, 2), dtype=np.int64)
        bed_start, bed_end = _bed_spans(genome, run, tiles[:, 0], tiles[:, 0] + tiles[:, 1] - 1, block)
        parts.append(np.column_stack([np.full(len(tiles), run), first + tiles[:, 0], tiles[:, 1],
                                      start + bed_start, start + bed_end]))
    rows = np.concatenate(parts) if parts else np.zeros((0, 5), dtype=np.int64)
    windows = np.ascontiguousarray(rows[:, :3])
    is_test = np.zeros(len(windows), dtype=bool)
    is_test[rng.permutation(len(windows))[: round(test_fraction * len(windows))]] = True
    _check_both_splits(tokenized_dir, int((~is_test).sum()), int(is_test.sum()), held_tokens)
    np.save(Windows(out).path("train"), windows[~is_test])
    np.save(Windows(out).path("test"), windows[is_test])
    _write_bed(out / "windows.bed", {r[0]: r[1] for r in genome.runs}, rows, is_test)
    lengths = windows[:, 2]
    summary = {"vocabulary": genome.vocab.name, "windows": len(windows), "train": int((~is_test).sum()),
               "test": int(is_test.sum()), "tokens_in_windows": int(lengths.sum()),
               "tokens_held_out": held_tokens, "holdout_bp": holdout.covered_bp([r[1:4] for r in genome.runs]),
               "share_max_len": float((lengths == max_len).mean()) if len(lengths) else 0.0,
               "mean_length": float(lengths.mean()) if len(lengths) else 0.0,
               "max_len": max_len, "min_len": min_len, "p_max": p_max, "seed": seed,
               "test_fraction": test_fraction}
    write_json(out / "windows.json", summary)
    hist = np.bincount(lengths, minlength=max_len + 1)
    mqc.write_plot(out / "windows_lengths_mqc.yaml", "dnalm_window_lengths", "Window lengths",
                   "Number of pretraining windows of each length (tokens).", "linegraph",
                   {genome.vocab.name: {int(x): int(hist[x]) for x in range(min_len, max_len + 1)}},
                   xlab="tokens", ylab="windows")
    log.info("%s: %d windows (%d train, %d test), %d tokens held out", genome.vocab.name, len(windows),
             summary["train"], summary["test"], held_tokens)
    return summary

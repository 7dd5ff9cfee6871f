"""Pretraining windows over the tokenized genome, as GROVER sampled them.

Each run is tiled left to right with windows whose length is 510 tokens with probability 0.5 and
otherwise uniform in 20..510, so the model sees both full-length and short contexts. The last piece of a
run is kept (shorter than drawn) when it still has `min_len` tokens. Windows never touch the holdout set.
Windows are rows (run, first token, length) into the flat token array; nothing is re-tokenized.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dnalm import mqc
from dnalm.errors import InputError
from dnalm.holdout import Holdout
from dnalm.logs import log
from dnalm.outputs import write_json
from dnalm.tokenized import TokenizedGenome

COLUMNS = ("run", "first_token", "length")


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


def _free_segments(blocked: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of the maximal stretches of tokens that are not blocked."""
    edges = np.diff(np.concatenate([[1], blocked.astype(np.int8), [1]]))
    return list(zip(np.flatnonzero(edges == -1).tolist(), np.flatnonzero(edges == 1).tolist()))


def _check_both_splits(tokenized_dir: Path, train: int, test: int, held_tokens: int) -> None:
    """Pretraining needs training windows and held-out test windows: a set without either would look
    complete and fail (or silently evaluate nothing) steps later."""
    if train and test:
        return
    raise InputError(f"--tokenized {tokenized_dir}: {train} training and {test} test windows outside the holdout "
                     f"set ({held_tokens} tokens held out); pretraining needs both: hold out less "
                     "(--holdout-contigs, --holdout-regions) or change --test-fraction")


def make_windows(tokenized_dir: Path, out: Path, holdout_contigs: list[str], holdout_regions: Path | None,
                 test_fraction: float, seed: int, max_len: int = 510, min_len: int = 20,
                 p_max: float = 0.5) -> dict:
    """Tile the tokenized genome outside the holdout set and split windows 80/20 into train/test."""
    if min_len > max_len:
        raise InputError(f"--min-len {min_len}: longer than --max-len {max_len}")
    genome = TokenizedGenome.open(tokenized_dir)
    holdout = Holdout.from_args(holdout_contigs, holdout_regions, {r[1] for r in genome.runs})
    rng = np.random.default_rng(seed)
    rows, bed, held_tokens = [], [], 0
    for run, contig, start, _end, first, _n in genome.runs:
        ids = genome.run_tokens(run)
        tok_starts, tok_ends = genome.vocab.token_spans(ids)
        blocked = holdout.overlaps(contig, start + tok_starts, start + tok_ends)
        held_tokens += int(blocked.sum())
        for seg_start, seg_end in _free_segments(blocked):
            for offset, length in tile(rng, seg_end - seg_start, max_len, min_len, p_max).tolist():
                lo = seg_start + offset
                rows.append((run, first + lo, length))
                bed.append((contig, start + int(tok_starts[lo]), start + int(tok_ends[lo + length - 1])))
    windows = np.array(rows, dtype=np.int64).reshape(-1, 3)
    is_test = np.zeros(len(windows), dtype=bool)
    is_test[rng.permutation(len(windows))[: round(test_fraction * len(windows))]] = True
    _check_both_splits(tokenized_dir, int((~is_test).sum()), int(is_test.sum()), held_tokens)
    np.save(out / "train.npy", windows[~is_test])
    np.save(out / "test.npy", windows[is_test])
    with open(out / "windows.bed", "w") as fh:
        for i, (contig, s, e) in enumerate(bed):
            fh.write(f"{contig}\t{s}\t{e}\tw{i}\t{windows[i, 2]}\t{'test' if is_test[i] else 'train'}\n")
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

"""Next-k-mer data: GROVER's model-agnostic benchmark of how much sequence context a model carries.

The held-out sequence (the same set that `make-windows` kept out of pretraining) is cut into 510 nt
pieces. Of each piece the first 50 nt are the input and the next k nt the label (4^k classes), for every
k up to `max_k`, so one sample file serves every k. A `stride` below 510 starts pieces more often, for
small held-out regions; samples then overlap, and a `block` split keeps neighbours on one side.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dnalm.core.errors import InputError
from dnalm.core.logs import log
from dnalm.core.outputs import write_json, write_tsv
from dnalm.genome.holdout import Holdout
from dnalm.genome.prepare import iter_runs, read_runs_bed

SPLITS = ("random", "block")
COLUMNS = ["contig", "start", "input", "next"]
SUMMARY = "nextkmer_data.json"


def candidate_starts(runs: list[tuple[str, int, int]], holdout: Holdout, stride: int,
                     need: int) -> tuple[np.ndarray, np.ndarray]:
    """(run index, start) of every piece whose first `need` nt lie in one N-free, held-out stretch."""
    found_runs, found_starts = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
    for index, (contig, start, end) in enumerate(runs):
        for a, b in holdout.segments(contig, start, end):
            if b - a >= need:
                pos = np.arange(a, b - need + 1, stride, dtype=np.int64)
                found_runs.append(np.full(len(pos), index, dtype=np.int64))
                found_starts.append(pos)
    return np.concatenate(found_runs), np.concatenate(found_starts)


def nextkmer_data(genome_dir: Path, out: Path, *, holdout_contigs: list[str], holdout_regions: Path | None,
                  samples: int, stride: int, context: int, max_k: int, split: str, test_fraction: float,
                  seed: int) -> dict:
    """Cut next-k-mer samples from the holdout set and write train.tsv / test.tsv in genome order."""
    if not 1 <= max_k <= 8:
        raise InputError(f"--max-k {max_k}: must be between 1 and 8")
    runs = read_runs_bed(genome_dir)
    holdout = Holdout.from_args(holdout_contigs, holdout_regions, {c for c, _, _ in runs})
    held_bp = holdout.covered_bp(runs)
    if not holdout.intervals:
        raise InputError("no holdout set: give --holdout-contigs or --holdout-regions (e.g. holdout_default.bed)")
    need = context + max_k
    run_ids, starts = candidate_starts(runs, holdout, stride, need)
    if len(starts) < 2:
        raise InputError(f"the holdout set ({held_bp} bp) yields {len(starts)} pieces of {need} nt at "
                         f"--stride {stride}: hold out more sequence or lower --stride")
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.choice(len(starts), size=samples, replace=False)) if len(starts) > samples else \
        np.arange(len(starts))
    is_test = _test_mask(len(keep), split, test_fraction, rng)
    rows: dict[bool, list[list]] = {False: [], True: []}
    by_run: dict[int, list[int]] = {}
    for j, i in enumerate(keep.tolist()):
        by_run.setdefault(int(run_ids[i]), []).append(j)
    for run in iter_runs(genome_dir):
        for j in by_run.get(run.index, []):
            s = int(starts[keep[j]])
            piece = run.seq[s - run.start: s - run.start + need].decode()
            rows[bool(is_test[j])].append([run.contig, s, piece[:context], piece[context:]])
    write_tsv(out / "train.tsv", COLUMNS, rows[False])
    write_tsv(out / "test.tsv", COLUMNS, rows[True])
    with open(out / "samples.bed", "w") as fh:  # for genome browsers and overlap checks
        for name in (False, True):
            for contig, s, _, _ in rows[name]:
                fh.write(f"{contig}\t{s}\t{s + need}\t{'test' if name else 'train'}\n")
    summary = {"samples": len(keep), "train": len(rows[False]), "test": len(rows[True]),
               "candidates": int(len(starts)), "holdout_bp": held_bp, "stride": stride, "context": context,
               "max_k": max_k, "split": split, "test_fraction": test_fraction, "seed": seed}
    write_json(out / SUMMARY, summary)
    if split == "random" and stride < need:
        log.warning("--stride %d < %d nt: neighbouring samples overlap, and a random split lets test samples "
                    "share sequence with training samples; use --split block", stride, need)
    log.info("%d next-k-mer samples (%d train, %d test) from %d pieces of the %d bp holdout set", len(keep),
             summary["train"], summary["test"], len(starts), held_bp)
    return summary


def _test_mask(n: int, split: str, test_fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Which of `n` samples (in genome order) are test: a seeded random share, or the last block."""
    n_test = min(max(round(test_fraction * n), 1), n - 1)
    mask = np.zeros(n, dtype=bool)
    if split == "block":
        mask[n - n_test:] = True
    else:
        mask[rng.permutation(n)[:n_test]] = True
    return mask


def kmer_class(kmers: list[str]) -> np.ndarray:
    """Class index of each k-mer: its base-4 value with A, C, G, T = 0, 1, 2, 3 (AA..A = 0)."""
    code = {"A": 0, "C": 1, "G": 2, "T": 3}
    out = np.zeros(len(kmers), dtype=np.int64)
    for i, kmer in enumerate(kmers):
        value = 0
        for base in kmer:
            value = value * 4 + code[base]
        out[i] = value
    return out

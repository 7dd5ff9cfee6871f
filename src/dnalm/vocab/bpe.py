"""Byte-pair-encoding vocabularies: one training run, many vocabularies.

BPE learns merges greedily, so the first n merges of a long run are exactly the merges of an n-merge
run (STACK_NOTES, checked in tests). A sweep over merge cycles (GROVER: 100..5,000) therefore trains
once to max(cycles) and truncates the merge list for each requested count.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer, models

from dnalm.core.errors import InputError
from dnalm.core.logs import log, run_logging_progress
from dnalm.core.outputs import write_json, write_tsv
from dnalm.genome.prepare import iter_runs, read_runs_bed
from dnalm.vocab import _bpe
from dnalm.vocab.vocabulary import SPECIAL_TOKENS, save_vocabulary

ALPHABET = ["A", "C", "G", "T"]


@dataclass
class TrainingChunks:
    """Chunks of the genome laid end to end as token ids (`sym`), with their starts and lengths."""

    sym: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray

    @property
    def bp(self) -> int:
        return int(self.lengths.sum())

    def strings(self) -> list[str]:
        """The chunks as DNA strings: the input of HF's trainer, for comparisons."""
        letters = np.frombuffer(b"?????ACGT", dtype=np.uint8)[self.sym].tobytes().decode()
        return [letters[s:s + n] for s, n in zip(self.starts.tolist(), self.lengths.tolist())]


def training_chunks(genome_dir: Path, chunk_bp: int, sample_bp: int, seed: int) -> TrainingChunks:
    """Cut every N-free run into chunks of `chunk_bp` (no merge crosses a chunk edge).

    With `sample_bp` > 0, a seeded random subset of chunks totalling at least `sample_bp` is kept,
    in genome order, so the result does not depend on the order chunks were drawn. Memory: 2 bytes
    per base kept, built run by run.
    """
    runs = read_runs_bed(genome_dir)
    run_len = np.array([e - s for _, s, e in runs], dtype=np.int64)
    per_run = (run_len + chunk_bp - 1) // chunk_bp
    run_of = np.repeat(np.arange(len(runs)), per_run)
    offset = (np.arange(per_run.sum()) - np.repeat(np.cumsum(per_run) - per_run, per_run)) * chunk_bp
    lengths = np.minimum(chunk_bp, run_len[run_of] - offset)
    keep = lengths >= 2
    if sample_bp and sample_bp < lengths[keep].sum():
        order = np.random.default_rng(seed).permutation(np.flatnonzero(keep))
        take = order[: int(np.searchsorted(np.cumsum(lengths[order]), sample_bp)) + 1]
        keep = np.zeros(len(lengths), dtype=bool)
        keep[take] = True
    run_of, offset, lengths = run_of[keep], offset[keep], lengths[keep]
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    sym = np.empty(int(lengths.sum()), dtype=np.uint16)
    first = np.searchsorted(run_of, np.arange(len(runs)))
    last = np.searchsorted(run_of, np.arange(len(runs)), side="right")
    for run in iter_runs(genome_dir):
        lo, hi = first[run.index], last[run.index]
        if lo == hi:
            continue
        codes = _SYMBOL[np.frombuffer(run.seq, dtype=np.uint8)]
        if hi - lo == per_run[run.index]:  # every chunk of the run: copy it whole, minus a dropped tail
            sym[starts[lo]:starts[lo] + lengths[lo:hi].sum()] = codes[: lengths[lo:hi].sum()]
            continue
        for k in range(lo, hi):
            sym[starts[k]:starts[k] + lengths[k]] = codes[offset[k]:offset[k] + lengths[k]]
    return TrainingChunks(sym=sym, starts=starts, lengths=lengths.astype(np.int32))


_SYMBOL = np.zeros(256, dtype=np.uint16)
_SYMBOL[list(b"ACGT")] = [len(SPECIAL_TOKENS) + i for i in range(4)]


def learn_merges(chunks: TrainingChunks, merges: int, threads: int = 1) -> list[tuple[int, int, int]]:
    """(left, right, new) token ids of `merges` merges, exactly as HF's BpeTrainer learns them.

    dnalm.vocab._bpe (C) replaces HF's trainer at genome scale: same counts and tie-break, 2 bytes per base.
    `threads` each merge their share of the chunks; the merges do not depend on it. The chunks are
    merged in place.
    """
    done = np.zeros(1, dtype=np.int64)
    learned = run_logging_progress(f"training BPE to {merges} merges", _bpe.train, chunks.sym, chunks.starts,
                                   chunks.lengths, SPECIAL_TOKENS + ALPHABET, merges, threads, done,
                                   done=done, total=merges, unit="merges")
    if len(learned) < merges:
        raise InputError(f"--cycles {merges}: the training data allows only {len(learned)} merges")
    return learned


def merges_tokenizer(merges: list[tuple[int, int, int]]) -> Tokenizer:
    """The HF BPE tokenizer of learned merges (ids: specials, A, C, G, T, then new tokens in order)."""
    tokens = SPECIAL_TOKENS + ALPHABET
    pairs = []
    for left, right, new in merges:
        if new == len(tokens):
            tokens.append(tokens[left] + tokens[right])
        pairs.append((tokens[left], tokens[right]))
    tokenizer = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=pairs, unk_token="[UNK]"))
    tokenizer.add_special_tokens(SPECIAL_TOKENS)
    return tokenizer


def vocab_sweep(genome_dir: Path, out: Path, *, cycles: list[int], chunk_bp: int, sample_bp: int, seed: int,
                threads: int) -> dict:
    """Train once to max(cycles) merges and write one vocabulary directory `bpe_<n>` per cycle count."""
    chunks = training_chunks(genome_dir, chunk_bp, sample_bp, seed)
    bp, n_chunks = chunks.bp, len(chunks.lengths)
    log.info("training BPE to %d merges on %d chunks (%d bp), %d threads", max(cycles), n_chunks, bp, threads)
    t0 = time.perf_counter()
    learned = learn_merges(chunks, max(cycles), threads)
    seconds = time.perf_counter() - t0
    del chunks
    merges = json.loads(merges_tokenizer(learned).to_str())["model"]["merges"]
    log.info("learned %d merges in %.1f s; first merge %s", len(merges), seconds, "+".join(merges[0]))
    write_tsv(out / "merges.tsv", ["rank", "left", "right", "token"],
              [[i + 1, a, b, a + b] for i, (a, b) in enumerate(merges)])
    for n in sorted(cycles):  # the first n merges of the long run are the n-merge vocabulary
        save_vocabulary(merges_tokenizer(learned[:n]), out / f"bpe_{n}", name=f"bpe_{n}", kind="bpe", merges=n)
    summary = {"cycles": sorted(cycles), "chunk_bp": chunk_bp, "sample_bp": sample_bp, "seed": seed,
               "training_bp": bp, "chunks": n_chunks, "training_seconds": round(seconds, 3), "threads": threads,
               "vocabularies": [f"bpe_{n}" for n in sorted(cycles)]}
    write_json(out / "vocab_sweep.json", summary)
    return summary


"""Byte-pair-encoding vocabularies: one training run, many vocabularies.

BPE learns merges greedily, so the first n merges of a long run are exactly the merges of an n-merge
run (STACK_NOTES, checked in tests). A sweep over merge cycles (GROVER: 100..5,000) therefore trains
once to max(cycles) and truncates the merge list for each requested count.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
import numpy as np
from tokenizers import Tokenizer, models, trainers

from dnalm.errors import InputError
from dnalm.genome import iter_runs
from dnalm.logs import log
from dnalm.outputs import write_json, write_tsv
from dnalm.vocabulary import SPECIAL_TOKENS, save_vocabulary

ALPHABET = ["A", "C", "G", "T"]


def genome_chunks(genome_dir: Path, chunk_bp: int, sample_bp: int, seed: int) -> list[str]:
    """Cut every N-free run into chunks of `chunk_bp` (no merge crosses a chunk edge).

    With `sample_bp` > 0, a seeded random subset of chunks totalling at least `sample_bp` is kept,
    in genome order, so the result does not depend on the order chunks were drawn.
    """
    chunks = [run.seq[i:i + chunk_bp].decode() for run in iter_runs(genome_dir)
              for i in range(0, len(run.seq), chunk_bp)]
    chunks = [c for c in chunks if len(c) >= 2]
    if sample_bp and sample_bp < sum(map(len, chunks)):
        order = np.random.default_rng(seed).permutation(len(chunks))
        lengths = np.fromiter((len(chunks[i]) for i in order), dtype=np.int64, count=len(order))
        keep = np.sort(order[: int(np.searchsorted(np.cumsum(lengths), sample_bp)) + 1])
        chunks = [chunks[i] for i in keep]
    return chunks


def train_bpe(chunks: list[str], merges: int) -> Tokenizer:
    """Learn at least `merges` merges with HuggingFace's BpeTrainer (alphabet A, C, G, T)."""
    tokenizer = Tokenizer(models.BPE(unk_token="[UNK]"))
    trainer = trainers.BpeTrainer(vocab_size=len(SPECIAL_TOKENS) + len(ALPHABET) + merges,
                                  initial_alphabet=ALPHABET, special_tokens=SPECIAL_TOKENS,
                                  show_progress=False)
    tokenizer.train_from_iterator(iter(chunks), trainer, length=len(chunks))
    return tokenizer


def truncate(tokenizer: Tokenizer, n: int) -> Tokenizer:
    """The tokenizer of the first `n` merges: the merges' new tokens keep their order and ids."""
    spec = json.loads(tokenizer.to_str())
    model = spec["model"]
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in model["merges"]]
    if len(merges) < n:
        raise InputError(f"--cycles {n}: the training data allows only {len(merges)} merges")
    keep = SPECIAL_TOKENS + ALPHABET
    seen = set(keep)
    for left, right in merges[:n]:
        if left + right not in seen:
            seen.add(left + right)
            keep.append(left + right)
    model["vocab"] = {t: i for i, t in enumerate(keep)}
    model["merges"] = [list(m) for m in merges[:n]]
    spec["post_processor"] = None
    return Tokenizer.from_str(json.dumps(spec))


def vocab_sweep(genome_dir: Path, out: Path, cycles: list[int], chunk_bp: int, sample_bp: int,
                seed: int) -> dict:
    """Train once to max(cycles) merges and write one vocabulary directory `bpe_<n>` per cycle count."""
    chunks = genome_chunks(genome_dir, chunk_bp, sample_bp, seed)
    bp = sum(map(len, chunks))
    log.info("training BPE to %d merges on %d chunks (%d bp)", max(cycles), len(chunks), bp)
    t0 = time.perf_counter()
    full = train_bpe(chunks, max(cycles))
    seconds = time.perf_counter() - t0
    merges = json.loads(full.to_str())["model"]["merges"]
    log.info("learned %d merges in %.1f s; first merge %s", len(merges), seconds, "+".join(merges[0]))
    write_tsv(out / "merges.tsv", ["rank", "left", "right", "token"],
              [[i + 1, a, b, a + b] for i, (a, b) in enumerate(merges[: max(cycles)])])
    for n in sorted(cycles):
        save_vocabulary(truncate(full, n), out / f"bpe_{n}", name=f"bpe_{n}", kind="bpe", merges=n)
    summary = {"cycles": sorted(cycles), "chunk_bp": chunk_bp, "sample_bp": sample_bp, "seed": seed,
               "training_bp": bp, "chunks": len(chunks), "training_seconds": round(seconds, 3),
               "vocabularies": [f"bpe_{n}" for n in sorted(cycles)]}
    write_json(out / "vocab_sweep.json", summary)
    return summary


"""What the token embeddings learned (GROVER Fig. 4): trained input embeddings against a Word2Vec baseline.

An embedding set is a directory: `embeddings.npy` (one row per token id; NaN rows for tokens the source
never saw), `tokens.tsv` (the token characteristics below) and `embeddings.json` (what it is). Every
vocabulary id keeps its row, so sets of one vocabulary line up.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

from dnalm.core.errors import InputError
from dnalm.core.logs import log, progress
from dnalm.core.outputs import write_json, write_tsv
from dnalm.genome.intervals import NO_INTERVALS, contains, read_merged
from dnalm.pretraining.windows import Windows
from dnalm.vocab.tokenized import TokenizedGenome
from dnalm.vocab.vocabulary import SPECIAL_TOKENS

CHARACTERISTICS = ["length", "gc", "ag", "ac", "log10_frequency", "repeat_fraction"]


def token_characteristics(genome: TokenizedGenome, repeats: Path | None = None) -> list[dict[str, Any]]:
    """Per token id: sequence content, length, genome frequency and (with a repeat track) the share of its
    occurrences whose centre lies in a repeat."""
    vocab = genome.vocab
    counts = genome.token_counts.astype(float)
    in_repeats = np.zeros(len(vocab))
    if repeats:
        tracks = read_merged(repeats, "--repeats")
        for run, contig, start, _end, _first, _n in progress(genome.runs, desc="repeat overlap", unit="run"):
            track = tracks.get(contig, NO_INTERVALS)
            for _lo, ids, starts, ends in genome.run_spans(run):
                hit = contains(track, start + (starts + ends) // 2)
                in_repeats += np.bincount(ids, weights=hit, minlength=len(vocab))
    total = counts.sum()
    rows = []
    for i, token in enumerate(vocab.tokens):
        special = token in SPECIAL_TOKENS
        n = len(token) if not special else 0
        rows.append({"id": i, "token": token, "special": int(special), "length": n, "gc": _share(token, "GC", n),
                     "ag": _share(token, "AG", n), "ac": _share(token, "AC", n), "first": token[0] if n else "",
                     "count": int(counts[i]), "log10_frequency": float(np.log10(counts[i] / total)) if counts[i] else
                     float("nan"),
                     "repeat_fraction": float(in_repeats[i] / counts[i]) if repeats and counts[i] else float("nan")})
    return rows


def _share(token: str, letters: str, n: int) -> float:
    return sum(token.count(c) for c in letters) / n if n else float("nan")


def write_set(out: Path, name: str, kind: str, matrix: np.ndarray, genome: TokenizedGenome,
              repeats: Path | None, extra: dict[str, Any] | None = None) -> dict:
    """Write an embedding set: the matrix, the token characteristics, and what it is."""
    np.save(out / "embeddings.npy", matrix.astype(np.float32))
    rows = token_characteristics(genome, repeats)
    header = list(rows[0])
    write_tsv(out / "tokens.tsv", header, [[r[h] for h in header] for r in rows])
    info = {"name": name, "kind": kind, "vocabulary": genome.vocab.name, "vocab_kind": genome.vocab.kind,
            "tokens": len(rows), "dim": int(matrix.shape[1]), "repeats": bool(repeats), **(extra or {})}
    write_json(out / "embeddings.json", info)
    return info


def load_set(path: Path) -> tuple[dict[str, Any], np.ndarray, list[dict[str, str]]]:
    """An embedding set as `write_set` wrote it: (info, embeddings of the real tokens the source saw, their
    characteristics)."""
    path = Path(path)
    try:
        info = json.loads((path / "embeddings.json").read_text())
        matrix = np.load(path / "embeddings.npy")
        with open(path / "tokens.tsv") as fh:
            rows = list(csv.DictReader(fh, delimiter="\t"))
    except (OSError, ValueError) as exc:
        raise InputError(f"--embeddings {path}: not an embedding set ({exc})") from None
    keep = [i for i, r in enumerate(rows) if r["special"] == "0" and not np.isnan(matrix[i]).any()]
    return info, matrix[keep], [rows[i] for i in keep]


def token_embeddings(model_dir: Path, tokenized_dir: Path, out: Path, name: str, *, repeats: Path | None) -> dict:
    """The trained input embeddings (`word_embeddings`) of every token of a dnalm model."""
    from transformers import AutoModel

    genome = TokenizedGenome.open(tokenized_dir)
    genome.check_model(model_dir)
    model = AutoModel.from_pretrained(model_dir)
    matrix = model.get_input_embeddings().weight.detach().float().numpy()
    log.info("%s: %d token embeddings of %d dimensions", name, *matrix.shape)
    return write_set(out, name, "model", matrix, genome, repeats)


def word2vec(tokenized_dir: Path, windows_dir: Path, out: Path, name: str, *, sentences: int, vector_size: int,
             window: int, min_count: int, epochs: int, workers: int, seed: int, repeats: Path | None) -> dict:
    """gensim Word2Vec CBOW over a seeded sample of training windows: the static baseline (GROVER Fig. 4).

    With one worker the vectors are the same on every run for a seed; more workers race (gensim's threads
    share the weights without locks), so their vectors differ a little from run to run.
    """
    from gensim.models import Word2Vec

    genome = TokenizedGenome.open(tokenized_dir)
    rows = Windows(windows_dir).rows("train")
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(len(rows), size=min(sentences, len(rows)), replace=False))
    corpus = [[str(t) for t in np.asarray(genome.tokens[first:first + length]).tolist()]
              for _, first, length in rows[chosen]]
    model = Word2Vec(corpus, vector_size=vector_size, window=window, min_count=min_count, sg=0, epochs=epochs,
                     workers=workers, seed=seed)
    matrix = np.full((len(genome.vocab), vector_size), np.nan, dtype=np.float32)
    for word, index in model.wv.key_to_index.items():
        matrix[int(word)] = model.wv.vectors[index]
    log.info("%s: Word2Vec CBOW on %d windows, %d of %d tokens seen", name, len(corpus),
             len(model.wv.key_to_index), len(genome.vocab))
    return write_set(out, name, "word2vec", matrix, genome, repeats,
                     {"sentences": len(corpus), "window": window, "min_count": min_count, "epochs": epochs,
                      "workers": workers, "reproducible": workers == 1, "seed": seed})

"""The tokenized genome: one flat array of token ids plus an index of the runs it came from.

Every N-free run is encoded whole: BPE segments differently at window edges, so windows are rows into
this array and nothing is re-tokenized per window. Long runs may be encoded in pieces to bound memory;
the pieces are joined at token boundaries on which encodings with different right contexts agree (see
`Vocabulary.encode_pieces`; tested equal to whole-run encoding).
"""

from __future__ import annotations

import shutil
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from dnalm.core.errors import InputError
from dnalm.core.logs import log, progress
from dnalm.core.outputs import write_json
from dnalm.genome.prepare import Run, iter_runs, read_runs_bed
from dnalm.vocab.model_dir import check_dnalm_tokenizer, dnalm_vocabulary
from dnalm.vocab.vocabulary import CONFIG, Vocabulary

TOKENS = "tokens.npy"
INDEX = "runs.tsv"
INDEX_HEADER = ["run", "contig", "start", "end", "first_token", "n_tokens"]
SPAN_BLOCK = 1 << 22


class NpyWriter:
    """Append to a 1-D `.npy` file whose final length is unknown until the end (memory stays flat)."""

    HEADER_BYTES = 128

    def __init__(self, path: Path, dtype: np.dtype):
        self.path, self.dtype, self.count = Path(path), np.dtype(dtype), 0
        self.fh = open(self.path, "wb")
        self.fh.write(b"\0" * self.HEADER_BYTES)

    def append(self, values: np.ndarray) -> None:
        self.fh.write(np.ascontiguousarray(values, dtype=self.dtype).tobytes())
        self.count += len(values)

    def close(self) -> None:
        header = repr({"descr": self.dtype.str, "fortran_order": False, "shape": (self.count,)})
        body = header.ljust(self.HEADER_BYTES - 10 - 1) + "\n"
        self.fh.seek(0)
        self.fh.write(b"\x93NUMPY\x01\x00" + len(body).to_bytes(2, "little") + body.encode("latin1"))
        self.fh.close()


LONG_RUN_BP = 2_000_000


def encode_runs(vocab: Vocabulary, runs: Iterator[Run], piece_bp: int, threads: int):
    """(run, ids) in genome order. Short runs are encoded `threads` at a time (the encoders release the
    GIL); a long run is encoded alone, its BPE split across the threads (dnalm.vocab._bpe.encode)."""
    with ThreadPoolExecutor(max_workers=threads) as pool:
        pending: deque = deque()
        for run in runs:
            if len(run.seq) >= LONG_RUN_BP and threads > 1:
                while pending:
                    run_done, future = pending.popleft()
                    yield run_done, future.result()
                yield run, vocab.encode_pieces(run.seq, piece_bp, threads)
                continue
            pending.append((run, pool.submit(vocab.encode_pieces, run.seq, piece_bp)))
            if len(pending) > threads:
                run_done, future = pending.popleft()
                yield run_done, future.result()
        while pending:
            run_done, future = pending.popleft()
            yield run_done, future.result()


def tokenize_genome(genome_dir: Path, vocab_dir: Path, out: Path, *, piece_bp: int, threads: int) -> dict:
    """Encode every run of a prepared genome; write tokens, the run index and token counts."""
    vocab = Vocabulary.load(vocab_dir)
    total_bp = sum(e - s for _, s, e in read_runs_bed(genome_dir))
    writer = NpyWriter(out / TOKENS, vocab.dtype)
    counts = np.zeros(len(vocab), dtype=np.int64)
    bar = progress(total=total_bp, desc=f"tokenizing ({vocab.name})", unit="bp", unit_scale=True)
    with open(out / INDEX, "w") as index:
        index.write("\t".join(INDEX_HEADER) + "\n")
        for run, ids in encode_runs(vocab, iter_runs(genome_dir), piece_bp, threads):
            index.write(f"{run.index}\t{run.contig}\t{run.start}\t{run.end}\t{writer.count}\t{len(ids)}\n")
            writer.append(ids)
            counts += np.bincount(ids, minlength=len(vocab))
            bar.update(len(run.seq))
    bar.close()
    writer.close()
    np.save(out / "token_counts.npy", counts)
    shutil.copytree(vocab.path, out / "vocab")
    summary = {"vocabulary": vocab.name, "kind": vocab.kind, "vocab_size": len(vocab), "bp": total_bp,
               "tokens": writer.count, "bp_per_token": total_bp / max(writer.count, 1),
               "piece_bp": piece_bp}
    write_json(out / "tokenized.json", summary)
    log.info("%s: %d bp -> %d tokens (%.2f bp/token)", vocab.name, total_bp, writer.count,
             summary["bp_per_token"])
    return summary


@dataclass
class TokenizedGenome:
    """A tokenized genome opened for reading: `tokens` is memory-mapped."""

    path: Path
    vocab: Vocabulary
    tokens: np.ndarray
    runs: list[tuple[int, str, int, int, int, int]]

    @classmethod
    def open(cls, path: Path) -> "TokenizedGenome":
        path = Path(path)
        if not (path / TOKENS).is_file():
            raise InputError(f"--tokenized {path}: not a tokenized genome (no {TOKENS}); run tokenize-genome")
        with open(path / INDEX) as fh:
            next(fh)
            runs = [(int(f[0]), f[1], int(f[2]), int(f[3]), int(f[4]), int(f[5]))
                    for f in (line.rstrip("\n").split("\t") for line in fh)]
        return cls(path=path, vocab=Vocabulary.load(path / "vocab"),
                   tokens=np.load(path / TOKENS, mmap_mode="r"), runs=runs)

    def check_model(self, model_dir: Path) -> None:
        """A model reads the token ids of the vocabulary it was pretrained on: ids of another vocabulary crash
        it (beyond its embedding table) or, worse, silently stand for other tokens."""
        if not dnalm_vocabulary(model_dir):
            raise InputError(f"--model {model_dir}: not a dnalm model directory (no {CONFIG})")
        model_vocab = check_dnalm_tokenizer(model_dir, "--model")
        if model_vocab.tokens != self.vocab.tokens:
            raise InputError(f"--model {model_dir}: its vocabulary ({model_vocab.name}, {len(model_vocab)} tokens) "
                             f"is not the one of --tokenized {self.path} ({self.vocab.name}, {len(self.vocab)} "
                             "tokens)")

    def run_tokens(self, i: int) -> np.ndarray:
        first, n = self.runs[i][4], self.runs[i][5]
        return self.tokens[first:first + n]

    def run_spans(self, i: int, block: int = SPAN_BLOCK) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
        """(index of the first token, ids, starts, ends) of run `i`, `block` tokens at a time, spans in bp from
        the run start: a pass over a 250 Mbp chromosome holds one block of int64s, not four per token."""
        tokens = self.run_tokens(i)
        n, bp = len(tokens), 0
        for lo in range(0, n, block):
            ids = np.asarray(tokens[lo:lo + block], dtype=np.int64)
            starts, ends = self.vocab.token_spans(ids, lo, bp, ends_sequence=lo + len(ids) == n)
            bp = int(ends[-1])
            yield lo, ids, starts, ends

    @property
    def token_counts(self) -> np.ndarray:
        return np.load(self.path / "token_counts.npy")

"""Pretraining data: windows read from the memory-mapped tokenized genome, collated and masked.

Nothing is re-tokenized: a window is a slice of `tokens.npy`. Collation adds `[CLS]`/`[SEP]` and pads
to the longest window of the batch (windows vary from 20 to 510 tokens); masking follows BERT. Both work
on whole batches with numpy, so a CPU core feeds many GPUs (see benchmarks/data_pipeline.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dnalm.pretraining.windows import read_rows
from dnalm.vocab.tokenized import TokenizedGenome
from dnalm.vocab.vocabulary import SPECIAL_TOKENS

PAD, UNK, CLS, SEP, MASK = range(len(SPECIAL_TOKENS))
IGNORE = -100  # label of positions that are not predicted (PyTorch's cross-entropy default)


class WindowDataset:
    """The windows of one split (a `Windows.path(split)` file) over a tokenized genome."""

    def __init__(self, tokenized_dir: Path, windows_file: Path):
        self.genome = TokenizedGenome.open(tokenized_dir)
        self.rows = read_rows(windows_file)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> tuple[int, np.ndarray]:
        """(window index, token ids): the index seeds the window's mask, see MlmCollator."""
        _, first, length = self.rows[i]
        return int(i), np.asarray(self.genome.tokens[first:first + length])


class GroupedBatches:
    """Window indices in batches of similar length, so that padding each batch to its longest window wastes
    little (GROVER's windows are 510 tokens or uniform in 20..510: random batches are a quarter padding).

    Each epoch: a seeded permutation, cut into groups of `group` batches; each group sorted by length and cut
    into batches; the full batches shuffled (long and short ones alternate), a last partial batch at the end.
    Seeded by (seed, epoch) alone, so a resumed run sees the batches an uninterrupted one saw. Masking is as
    with random batches: each batch's masks are drawn from its windows' indices (MlmCollator), the same share
    of real tokens whatever the batch.

    Yields indices, batch after batch: the DataLoader cuts them into `batch_size` again, and under several
    ranks whole batches go to one rank (accelerate's BatchSamplerShard), so a rank's batches stay grouped.
    """

    def __init__(self, lengths: np.ndarray, batch_size: int, seed: int, group: int = 50):
        self.lengths, self.batch_size, self.seed, self.group = np.asarray(lengths), batch_size, seed, group
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.lengths)

    def batches(self) -> list[np.ndarray]:
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(len(self.lengths))
        size = self.batch_size
        batches = []
        for lo in range(0, len(order), self.group * size):
            chunk = order[lo:lo + self.group * size]
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
            batches += [chunk[i:i + size] for i in range(0, len(chunk), size)]
        partial = [batches.pop()] if batches and len(batches[-1]) < size else []
        return [batches[i] for i in rng.permutation(len(batches))] + partial

    def __iter__(self):
        for batch in self.batches():
            yield from batch.tolist()


def padding_share(lengths: np.ndarray, batches: list[np.ndarray]) -> float:
    """Share of the positions of padded batches that are padding ([CLS] and [SEP] count as tokens)."""
    padded = sum(len(b) * (int(lengths[b].max()) + 2) for b in batches)
    return 1 - sum(int(lengths[b].sum()) + 2 * len(b) for b in batches) / padded


def collate(windows: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """input_ids `[CLS] window [SEP] [PAD]...` and attention mask, padded to the longest window."""
    lengths = np.fromiter((len(w) for w in windows), dtype=np.int64, count=len(windows))
    width = int(lengths.max()) + 2
    ids = np.full((len(windows), width), PAD, dtype=np.int64)
    ids[:, 0] = CLS
    body = np.arange(width - 2) < lengths[:, None]
    ids[:, 1:-1][body] = np.concatenate(windows)
    ids[np.arange(len(windows)), lengths + 1] = SEP
    return ids, (ids != PAD).astype(np.int64)


def choose_random(ids: np.ndarray, rng: np.random.Generator, probability: float) -> np.ndarray:
    """BERT: each non-special token is chosen with `probability`."""
    return (ids >= len(SPECIAL_TOKENS)) & (rng.random(ids.shape) < probability)


def choose_spans(ids: np.ndarray, rng: np.random.Generator, probability: float, span: int) -> np.ndarray:
    """Spans of `span` contiguous tokens, started with probability `probability / span`, so about
    `probability` of the tokens are chosen. DNABERT masks k contiguous overlapping k-mers so the
    nucleotide they share is hidden from every token around it; GenomeNet-BERT's mask8 uses spans of 8.
    Spans stop at special tokens and padding."""
    real = ids >= len(SPECIAL_TOKENS)
    starts = real & (rng.random(ids.shape) < probability / span)
    chosen = np.zeros_like(real)
    for offset in range(span):
        chosen[:, offset:] |= starts[:, :ids.shape[1] - offset]
    return chosen & real


def mask_tokens(ids: np.ndarray, rng: np.random.Generator, vocab_size: int, probability: float,
                strategy: str = "random", span: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Choose tokens (`random` or spans), then BERT's replacement: chosen tokens become [MASK] (80 %), a
    random non-special token (10 %) or stay (10 %). Labels are IGNORE where not chosen."""
    if strategy == "random":
        chosen = choose_random(ids, rng, probability)
    else:
        chosen = choose_spans(ids, rng, probability, 8 if strategy == "span8" else span)
    return replace_chosen(ids, chosen, rng, vocab_size)


def replace_chosen(ids: np.ndarray, chosen: np.ndarray, rng: np.random.Generator,
                   vocab_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Masked input ids and labels for the chosen positions (never a special token as replacement)."""
    labels = np.where(chosen, ids, IGNORE)
    out = ids.copy()
    roll = rng.random(ids.shape)
    out[chosen & (roll < 0.8)] = MASK
    swap = chosen & (roll >= 0.8) & (roll < 0.9)
    out[swap] = rng.integers(len(SPECIAL_TOKENS), vocab_size, size=int(swap.sum()))
    return out, labels


class MlmCollator:
    """(index, window) items -> a masked-LM batch of torch tensors (input_ids, attention_mask, labels).

    The mask of a batch is seeded by `seed` and the batch's window indices, so it does not depend on
    what ran before: a run resumed from a checkpoint sees the masks an uninterrupted run saw.
    """

    def __init__(self, vocab_size: int, probability: float, seed: int, strategy: str = "random", span: int = 1):
        self.vocab_size, self.probability, self.seed = vocab_size, probability, seed
        self.strategy, self.span = strategy, span

    def __call__(self, items: list[tuple[int, np.ndarray]]) -> dict:
        import torch

        ids, attention = collate([window for _, window in items])
        rng = np.random.default_rng([self.seed, *(index for index, _ in items)])
        masked, labels = mask_tokens(ids, rng, self.vocab_size, self.probability, self.strategy, self.span)
        return {"input_ids": torch.from_numpy(masked), "attention_mask": torch.from_numpy(attention),
                "labels": torch.from_numpy(labels)}

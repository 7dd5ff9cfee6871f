"""Pretraining data: windows read from the memory-mapped tokenized genome, collated and masked.

Nothing is re-tokenized: a window is a slice of `tokens.npy`. Collation adds `[CLS]`/`[SEP]` and pads
to the longest window of the batch (windows vary from 20 to 510 tokens); masking follows BERT. Both work
on whole batches with numpy, so a CPU core feeds many GPUs (see benchmarks/data_pipeline.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dnalm.errors import InputError
from dnalm.tokenized import TokenizedGenome
from dnalm.vocabulary import SPECIAL_TOKENS

PAD, UNK, CLS, SEP, MASK = range(len(SPECIAL_TOKENS))
IGNORE = -100  # label of positions that are not predicted (PyTorch's cross-entropy default)


class WindowDataset:
    """The windows of one split (`train.npy` / `test.npy`) over a tokenized genome."""

    def __init__(self, tokenized_dir: Path, windows_file: Path):
        self.genome = TokenizedGenome.open(tokenized_dir)
        try:
            self.rows = np.load(windows_file)
        except OSError as exc:
            raise InputError(f"{windows_file}: cannot read windows ({exc})") from None
        if self.rows.ndim != 2 or self.rows.shape[1] != 3:
            raise InputError(f"{windows_file}: not a windows file (rows of run, first token, length)")

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> tuple[int, np.ndarray]:
        """(window index, token ids): the index seeds the window's mask, see MlmCollator."""
        _, first, length = self.rows[i]
        return int(i), np.asarray(self.genome.tokens[first:first + length])


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


def mask_random(ids: np.ndarray, rng: np.random.Generator, vocab_size: int,
                probability: float) -> tuple[np.ndarray, np.ndarray]:
    """BERT masking: each non-special token is chosen with `probability`; chosen tokens become [MASK]
    (80 %), a random non-special token (10 %) or stay (10 %). Labels are IGNORE where not chosen."""
    candidate = ids >= len(SPECIAL_TOKENS)
    chosen = candidate & (rng.random(ids.shape) < probability)
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

    def __init__(self, vocab_size: int, probability: float, seed: int):
        self.vocab_size, self.probability, self.seed = vocab_size, probability, seed

    def __call__(self, items: list[tuple[int, np.ndarray]]) -> dict:
        import torch

        ids, attention = collate([window for _, window in items])
        rng = np.random.default_rng([self.seed, *(index for index, _ in items)])
        masked, labels = mask_random(ids, rng, self.vocab_size, self.probability)
        return {"input_ids": torch.from_numpy(masked), "attention_mask": torch.from_numpy(attention),
                "labels": torch.from_numpy(labels)}

"""Pretraining batches: windows from the token array, [CLS]/[SEP], padding, BERT masking."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import mask_runs

from dnalm.pretraining.data import (
    CLS,
    IGNORE,
    MASK,
    PAD,
    SEP,
    GroupedBatches,
    MlmCollator,
    WindowDataset,
    collate,
    mask_tokens,
    padding_share,
)


def test_windows_are_slices_of_the_tokenized_genome(tokenized, windows):
    data = WindowDataset(tokenized["bpe_600"], windows["bpe_600"] / "train.npy")
    tokens = np.load(tokenized["bpe_600"] / "tokens.npy")
    for i in (0, len(data) // 2, len(data) - 1):
        _, first, length = data.rows[i]
        assert data[i][0] == i and np.array_equal(data[i][1], tokens[first:first + length])


def test_collate_adds_cls_sep_and_pads_to_the_longest(tokenized, windows):
    data = WindowDataset(tokenized["kmer6"], windows["kmer6"] / "train.npy")
    batch = [data[i][1] for i in range(8)]
    ids, attention = collate(batch)
    assert ids.shape == (8, max(map(len, batch)) + 2)
    for row, w in zip(ids, batch):
        assert row[0] == CLS and row[len(w) + 1] == SEP
        assert np.array_equal(row[1:len(w) + 1], w) and (row[len(w) + 2:] == PAD).all()
    assert np.array_equal(attention, (ids != PAD).astype(np.int64))


def test_random_masking_follows_bert(tokenized, windows):
    data = WindowDataset(tokenized["bpe_2000"], windows["bpe_2000"] / "train.npy")
    ids, _ = collate([data[i][1] for i in range(len(data))])
    rng = np.random.default_rng(0)
    masked, labels = mask_tokens(ids, rng, 2009, 0.15)
    chosen = labels != IGNORE
    real = ids >= 5
    assert not chosen[~real].any()  # [CLS], [SEP], [PAD] are never masked
    assert abs(chosen.sum() / real.sum() - 0.15) < 0.01
    assert np.array_equal(labels[chosen], ids[chosen])
    as_mask = (masked[chosen] == MASK).mean()
    unchanged = (masked[chosen] == ids[chosen]).mean()
    assert abs(as_mask - 0.8) < 0.02 and abs(unchanged - 0.1 - 0.1 / 2004) < 0.02
    assert (masked[chosen] >= 5).sum() + (masked[chosen] == MASK).sum() == chosen.sum()
    assert np.array_equal(masked[~chosen], ids[~chosen])


def test_collator_masks_depend_only_on_seed_and_windows(tokenized, windows):
    data = WindowDataset(tokenized["bpe_100"], windows["bpe_100"] / "train.npy")
    batch = [data[i] for i in range(16)]
    collator = MlmCollator(109, 0.15, seed=3)
    collator([data[i] for i in range(20, 30)])  # an earlier batch does not change later masks
    a, b = collator(batch), MlmCollator(109, 0.15, seed=3)(batch)
    assert all((a[k] == b[k]).all() for k in a)
    c = MlmCollator(109, 0.15, seed=4)(batch)
    assert not (a["labels"] == c["labels"]).all()
    assert a["input_ids"].dtype.is_signed and a["labels"].shape == a["input_ids"].shape


@pytest.mark.parametrize("name, strategy, span", [("kmer6_overlap", "span", 6), ("bpe_600", "span8", 8)])
def test_span_masking_masks_contiguous_spans(name, strategy, span, tokenized, windows):
    """DNABERT's k contiguous overlapping k-mers (the shared nucleotide is hidden from every neighbour),
    GenomeNet-BERT's spans of 8."""
    data = WindowDataset(tokenized[name], windows[name] / "train.npy")
    ids, _ = collate([data[i][1] for i in range(len(data))])
    masked, labels = mask_tokens(ids, np.random.default_rng(1), 5000, 0.15, strategy, span)
    chosen = labels != IGNORE
    real = ids >= 5
    assert not chosen[~real].any()
    assert abs(chosen.sum() / real.sum() - 0.15) < 0.03
    lengths = []
    for row_chosen, row_real in zip(chosen, real):
        last = int(np.flatnonzero(row_real)[-1])
        for start, end in mask_runs(row_chosen):
            if end <= last:  # a span cut by the window's end may be shorter
                assert end - start >= span
            lengths.append(end - start)
    assert min(lengths) >= 1 and np.median(lengths) >= span


@pytest.mark.parametrize("name", ["bpe_600", "kmer6_overlap"])
def test_grouped_batches_cover_every_window_once_with_little_padding(name, tokenized, windows):
    lengths = WindowDataset(tokenized[name], windows[name] / "train.npy").rows[:, 2]
    sampler = GroupedBatches(lengths, 8, seed=42)
    epochs = []
    for epoch in (0, 1):
        sampler.set_epoch(epoch)
        batches = sampler.batches()
        assert list(sampler) == np.concatenate(batches).tolist()
        assert sorted(sampler) == list(range(len(lengths)))  # every window once per epoch
        assert all(len(b) == 8 for b in batches[:-1]) and 0 < len(batches[-1]) <= 8  # a partial batch only last
        epochs.append(list(sampler))
    assert epochs[0] != epochs[1]
    sampler.set_epoch(1)
    assert list(GroupedBatches(lengths, 8, seed=42)) == epochs[0] and list(sampler) == epochs[1]  # (seed, epoch) alone
    order = np.random.default_rng(42).permutation(len(lengths))
    random = padding_share(lengths, [order[i:i + 8] for i in range(0, len(order), 8)])
    assert padding_share(lengths, sampler.batches()) <= 0.05 < 0.2 < random


def test_grouped_batches_mask_real_tokens_only_and_as_often_as_random_ones(tokenized, windows):
    data = WindowDataset(tokenized["bpe_600"], windows["bpe_600"] / "train.npy")
    lengths = data.rows[:, 2]
    collator = MlmCollator(609, 0.15, seed=7)
    order = np.random.default_rng(7).permutation(len(data))
    shares = {}
    for kind, batches in (("grouped", GroupedBatches(lengths, 8, seed=7).batches()),
                          ("random", [order[i:i + 8] for i in range(0, len(order), 8)])):
        masked = real = 0
        for batch in batches:
            items = [data[int(i)] for i in batch]
            ids, attention = collate([w for _, w in items])
            out = collator(items)
            chosen = out["labels"].numpy() != IGNORE
            assert not chosen[ids < 5].any()  # never [PAD], [CLS], [SEP] (or [UNK], [MASK])
            assert np.array_equal(out["attention_mask"].numpy(), attention)
            assert np.array_equal(out["labels"].numpy()[chosen], ids[chosen])
            masked, real = masked + int(chosen.sum()), real + int((ids >= 5).sum())
        shares[kind] = masked / real
    assert abs(shares["grouped"] - 0.15) < 0.01 and abs(shares["random"] - 0.15) < 0.01

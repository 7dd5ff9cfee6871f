"""One-hot CNN baseline: how far a small convolutional network on the bases alone gets on a task.

A language model's score means little without a strong plain baseline beside it: convolutional networks
on one-hot DNA stay competitive with pretrained models on many benchmark tasks (ConvNova, arXiv
2502.18538), and they train in minutes on a CPU. The network (`settings.CnnSettings`): two convolutions (the
second after a max-pool) with ReLU, a global max over positions, dropout and a linear head. Both strands:
the same filters read the sequence and its reverse complement and the larger response of the two is kept,
so a motif counts on either strand, as a binding site does. N (and any base other than A/C/G/T) is all
zeros. Sequences of different lengths are padded per batch, and padded positions never reach the max.

Training: AdamW at a constant rate, evaluated on the validation split after every epoch (the task's dev
split, else the last `valid_fraction` of the training rows); training stops after `patience` epochs
without a better validation MCC (accuracy for tasks of over 32 classes, next-k-mer data), but not before
`min_steps` steps: a task of a few hundred rows takes a handful of steps per epoch, and a network that
still predicts one class after five of them has not yet had the chance to learn. The best epoch's
weights are tested. One run per seed, summarised as every fine-tuning result is.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from dnalm.core.logs import log, progress
from dnalm.core.outputs import write_json, write_tsv
from dnalm.evaluation.classification import (
    MAX_PROB_CLASSES,
    ranked_classes,
    selection_score,
    summarize_seeds,
    write_result,
)
from dnalm.evaluation.settings import CnnSettings
from dnalm.evaluation.task_data import Task, train_and_validation

MODEL = "cnn_onehot"
#: Byte -> base code: A C G T are 0-3 (either case), anything else 4 (an all-zero column).
_CODE = np.full(256, 4, dtype=np.uint8)
for _i, _b in enumerate(b"ACGT"):
    _CODE[_b] = _CODE[_b + 32] = _i
_COMPLEMENT = np.array([3, 2, 1, 0, 4], dtype=np.uint8)


def encode(sequences: list[str]) -> list[np.ndarray]:
    """Each sequence as base codes (`_CODE`)."""
    return [_CODE[np.frombuffer(s.encode("ascii", "replace"), dtype=np.uint8)] for s in sequences]


def one_hot_batch(codes: list[np.ndarray]):
    """Forward and reverse-complement one-hot tensors (B, 4, L) of a batch, padded at the end to its longest
    sequence, and the lengths."""
    import torch

    width = max(len(c) for c in codes)
    forward = np.full((len(codes), width), 4, dtype=np.int64)
    reverse = np.full((len(codes), width), 4, dtype=np.int64)
    for row, c in enumerate(codes):
        forward[row, :len(c)] = c
        reverse[row, :len(c)] = _COMPLEMENT[c[::-1]]
    eye = torch.cat([torch.eye(4), torch.zeros(1, 4)])  # code 4 -> zeros
    lengths = torch.tensor([len(c) for c in codes])
    return (eye[torch.from_numpy(forward)].transpose(1, 2).contiguous(),
            eye[torch.from_numpy(reverse)].transpose(1, 2).contiguous(), lengths)


def build_network(n_classes: int, settings: CnnSettings):
    """The two-layer network of the module doc (a torch module; built here so torch loads only when used)."""
    import torch
    from torch import nn

    class OneHotCnn(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            s = settings
            self.first = nn.Conv1d(4, s.filters, s.kernel, padding="same")
            self.first_norm = nn.BatchNorm1d(s.filters)
            self.second = nn.Conv1d(s.filters, s.filters, s.second_kernel, padding="same")
            self.second_norm = nn.BatchNorm1d(s.filters)
            self.pool = nn.MaxPool1d(s.pool, ceil_mode=True)
            self.dropout = nn.Dropout(s.dropout)
            self.head = nn.Linear(s.filters, n_classes)

        def strand(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
            """Largest response of every filter over a strand's real positions (ReLU: padding set to 0
            never exceeds them)."""
            h = torch.relu(self.first_norm(self.first(x))) * _mask(lengths, x.shape[2])
            h = self.pool(h)
            h = torch.relu(self.second_norm(self.second(self.dropout(h)))) * _mask(torch.div(lengths + settings.pool - 1,
                                                                            settings.pool, rounding_mode="floor"),
                                                                  h.shape[2])
            return h.amax(2)

        def forward(self, forward: torch.Tensor, reverse: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
            both = torch.maximum(self.strand(forward, lengths), self.strand(reverse, lengths))
            return self.head(self.dropout(both))

    return OneHotCnn()


def _mask(lengths, width: int):
    import torch

    return (torch.arange(width)[None, :] < lengths[:, None]).unsqueeze(1).float()


def predict_probabilities(network, codes: list[np.ndarray], batch_size: int) -> np.ndarray:
    """Class probabilities of every sequence (rows in input order)."""
    import torch

    network.eval()
    out = []
    with torch.no_grad():
        for lo in range(0, len(codes), batch_size):
            out.append(torch.softmax(network(*one_hot_batch(codes[lo:lo + batch_size])), -1).numpy())
    network.train()
    return np.concatenate(out)


def train_cnn(task: Task, out: Path, settings: CnnSettings, seed: int) -> dict[str, Any]:
    """One seed: train with early stopping, test the best epoch's weights, write the result into `out`."""
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    train, valid = train_and_validation(task, settings.valid_fraction)
    train_codes, valid_codes, test_codes = encode(train.sequences), encode(valid.sequences), encode(task.test.sequences)
    network = build_network(task.n_classes, settings)
    optimiser = torch.optim.AdamW(network.parameters(), lr=settings.learning_rate,
                                  weight_decay=settings.weight_decay)
    labels = torch.from_numpy(np.asarray(train.labels, dtype=np.int64))
    history, best, best_state, waited, steps = [], -math.inf, None, 0, 0
    started = time.perf_counter()
    for epoch in progress(range(1, settings.epochs + 1), desc=f"seed {seed} epochs", unit="epoch"):
        order, losses = rng.permutation(len(train_codes)), []
        for lo in range(0, len(order), settings.batch_size):
            rows = order[lo:lo + settings.batch_size]
            logits = network(*one_hot_batch([train_codes[i] for i in rows]))
            loss = torch.nn.functional.cross_entropy(logits, labels[rows])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
            steps += 1
        predicted = predict_probabilities(network, valid_codes, 256).argmax(1)
        score = selection_score(valid.labels, predicted, task.n_classes)
        history.append([epoch, float(np.mean(losses)), score])
        log.info("seed %d epoch %d: training loss %.4f, validation %.4f", seed, epoch, history[-1][1], score)
        if score > best:
            best, best_state, waited = score, copy.deepcopy(network.state_dict()), 0
        else:
            waited += 1
            if settings.patience and waited >= settings.patience and steps >= settings.min_steps:
                break
    seconds = time.perf_counter() - started
    network.load_state_dict(best_state)
    write_tsv(out / "training.tsv", ["epoch", "train_loss", "validation_score"], history)
    probs = predict_probabilities(network, test_codes, 256)
    best_epoch = max(history, key=lambda h: h[2])[0]
    info = {"model": MODEL, "kind": "cnn", "vocabulary": "one-hot", "vocab_kind": "one-hot", **task.facts(),
            "seed": seed, **asdict(settings), "epochs_run": len(history), "steps": steps, "best_epoch": best_epoch,
            "best_validation_score": best, "validation_samples": len(valid),
            "parameters": sum(p.numel() for p in network.parameters()), "train_seconds": round(seconds, 2)}
    few = task.n_classes <= MAX_PROB_CLASSES
    metrics = write_result(out, info, task.test.labels, ranked_classes(probs), task.n_classes, train.labels,
                           probs if few else None, task.class_labels)
    log.info("%s on %s, seed %d: best epoch %d of %d (validation %.4f), test accuracy %.4f%s, %.1f s", MODEL,
             task.name, seed, best_epoch, len(history), best, metrics["accuracy"],
             f", MCC {metrics['mcc']:.4f}" if "mcc" in metrics else "", seconds)
    return metrics


def cnn_baseline(task: Task, out: Path, settings: CnnSettings, seeds: list[int], threads: int) -> dict[str, Any]:
    """`train_cnn` once per seed (in `seed<N>/`), and the summary over seeds in metrics.json."""
    import torch

    torch.set_num_threads(threads)
    runs = []
    for seed in seeds:
        (out / f"seed{seed}").mkdir()
        runs.append(train_cnn(task, out / f"seed{seed}", settings, seed))
    summary = summarize_seeds(runs, seeds)
    write_json(out / "metrics.json", summary)
    return summary

"""Per-layer self-similarity of tokens (GROVER Fig. 5a): how context-specific each layer's embeddings are.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dnalm.analysis.model import load_model
from dnalm.core import mqc
from dnalm.core.logs import log, progress
from dnalm.core.outputs import write_json, write_tsv
from dnalm.core.plotting import figure
from dnalm.pretraining.data import CLS, PAD, SEP, WindowDataset, collate


class SelfSimilarity:
    """Running sums of unit vectors per layer and token: the mean pairwise cosine similarity of n vectors
    u_1..u_n is (|sum u|^2 - n) / (n (n - 1)), so no pair is ever materialised."""

    def __init__(self, layers: int, vocab_size: int, dim: int, per_token: int):
        self.sums = np.zeros((layers, vocab_size, dim), dtype=np.float64)
        self.counts = np.zeros(vocab_size, dtype=np.int64)
        self.per_token = per_token

    def add(self, ids: np.ndarray, states: np.ndarray) -> None:
        """`states`: (layers, n, dim) vectors of the n tokens `ids`; tokens past `per_token` are ignored."""
        order = np.argsort(ids, kind="stable")
        ids, states = ids[order], states[:, order]
        rank = np.arange(len(ids)) - np.searchsorted(ids, ids)  # occurrence number within this batch
        keep = self.counts[ids] + rank < self.per_token
        ids, states = ids[keep], states[:, keep]
        units = states / np.maximum(np.linalg.norm(states, axis=-1, keepdims=True), 1e-12)
        for layer in range(len(units)):
            np.add.at(self.sums[layer], ids, units[layer])
        self.counts += np.bincount(ids, minlength=len(self.counts))

    def values(self) -> np.ndarray:
        """(layers, vocab) mean pairwise cosine similarity; NaN for tokens seen fewer than twice."""
        n = self.counts.astype(float)
        squared = (self.sums ** 2).sum(-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n >= 2, (squared - n) / (n * (n - 1)), np.nan)


def self_similarity(model_dir: Path, tokenized_dir: Path, windows_file: Path, out: Path, *, per_token: int,
                    max_windows: int, batch_size: int, seed: int) -> dict:
    """Mean pairwise cosine similarity of each token type's contextual embeddings in every layer (GROVER Fig. 5a)."""
    import torch

    data = WindowDataset(tokenized_dir, windows_file)
    vocab = data.genome.vocab
    model = load_model(model_dir, data.genome)
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(len(data), size=min(max_windows, len(data)), replace=False))
    config = model.config
    acc = SelfSimilarity(config.num_hidden_layers + 1, len(vocab), config.hidden_size, per_token)
    device = next(model.parameters()).device
    with torch.no_grad():
        for lo in progress(range(0, len(chosen), batch_size), desc="windows", unit="batch"):
            ids, mask = collate([data[int(i)][1] for i in chosen[lo:lo + batch_size]])
            states = model(input_ids=torch.tensor(ids, device=device), attention_mask=torch.tensor(mask, device=device),
                           output_hidden_states=True).hidden_states
            real = (ids != PAD) & (ids != CLS) & (ids != SEP)
            acc.add(ids[real], np.stack([s.float().cpu().numpy()[real] for s in states]))
    values = acc.values()
    seen = np.flatnonzero(acc.counts >= 2)
    layers = [f"layer{l}" for l in range(values.shape[0])]
    write_tsv(out / "self_similarity.tsv", ["token", "occurrences"] + layers,
              [[vocab.tokens[t], int(acc.counts[t])] + values[:, t].tolist() for t in seen])
    mean = np.nanmean(values[:, seen], axis=1)
    write_tsv(out / "self_similarity_by_layer.tsv", ["layer", "mean", "median"],
              [[l, float(mean[l]), float(np.nanmedian(values[l, seen]))] for l in range(len(mean))])
    _heatmap(values[:, seen].T, [vocab.tokens[t] for t in seen], out / "self_similarity.png")
    mqc.write_plot(out / "self_similarity_mqc.yaml", "dnalm_self_similarity", "Self-similarity by layer",
                   "Mean pairwise cosine similarity of a token's contextual embeddings, averaged over tokens "
                   "(GROVER Fig. 5a): lower means more context-specific.", "linegraph",
                   {"mean over tokens": {l: float(mean[l]) for l in range(len(mean))}}, xlab="layer",
                   ylab="self-similarity")
    summary = {"tokens": int(len(seen)), "windows": int(len(chosen)), "per_token": per_token,
               "mean_by_layer": mean.tolist()}
    write_json(out / "self_similarity.json", summary)
    log.info("self-similarity of %d tokens over %d windows: layer 1 %.3f, last layer %.3f", len(seen), len(chosen),
             mean[1], mean[-1])
    return summary


def _heatmap(matrix: np.ndarray, labels: list[str], path: Path) -> None:
    """Rows clustered (average linkage) so tokens that behave alike sit together."""
    from scipy.cluster.hierarchy import leaves_list, linkage

    filled = np.nan_to_num(matrix, nan=0.0)
    order = leaves_list(linkage(filled, method="average")) if len(filled) > 2 else np.arange(len(filled))
    with figure(path, figsize=(2 + 0.3 * matrix.shape[1], 4 + min(len(labels), 400) * 0.01)) as (fig, ax):
        image = ax.imshow(filled[order], aspect="auto", cmap="magma", vmin=0, vmax=1, interpolation="nearest")
        ax.set(xlabel="layer", ylabel=f"{len(labels)} tokens (clustered)", yticks=[])
        fig.colorbar(image, ax=ax, label="self-similarity")

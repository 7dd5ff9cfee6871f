"""Predictions at masked positions (DNABERT study Fig. 2): rank of the true token and accuracy by position
in a masked span.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dnalm.analysis.model import load_model
from dnalm.core import mqc
from dnalm.core.errors import InputError
from dnalm.core.logs import log, progress
from dnalm.core.outputs import write_json, write_tsv
from dnalm.pretraining.data import MASK, WindowDataset, collate


def mask_predictions(model_dir: Path, tokenized_dir: Path, windows_file: Path, out: Path, *, span: int, samples: int,
                     batch_size: int, seed: int, top: int = 10) -> dict:
    """Mask `span` contiguous tokens in sampled windows; rank of the true token and accuracy by position in
    the mask (DNABERT study Fig. 2A-B), and the predicted distribution of every masked position (top `top`)."""
    import torch

    data = WindowDataset(tokenized_dir, windows_file)
    vocab = data.genome.vocab
    model = load_model(model_dir, data.genome, masked_lm=True)
    device = next(model.parameters()).device
    rng = np.random.default_rng(seed)
    usable = np.flatnonzero(data.rows[:, 2] >= span)
    if len(usable) == 0:
        raise InputError(f"{windows_file}: no window of {span} tokens or more")
    chosen = rng.choice(usable, size=min(samples, len(usable)), replace=False)
    ranks, positions, kept = [], [], []
    with torch.no_grad():
        for lo in progress(range(0, len(chosen), batch_size), desc="masked windows", unit="batch"):
            windows = [data[int(i)][1] for i in chosen[lo:lo + batch_size]]
            ids, mask = collate(windows)
            starts = np.array([1 + rng.integers(0, len(w) - span + 1) for w in windows])
            cols = starts[:, None] + np.arange(span)
            rows = np.arange(len(windows))[:, None].repeat(span, 1)
            truth = ids[rows, cols].copy()
            ids[rows, cols] = MASK
            logits = model(input_ids=torch.tensor(ids, device=device),
                           attention_mask=torch.tensor(mask, device=device)).logits.float()
            picked = logits[torch.tensor(rows.ravel()), torch.tensor(cols.ravel())].cpu()
            probs = torch.softmax(picked, -1).numpy()
            true = truth.ravel()
            ranks.append(1 + (probs > probs[np.arange(len(true)), true][:, None]).sum(1))
            positions.append(np.tile(np.arange(1, span + 1), len(windows)))
            best = np.argsort(-probs, axis=1)[:, :top]
            kept += [[vocab.tokens[t], p] + [f"{vocab.tokens[b]}:{probs[i, b]:.4g}" for b in best[i]]
                     for i, (t, p) in enumerate(zip(true, positions[-1]))]
    ranks, positions = np.concatenate(ranks), np.concatenate(positions)
    chance = (len(vocab) - 5 + 1) / 2  # mean rank of a uniform guess among the real tokens
    by_position = [[p, int((positions == p).sum()), float((ranks[positions == p] == 1).mean()),
                    float(np.mean(ranks[positions == p])), float(np.median(ranks[positions == p]))]
                   for p in range(1, span + 1)]
    write_tsv(out / "mask_accuracy_by_position.tsv", ["position", "masked", "accuracy", "mean_rank", "median_rank"],
              by_position)
    write_tsv(out / "mask_predictions.tsv", ["true_token", "position"] + [f"top{j + 1}" for j in range(top)], kept)
    hist = np.bincount(np.minimum(ranks, 100), minlength=101)[1:]
    write_tsv(out / "mask_rank_histogram.tsv", ["rank", "count"], [[r + 1, int(c)] for r, c in enumerate(hist)])
    summary = {"span": span, "windows": int(len(chosen)), "masked": int(len(ranks)),
               "accuracy": float((ranks == 1).mean()), "mean_rank": float(ranks.mean()),
               "median_rank": float(np.median(ranks)), "chance_mean_rank": chance}
    write_json(out / "mask_predictions.json", summary)
    mqc.write_plot(out / "mask_accuracy_mqc.yaml", "dnalm_mask_accuracy", "Accuracy by position in the mask",
                   f"Top-1 accuracy at each position of {span} contiguous masked tokens (DNABERT study Fig. 2).",
                   "linegraph", {"accuracy": {p: a for p, _, a, _, _ in by_position}}, xlab="position in mask",
                   ylab="accuracy", ymin=0, ymax=1)
    log.info("masked %d tokens: accuracy %.3f, mean rank %.1f (chance %.1f)", len(ranks), summary["accuracy"],
             summary["mean_rank"], chance)
    return summary

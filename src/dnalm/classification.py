"""Results of a classifier on a labelled task, written the same way by language models and baselines.

Each result directory holds `predictions.tsv` (true label, the 5 best-ranked classes per test sample) and
`metrics.json`, so every reported number can be recomputed from the saved predictions.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from dnalm.outputs import write_json, write_tsv

TOP = 5


def ranked_classes(scores: np.ndarray, classes: np.ndarray | None = None, top: int = TOP) -> np.ndarray:
    """The `top` best-scoring classes per row, best first; `classes` maps score columns to class ids."""
    top = min(top, scores.shape[1])
    best = np.argpartition(-scores, top - 1, axis=1)[:, :top]
    order = np.argsort(-np.take_along_axis(scores, best, axis=1), axis=1, kind="stable")
    ranked = np.take_along_axis(best, order, axis=1)
    return ranked if classes is None else np.asarray(classes)[ranked]


def summarize(labels: np.ndarray, ranked: np.ndarray, n_classes: int, train_labels: np.ndarray) -> dict[str, Any]:
    """Top-1 and top-5 accuracy, macro-F1 and the two baselines a result must beat.

    Macro-F1 averages over the classes present in the test labels or predictions (scikit-learn's default),
    so the thousands of 6-mers a small test set never contains do not count as zeros.
    """
    from sklearn.metrics import f1_score

    labels = np.asarray(labels)
    n = len(labels)
    accuracy = float((ranked[:, 0] == labels).mean())
    majority = np.bincount(train_labels, minlength=n_classes).argmax()
    return {
        "test_samples": n,
        "accuracy": accuracy,
        "accuracy_se": math.sqrt(accuracy * (1 - accuracy) / n),
        f"top{TOP}_accuracy": float((ranked[:, :TOP] == labels[:, None]).any(axis=1).mean()),
        "macro_f1": float(f1_score(labels, ranked[:, 0], average="macro")),
        "random_baseline": 1 / n_classes,
        "majority_baseline": float((labels == majority).mean()),
    }


def write_result(out: Path, info: dict[str, Any], labels: np.ndarray, ranked: np.ndarray, n_classes: int,
                 train_labels: np.ndarray) -> dict[str, Any]:
    """Write predictions.tsv and metrics.json (`info` first: model, task, settings)."""
    write_tsv(Path(out) / "predictions.tsv", ["label", "predicted", f"top{TOP}"],
              [[int(y), int(r[0]), ",".join(map(str, r.tolist()))] for y, r in zip(labels, ranked)])
    metrics = {**info, "n_classes": n_classes, "train_samples": len(train_labels),
               **summarize(labels, ranked, n_classes, train_labels)}
    write_json(Path(out) / "metrics.json", metrics)
    return metrics

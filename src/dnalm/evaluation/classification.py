"""Results of a classifier on a labelled task, written the same way by language models and baselines.

Each result directory holds `predictions.tsv` (true label, the 5 best-ranked classes per test sample and,
for tasks of few classes, every class probability; labels as the task's files write them) and `metrics.json`,
so every reported number can be recomputed from the saved predictions.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from dnalm.core.logs import log
from dnalm.core.outputs import write_json, write_tsv

TOP = 5
MAX_PROB_CLASSES = 32  # tasks with more classes (next-k-mer) keep rankings only
#: The metrics summarised over seeds (mean, sd, 95 % interval) wherever a result has several seeds.
SUMMARY_METRICS = ("mcc", "f1", "precision", "recall", "accuracy", "roc_auc", "pr_auc")


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


def probability_metrics(labels: np.ndarray, probs: np.ndarray) -> dict[str, Any]:
    """MCC, precision, recall, F1 (class 1 for binary tasks, else macro), ROC-AUC, PR-AUC, confusion matrix."""
    from sklearn import metrics as m

    labels = np.asarray(labels)
    n_classes = probs.shape[1]
    predicted = probs.argmax(1)
    binary = n_classes == 2
    average = "binary" if binary else "macro"
    out: dict[str, Any] = {
        "mcc": float(m.matthews_corrcoef(labels, predicted)),
        "precision": float(m.precision_score(labels, predicted, average=average, zero_division=0)),
        "recall": float(m.recall_score(labels, predicted, average=average, zero_division=0)),
        "f1": float(m.f1_score(labels, predicted, average=average, zero_division=0)),
        "confusion_matrix": m.confusion_matrix(labels, predicted, labels=list(range(n_classes))).tolist(),
    }
    present = np.unique(labels)
    if len(present) == n_classes:
        onehot = np.eye(n_classes)[labels]
        out["roc_auc"] = float(m.roc_auc_score(labels, probs[:, 1]) if binary
                               else m.roc_auc_score(labels, probs, multi_class="ovr"))
        out["pr_auc"] = float(m.average_precision_score(labels, probs[:, 1]) if binary
                              else m.average_precision_score(onehot, probs, average="macro"))
    else:
        out["roc_auc"] = out["pr_auc"] = float("nan")  # a class absent from the test labels
    return out


def write_result(out: Path, info: dict[str, Any], labels: np.ndarray, ranked: np.ndarray, n_classes: int,
                 train_labels: np.ndarray, probs: np.ndarray | None = None,
                 class_labels: list[int] | None = None) -> dict[str, Any]:
    """Write predictions.tsv and metrics.json (`info` first: model, task, settings).

    predictions.tsv names each class by its label in the task's files (`class_labels`, where they are not
    the class numbers), so a row reads as the file does; metrics.json records the map (`label_map`: file
    label -> class) under which its class-numbered fields (confusion matrix, the positive class 1 of a
    binary F1) are read. Probabilities keep full precision: rounding would tie close scores and shift the
    AUCs recomputed from the file."""
    names = np.asarray(class_labels if class_labels is not None else range(n_classes))
    header = ["label", "predicted", f"top{TOP}"] + ([f"p{c}" for c in names] if probs is not None else [])
    write_tsv(Path(out) / "predictions.tsv", header,
              [[int(names[y]), int(names[r[0]]), ",".join(map(str, names[r].tolist()))]
               + ([] if probs is None else list(map(repr, probs[i].tolist())))
               for i, (y, r) in enumerate(zip(labels, ranked))])
    metrics = {**info, "n_classes": n_classes, "train_samples": len(train_labels),
               **({} if class_labels is None else {"label_map": {str(c): i for i, c in enumerate(class_labels)}}),
               **summarize(labels, ranked, n_classes, train_labels),
               **(probability_metrics(labels, probs) if probs is not None else {})}
    metrics["below_chance"] = below_chance(metrics)
    if metrics["below_chance"]:
        log.warning("%s on %s: %s on test. A classifier does not do worse than chance by learning: that is a "
                    "split problem (train and test labelled by opposite rules, e.g. a shuffled negative in "
                    "training and its positive in test) until shown otherwise. See the task's leaks in task.json",
                    info.get("model"), info.get("task"), metrics["below_chance"])
    write_json(Path(out) / "metrics.json", metrics)
    return metrics


def below_chance(metrics: dict[str, Any]) -> str | None:
    """What is below chance, by more than two standard errors (noise alone rarely goes that far): accuracy
    under the majority-class rate, or an MCC under zero. None when neither is."""
    n = metrics["test_samples"]
    majority = metrics["majority_baseline"]
    found = []
    if metrics["accuracy"] < majority - 2 * math.sqrt(majority * (1 - majority) / n):
        found.append(f"accuracy {metrics['accuracy']:.3f} below the majority class's {majority:.3f}")
    if "mcc" in metrics and metrics["mcc"] < -2 / math.sqrt(n):
        found.append(f"MCC {metrics['mcc']:.3f} below 0")
    return ", ".join(found) or None


def selection_score(labels: np.ndarray, predicted: np.ndarray, n_classes: int) -> float:
    """What a baseline is chosen by on validation (an epoch, a regularisation): MCC, or accuracy for tasks of
    more than MAX_PROB_CLASSES classes (next-k-mer data), whose confusion matrix would be large."""
    from sklearn.metrics import matthews_corrcoef

    if n_classes > MAX_PROB_CLASSES:
        return float((predicted == labels).mean())
    return float(matthews_corrcoef(labels, predicted))


def seed_statistics(values: list[float]) -> dict[str, float | None]:
    """Mean, sample sd and the 95 % confidence interval of the mean (Student's t) of one metric over seeds.

    One seed has no spread to speak of: its sd and interval are None, not 0, so nobody reads a single run
    as an exact number."""
    from scipy import stats

    x = np.asarray(values, dtype=float)
    if len(x) < 2:
        return {"mean": float(x.mean()), "sd": None, "ci95": None}
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.975, len(x) - 1)) * sd / math.sqrt(len(x))
    return {"mean": float(x.mean()), "sd": sd, "ci95": [float(x.mean() - half), float(x.mean() + half)]}


def summarize_seeds(runs: list[dict[str, Any]], seeds: list[int]) -> dict[str, Any]:
    """The metrics.json of a result run once per seed (`seed<N>/`): what the runs share, and per metric its
    mean (`mcc`), sd (`mcc_sd`) and 95 % interval (`mcc_ci95`) over seeds."""
    first = runs[0]
    summary = {k: first[k] for k in ("model", "kind", "vocabulary", "task", "benchmark", "benchmark_task", "n_classes",
                                       "test_samples") if k in first}
    summary["seeds"] = list(seeds)
    if "label_map" in first:  # how the classes of the confusion matrices read as the task's labels
        summary["label_map"] = first["label_map"]
    for name in SUMMARY_METRICS:
        if name in first:
            stats = seed_statistics([r[name] for r in runs])
            summary.update({name: stats["mean"], f"{name}_sd": stats["sd"], f"{name}_ci95": stats["ci95"]})
    return summary

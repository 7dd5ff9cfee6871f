"""TF-IDF + random-forest baselines: how far token frequencies alone get on a task (GROVER Figs. 2c, 6).

Sequences are tokenized with any dnalm vocabulary through `Vocabulary.encode`, weighted by scikit-learn's
`TfidfVectorizer` (fitted on training sequences only) and classified by a random forest whose number of
trees is chosen on a validation split.

Memory: scikit-learn stores, in every tree node, one float64 per class, so a forest takes about
trees x (2 x max_leaf_nodes) x (8 x classes + 64) bytes: 4,096 classes (k = 6) and 256 leaves make
16.8 MB per tree. Tree counts that would exceed `memory_gb` are dropped (logged). Time: at most
`max_train` training samples are used (a seeded subsample), and each tree grows on a bootstrap sample of at
most `tree_samples`: with thousands of classes a tree's cost grows faster than linearly with its samples
(4,096 classes, 256 leaves: 0.16 s at 2,000 samples, 1.5 s at 8,000 per tree and core).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from dnalm.classification import MAX_PROB_CLASSES, ranked_classes, write_result
from dnalm.labelled import Split, load_task
from dnalm.logs import log, progress
from dnalm.outputs import write_tsv
from dnalm.vocabulary import Vocabulary

DEFAULT_TREES = (100, 200, 500, 1000, 2000)
_PREDICT_BATCH = 2048  # rows per predict_proba call: bounds the (rows x classes) probability matrix


def tree_bytes(max_leaf_nodes: int, n_classes: int) -> int:
    """Upper bound of one tree's memory: 2L - 1 nodes of one float64 per class plus the node record."""
    return (2 * max_leaf_nodes - 1) * (8 * n_classes + 64)


def affordable_trees(trees: list[int], max_leaf_nodes: int, n_classes: int, memory_gb: float) -> list[int]:
    """The candidate tree counts whose forest fits `memory_gb`; at least one count, cut to what fits."""
    limit = max(1, int(memory_gb * 1e9 // tree_bytes(max_leaf_nodes, n_classes)))
    fits = [t for t in sorted(set(trees)) if t <= limit]
    if len(fits) < len(set(trees)):
        log.warning("forests over %d trees of %d leaves for %d classes would exceed --memory-gb %g: trying %s",
                    limit, max_leaf_nodes, n_classes, memory_gb, fits or [limit])
    return fits or [limit]


def documents(vocab: Vocabulary, split: Split) -> list[str]:
    """Each sequence as the space-separated ids of its tokens (the vectorizer's words)."""
    return [" ".join(map(str, vocab.encode_lenient(s).tolist())) for s in split.sequences]


def _predict(forest, features, n_classes: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Ranked classes of every row and, for tasks of few classes, the probabilities of all classes."""
    ranked, probs = [], []
    for lo in range(0, features.shape[0], _PREDICT_BATCH):
        p = forest.predict_proba(features[lo:lo + _PREDICT_BATCH])
        ranked.append(ranked_classes(p, forest.classes_))
        if n_classes <= MAX_PROB_CLASSES:
            full = np.zeros((len(p), n_classes))
            full[:, forest.classes_] = p
            probs.append(full)
    return np.concatenate(ranked), np.concatenate(probs) if probs else None


def tfidf_baseline(data_dir: Path, vocab_dir: Path, out: Path, k: int | None = None,
                   trees: list[int] = list(DEFAULT_TREES), max_leaf_nodes: int = 256, max_train: int = 50_000,
                   memory_gb: float = 8.0, valid_fraction: float = 0.1, seed: int = 42, threads: int = 1,
                   tree_samples: int = 10_000) -> dict:
    """Fit TF-IDF + random forest on a task's training split; report on its test split."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.feature_extraction.text import TfidfVectorizer

    task = load_task(data_dir, k)
    vocab = Vocabulary.load(vocab_dir)
    train, valid = task.train, task.valid
    if valid is None:  # the last share of the training rows: a block, as the rows are in genome order
        n_valid = max(1, round(valid_fraction * len(train)))
        train, valid = train.head(len(train) - n_valid), train.tail(n_valid)
    if len(train) > max_train:
        keep = np.sort(np.random.default_rng(seed).choice(len(train), size=max_train, replace=False))
        train = Split([train.sequences[i] for i in keep], train.labels[keep])
    vectorizer = TfidfVectorizer(analyzer=str.split)
    x_train = vectorizer.fit_transform(documents(vocab, train))
    x_valid = vectorizer.transform(documents(vocab, valid))
    x_test = vectorizer.transform(documents(vocab, task.test))
    forest = RandomForestClassifier(n_estimators=1, warm_start=True, max_leaf_nodes=max_leaf_nodes,
                                    max_samples=min(tree_samples, len(train)), n_jobs=threads, random_state=seed)
    selection, best = [], None
    for count in progress(affordable_trees(trees, max_leaf_nodes, task.n_classes, memory_gb),
                          desc="forest sizes", unit="size"):
        forest.set_params(n_estimators=count)
        with warnings.catch_warnings():  # 4^k classes among fewer samples is expected, not a regression task
            warnings.filterwarnings("ignore", message="The number of unique classes")
            forest.fit(x_train, train.labels)  # warm start: adds trees to the forest of the last size
        accuracy = float((_predict(forest, x_valid, task.n_classes)[0][:, 0] == valid.labels).mean())
        selection.append([count, accuracy])
        if best is None or accuracy > best[1]:  # ties keep the smaller forest
            best = (count, accuracy, *_predict(forest, x_test, task.n_classes))
    count, valid_accuracy, ranked, probs = best
    write_tsv(out / "tree_selection.tsv", ["trees", "validation_accuracy"], selection)
    info = {"model": f"tfidf_{vocab.name}", "kind": "tfidf", "task": task.name, "k": k,
            "vocabulary": vocab.name, "vocab_kind": vocab.kind, "vocab_size": len(vocab),
            "features": len(vectorizer.vocabulary_), "trees": count, "max_leaf_nodes": max_leaf_nodes,
            "tree_samples": forest.max_samples,
            "validation_accuracy": valid_accuracy, "validation_samples": len(valid), "seed": seed}
    metrics = write_result(out, info, task.test.labels, ranked, task.n_classes, train.labels, probs)
    log.info("%s on %s: %d trees (validation %.4f), test accuracy %.4f (majority %.4f, random %.4f)",
             info["model"], task.name, count, valid_accuracy, metrics["accuracy"], metrics["majority_baseline"],
             metrics["random_baseline"])
    return metrics

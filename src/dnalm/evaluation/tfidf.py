"""TF-IDF + random-forest baselines: how far token frequencies alone get on a task (GROVER Figs. 2c, 6).

Sequences are tokenized with any dnalm vocabulary through `Vocabulary.encode`, weighted by scikit-learn's
`TfidfVectorizer` (fitted on training sequences only) and classified by a random forest whose number of
trees is chosen on a validation split.

Caps, by class count (`forest_caps`): a tree takes about (2 x leaves) x (8 x classes + 64) bytes, as
scikit-learn stores one float64 per class in every node. A task of few classes (at most 32: every
classification task) grows its trees unbounded, on bootstrap samples of all training rows, unless the
largest forest would exceed `memory_gb`; with 4,096 classes (next-6-mers) a tree of 256 leaves takes
16.8 MB and its cost grows faster than linearly with its samples (0.16 s at 2,000, 1.5 s at 8,000 per tree
and core), so trees there keep 256 leaves and 10,000 samples, and forest sizes that would exceed
`memory_gb` are dropped (logged). At most `max_train` training rows are used (a seeded subsample).

Forest size: the candidate with the best MCC on the validation split (accuracy, the benchmark's metric,
for next-k-mer tasks of more than 32 classes, where a classes x classes confusion matrix would be large;
ties keep the smaller). Below
`MIN_VALID` validation rows the MCCs of different sizes differ by noise, so no size is chosen on them: the
largest candidate up to 500 trees is used (500 for the default candidates).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from dnalm.core.logs import log, progress
from dnalm.core.outputs import write_tsv
from dnalm.evaluation.classification import MAX_PROB_CLASSES, ranked_classes, write_result
from dnalm.evaluation.task_data import Split, load_task, train_and_validation
from dnalm.vocab.vocabulary import Vocabulary

FEW_CLASSES = 32  # up to this many classes, trees are unbounded where memory allows
MANY_CLASS_LEAVES, MANY_CLASS_SAMPLES = 256, 10_000
MIN_VALID = 1000  # validation rows needed to choose a forest size on them
FIXED_TREES = 500
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


def forest_caps(n_train: int, n_classes: int, trees: list[int], memory_gb: float, max_leaf_nodes: int = 0,
                tree_samples: int = 0) -> tuple[int | None, int]:
    """Leaves per tree (None: unbounded) and bootstrap samples per tree; 0 asks for the default of the
    module doc, any other value is kept."""
    if not tree_samples:
        tree_samples = n_train if n_classes <= FEW_CLASSES else MANY_CLASS_SAMPLES
    tree_samples = min(tree_samples, n_train)
    if max_leaf_nodes:
        return max_leaf_nodes, tree_samples
    if n_classes > FEW_CLASSES:
        return MANY_CLASS_LEAVES, tree_samples
    budget = int(memory_gb * 1e9 // (max(trees) * 2 * (8 * n_classes + 64)))  # leaves that fit the largest forest
    if budget >= tree_samples:  # a tree has at most as many leaves as samples
        return None, tree_samples
    log.warning("unbounded trees of %d samples could exceed --memory-gb %g at %d trees: %d leaves per tree",
                tree_samples, memory_gb, max(trees), max(budget, MANY_CLASS_LEAVES))
    return max(budget, MANY_CLASS_LEAVES), tree_samples


def sizes_to_try(trees: list[int], n_valid: int) -> list[int]:
    """All candidate forest sizes where validation can choose; else the one fixed size (module doc)."""
    trees = sorted(set(trees))
    if n_valid >= MIN_VALID:
        return trees
    fixed = max((t for t in trees if t <= FIXED_TREES), default=trees[0])
    log.info("%d validation rows (< %d) cannot tell forest sizes apart: %d trees, not chosen", n_valid,
             MIN_VALID, fixed)
    return [fixed]


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


def tfidf_baseline(data_dir: Path, vocab_dir: Path, out: Path, *, k: int | None, trees: list[int],
                   max_leaf_nodes: int, max_train: int, memory_gb: float, valid_fraction: float, seed: int,
                   threads: int, tree_samples: int, label_map: str | None = None) -> dict:
    """Fit TF-IDF + random forest on a task's training split; report on its test split."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics import matthews_corrcoef

    task = load_task(data_dir, k, label_map)
    vocab = Vocabulary.load(vocab_dir)
    train, valid = train_and_validation(task, valid_fraction)
    if len(train) > max_train:
        keep = np.sort(np.random.default_rng(seed).choice(len(train), size=max_train, replace=False))
        train = Split([train.sequences[i] for i in keep], train.labels[keep])
    vectorizer = TfidfVectorizer(analyzer=str.split)
    x_train = vectorizer.fit_transform(documents(vocab, train))
    x_valid = vectorizer.transform(documents(vocab, valid))
    x_test = vectorizer.transform(documents(vocab, task.test))
    leaves, samples = forest_caps(len(train), task.n_classes, trees, memory_gb, max_leaf_nodes, tree_samples)
    sizes = sizes_to_try(trees, len(valid))
    if leaves is not None:
        sizes = affordable_trees(sizes, leaves, task.n_classes, memory_gb)
    forest = RandomForestClassifier(n_estimators=1, warm_start=True, max_leaf_nodes=leaves,
                                    max_samples=samples, n_jobs=threads, random_state=seed)
    selection, best = [], None
    few = task.n_classes <= FEW_CLASSES  # next-k-mer forests are chosen by accuracy, the benchmark's metric
    for count in progress(sizes, desc="forest sizes", unit="size"):
        forest.set_params(n_estimators=count)
        with warnings.catch_warnings():  # 4^k classes among fewer samples is expected, not a regression task
            warnings.filterwarnings("ignore", message="The number of unique classes")
            forest.fit(x_train, train.labels)  # warm start: adds trees to the forest of the last size
        predicted = _predict(forest, x_valid, task.n_classes)[0][:, 0]
        accuracy = float((predicted == valid.labels).mean())
        mcc = float(matthews_corrcoef(valid.labels, predicted)) if few else float("nan")
        selection.append([count, accuracy, mcc])
        score = mcc if few else accuracy
        if best is None or score > best[1]:  # ties keep the smaller forest
            best = (count, score, *_predict(forest, x_test, task.n_classes))
    count, _, ranked, probs = best
    valid_accuracy, valid_mcc = next(row[1:] for row in selection if row[0] == count)
    write_tsv(out / "tree_selection.tsv", ["trees", "validation_accuracy", "validation_mcc"], selection)
    info = {"model": f"tfidf_{vocab.name}", "kind": "tfidf", **task.facts(), "k": k,
            "vocabulary": vocab.name, "vocab_kind": vocab.kind, "vocab_size": len(vocab),
            "features": len(vectorizer.vocabulary_), "trees": count, "trees_chosen_on_validation": len(sizes) > 1,
            "max_leaf_nodes": leaves, "tree_samples": samples, "validation_accuracy": valid_accuracy,
            "validation_mcc": valid_mcc, "validation_samples": len(valid), "seed": seed}
    metrics = write_result(out, info, task.test.labels, ranked, task.n_classes, train.labels, probs,
                           task.class_labels)
    log.info("%s on %s: %d trees (validation MCC %.4f), test accuracy %.4f (majority %.4f, random %.4f)",
             info["model"], task.name, count, valid_mcc, metrics["accuracy"], metrics["majority_baseline"],
             metrics["random_baseline"])
    return metrics

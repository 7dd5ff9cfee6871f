"""Labelled sequence tasks, read the same way by every classifier (language models and TF-IDF baselines).

A task directory is either next-k-mer data (`nextkmer-data`: the label of a sample is the k nt after its
50 nt input, one of 4^k classes) or a GUE-style folder of `train.csv`, `dev.csv` and `test.csv` with the
columns `sequence,label`.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dnalm.core.errors import InputError
from dnalm.evaluation.nextkmer import SUMMARY, kmer_class


@dataclass
class Split:
    sequences: list[str]
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.sequences)

    def head(self, n: int) -> "Split":
        return Split(self.sequences[:n], self.labels[:n])

    def tail(self, n: int) -> "Split":
        return Split(self.sequences[len(self) - n:], self.labels[len(self) - n:])


@dataclass
class Task:
    """Train, validation (None where the task has none) and test splits of one classification task."""

    name: str
    n_classes: int
    train: Split
    valid: Split | None
    test: Split
    #: Leak counts of task.json (kind -> rows), carried into every result so the report can show them
    #: beside the scores they inflate; empty for a folder without task.json.
    leaks: dict[str, int] = field(default_factory=dict)


def load_task(path: Path, k: int | None = None) -> Task:
    """Next-k-mer data (needs `k`) or a GUE-style CSV folder."""
    path = Path(path)
    if (path / SUMMARY).is_file():
        if k is None:
            raise InputError(f"--data {path}: next-k-mer data needs --k")
        return _nextkmer_task(path, k)
    if (path / "train.csv").is_file():
        if k is not None:  # a k here would be recorded as the task's, which has none
            raise InputError(f"--k {k}: --data {path} is a labelled task with its own labels; --k is for "
                             "next-k-mer data only")
        return _csv_task(path)
    raise InputError(f"--data {path}: neither next-k-mer data ({SUMMARY}) nor a folder with train.csv")


def _nextkmer_task(path: Path, k: int) -> Task:
    max_k = json.loads((path / SUMMARY).read_text())["max_k"]
    if not 1 <= k <= max_k:
        raise InputError(f"--k {k}: must be between 1 and {max_k} (the --max-k of this next-k-mer data)")
    splits = {}
    for name in ("train", "test"):
        with open(path / f"{name}.tsv") as fh:
            rows = list(csv.DictReader(fh, delimiter="\t"))
        splits[name] = Split([r["input"] for r in rows], kmer_class([r["next"][:k] for r in rows]))
    return Task(f"next{k}mer", 4 ** k, splits["train"], None, splits["test"])


def _csv_task(path: Path) -> Task:
    splits = {name: read_labelled_csv(path / f"{name}.csv") for name in ("train", "dev", "test")
              if (path / f"{name}.csv").is_file()}
    if "test" not in splits:
        raise InputError(f"--data {path}: no test.csv")
    names = sorted({label for _, labels in splits.values() for label in labels})
    if len(names) < 2:
        raise InputError(f"--data {path}: every row has label {names[0]!r}; a task needs two classes or more")
    index = {name: i for i, name in enumerate(names)}
    built = {name: Split(seqs, np.array([index[x] for x in labels], dtype=np.int64))
             for name, (seqs, labels) in splits.items()}
    meta_file = path / "task.json"  # written by the task-* builders
    meta = json.loads(meta_file.read_text()) if meta_file.is_file() else {}
    leaks = {kind: n for kind, n in meta.get("leaks", {}).items() if isinstance(n, int)}
    return Task(meta.get("task", path.name), len(names), built["train"], built.get("dev"), built["test"], leaks)


def read_labelled_csv(path: Path) -> tuple[list[str], list[int]]:
    """Sequences and integer labels of a `sequence,label` CSV, checked to be a DNA classification task."""
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"sequence", "label"} - set(reader.fieldnames or [])
        if missing:
            raise InputError(f"{path}: no column {', '.join(sorted(missing))} (header must have sequence,label)")
        seqs, labels = [], []
        for lineno, row in enumerate(reader, start=2):
            seq = (row["sequence"] or "").strip().upper()
            if not seq or (row["label"] or "").strip() == "":
                raise InputError(f"{path}: line {lineno}: empty sequence or label")
            seqs.append(seq)
            labels.append(parse_label(row["label"], f"{path}: line {lineno}"))
    if not seqs:
        raise InputError(f"{path}: no rows")
    check_nucleotides(path, seqs)
    return seqs, labels


def parse_label(text: str, where: str) -> int:
    """A label is a class number. `1` and `1.0` (as spreadsheets write it) are one class, not two; a label
    such as `1.5` or `cat` is an error rather than a class of its own."""
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value.is_integer():
        raise InputError(f"{where}: label {text!r} is not an integer class (0, 1, 2 ...)")
    return int(value)


def check_nucleotides(path: Path, seqs: list[str]) -> None:
    """Refuse sequences that are mostly not A/C/G/T (N runs, protein): they encode to unknown tokens and
    train to chance without any error. Occasional N or IUPAC codes stay (encoded leniently as [UNK])."""
    mostly_other = [i for i, seq in enumerate(seqs) if 2 * sum(map(seq.count, "ACGT")) < len(seq)]
    if mostly_other:
        raise InputError(f"{path}: {len(mostly_other)} of {len(seqs)} sequences are mostly not A/C/G/T (the "
                         f"first is sequence {mostly_other[0] + 1}); a task needs DNA sequences")

"""Labelled sequence tasks, read the same way by every classifier (language models and TF-IDF baselines).

A task directory is either next-k-mer data (`nextkmer-data`: the label of a sample is the k nt after its
50 nt input, one of 4^k classes) or a GUE-style folder of `train.csv`, `dev.csv` and `test.csv` with the
columns `sequence,label`. The labels of such a folder are the classes 0..C-1 as written, or are declared
classes by a label map (`--label-map=-1=0,1=1`): a classifier never renumbers them unasked, so a result's
class 1 is the file's label 1 (predictions.tsv shows the file's labels either way).
"""

from __future__ import annotations

import csv
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np

from dnalm.core.errors import InputError
from dnalm.evaluation.nextkmer import SUMMARY, kmer_class
from dnalm.evaluation.published import benchmark_task

_WHITESPACE = re.compile(r"\s")
_NOT_ACGT = re.compile(r"[^ACGT]")


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
    #: The file's label of each class 0..C-1 (a CSV task), so results show the labels the user wrote; None
    #: where the classes are the labels (next-k-mer data: a k-mer's base-4 value).
    class_labels: list[int] | None = None
    #: (benchmark, task) where the task is one of a benchmark's with published results (`published`).
    benchmark: tuple[str, str] | None = None

    def facts(self) -> dict:
        """What every result of this task records about it: its name, benchmark task and leaks."""
        benchmark, task = self.benchmark or (None, None)
        return {"task": self.name, "benchmark": benchmark, "benchmark_task": task, "task_leaks": self.leaks}


def train_and_validation(task: Task, fraction: float) -> tuple[Split, Split]:
    """The rows a classifier trains on and those it is chosen on (early stopping, a forest size, a probe's
    regularisation): the task's dev split, else the last `fraction` of the training rows (a block: tasks keep
    genome order, so neighbours do not straddle the two)."""
    if task.valid is not None:
        return task.train, task.valid
    n_valid = max(1, round(fraction * len(task.train)))
    return task.train.head(len(task.train) - n_valid), task.train.tail(n_valid)


def load_task(path: Path, k: int | None = None, label_map: str | None = None) -> Task:
    """Next-k-mer data (needs `k`) or a GUE-style CSV folder (its labels mapped by `label_map`, if given)."""
    path = Path(path)
    if (path / SUMMARY).is_file():
        if k is None:
            raise InputError(f"--data {path}: next-k-mer data needs --k")
        if label_map is not None:
            raise InputError(f"--label-map {label_map}: --data {path} is next-k-mer data, whose classes are k-mers")
        return _nextkmer_task(path, k)
    if (path / "train.csv").is_file():
        if k is not None:  # a k here would be recorded as the task's, which has none
            raise InputError(f"--k {k}: --data {path} is a labelled task with its own labels; --k is for "
                             "next-k-mer data only")
        return _csv_task(path, label_map)
    raise InputError(f"--data {path}: neither next-k-mer data ({SUMMARY}) nor a folder with train.csv")


def table_reader(fh: IO[str], delimiter: str = ",") -> csv.DictReader:
    """The rows of a task's CSV or TSV file. Every task reader goes through here: it lifts the csv module's
    field limit (128 KiB), so a sequence is bounded by memory, not by a parser setting."""
    csv.field_size_limit(sys.maxsize)
    return csv.DictReader(fh, delimiter=delimiter)


def check_fields(row: dict, where: str) -> None:
    """Refuse a row with more fields than its header (csv puts them under None): a delimiter inside a field
    (a tab in a sequence) would otherwise shift or cut what the row's columns hold."""
    if None in row:
        raise InputError(f"{where}: {len(row[None])} more field(s) than the header has (a delimiter inside a "
                         "field?)")


def task_sequence(text: str | None, where: str) -> str:
    """A sequence as every classifier reads it: upper case (lower or soft-masked case is the same bases),
    surrounding whitespace dropped. Whitespace inside is refused: it would be read as unknown tokens and
    silently cost accuracy, and it usually means columns or lines that ran together."""
    seq = (text or "").strip().upper()
    inside = _WHITESPACE.search(seq)
    if inside:
        raise InputError(f"{where}: whitespace inside the sequence (after base {inside.start()}); a sequence is "
                         "one run of bases")
    return seq


def _nextkmer_task(path: Path, k: int) -> Task:
    max_k = json.loads((path / SUMMARY).read_text())["max_k"]
    if not 1 <= k <= max_k:
        raise InputError(f"--k {k}: must be between 1 and {max_k} (the --max-k of this next-k-mer data)")
    train, test = (_nextkmer_split(path / f"{name}.tsv", k) for name in ("train", "test"))
    return Task(f"next{k}mer", 4 ** k, train, None, test)


def _nextkmer_split(path: Path, k: int) -> Split:
    """The inputs of a next-k-mer file and, as classes, the first k nt of their `next` column."""
    seqs, kmers = [], []
    with open(path, newline="") as fh:
        reader = table_reader(fh, "\t")
        missing = {"input", "next"} - set(reader.fieldnames or [])
        if missing:
            raise InputError(f"{path}: no column {', '.join(sorted(missing))} (not next-k-mer data)")
        for lineno, row in enumerate(reader, start=2):
            where = f"{path}: line {lineno}"
            check_fields(row, where)
            seq = task_sequence(row["input"], where)
            if not seq:
                raise InputError(f"{where}: empty input")
            seqs.append(seq)
            kmers.append(next_kmer(row["next"], k, where))
    return Split(seqs, kmer_class(kmers))


def next_kmer(text: str | None, k: int, where: str) -> str:
    """The first k nt of a `next` column: the class to predict, which needs k bases of A/C/G/T."""
    kmer = task_sequence(text, where)[:k]
    if len(kmer) < k:
        raise InputError(f"{where}: next {kmer!r} has {len(kmer)} nt, fewer than --k {k}")
    if _NOT_ACGT.search(kmer):
        raise InputError(f"{where}: next {kmer!r} is not A/C/G/T only, so it is none of the 4^k classes")
    return kmer


def _csv_task(path: Path, label_map: str | None) -> Task:
    splits = {name: read_labelled_csv(path / f"{name}.csv") for name in ("train", "dev", "test")
              if (path / f"{name}.csv").is_file()}
    if "test" not in splits:
        raise InputError(f"--data {path}: no test.csv")
    found = sorted({label for _, labels in splits.values() for label in labels})
    if len(found) < 2:
        raise InputError(f"--data {path}: every row has label {found[0]!r}; a task needs two classes or more")
    classes = class_labels(path, found, label_map)
    index = {label: i for i, label in enumerate(classes)}
    built = {name: Split(seqs, np.array([index[x] for x in labels], dtype=np.int64))
             for name, (seqs, labels) in splits.items()}
    meta_file = path / "task.json"  # written by the task-* builders
    meta = json.loads(meta_file.read_text()) if meta_file.is_file() else {}
    leaks = {kind: n for kind, n in meta.get("leaks", {}).items() if isinstance(n, int)}
    benchmark = (meta["benchmark"], meta["benchmark_task"]) if meta.get("benchmark") else benchmark_task(path)
    return Task(meta.get("task", path.name), len(classes), built["train"], built.get("dev"), built["test"], leaks,
                classes, benchmark)


def class_labels(path: Path, found: list[int], label_map: str | None) -> list[int]:
    """The file label of each class 0..C-1: the labels themselves where they are 0..C-1, else as `label_map`
    declares. Any other set of labels ({-1, 0}, {1, 2}, {0, 2}) is refused rather than renumbered, as a
    renumbering would silently turn the file's 0 into class 1 in every result."""
    shown = ", ".join(map(str, found))
    if label_map is None:
        if found != list(range(len(found))):
            example = ",".join(f"{label}={i}" for i, label in enumerate(found))
            raise InputError(f"--data {path}: labels {shown} are not the classes 0..{len(found) - 1}; declare "
                             f"which label is which class with --label-map (e.g. --label-map={example})")
        return found
    mapping = parse_label_map(label_map)
    unmapped = [label for label in found if label not in mapping]
    if unmapped:
        raise InputError(f"--label-map {label_map}: the labels of --data {path} ({shown}) include "
                         f"{', '.join(map(str, unmapped))}, which it does not map")
    unused = [label for label in mapping if label not in found]
    if unused:
        raise InputError(f"--label-map {label_map}: maps {', '.join(map(str, unused))}, which no file of --data "
                         f"{path} has (its labels are {shown})")
    return sorted(mapping, key=mapping.__getitem__)


def parse_label_map(text: str) -> dict[int, int]:
    """`FILE_LABEL=CLASS,...` (`-1=0,1=1`): each file label once, the classes 0..C-1 each once."""
    mapping: dict[int, int] = {}
    for item in text.split(","):
        label, sep, number = item.partition("=")
        if not sep or not number.strip().isdigit():
            raise InputError(f"--label-map {text}: {item!r} is not FILE_LABEL=CLASS (a class is 0, 1, 2 ...)")
        file_label = parse_label(label, f"--label-map {text}")
        if file_label in mapping:
            raise InputError(f"--label-map {text}: label {file_label} is mapped twice")
        mapping[file_label] = int(number)
    if sorted(mapping.values()) != list(range(len(mapping))) or len(mapping) < 2:
        raise InputError(f"--label-map {text}: the classes must be 0..C-1 (C of 2 or more), each for one label")
    return mapping


def read_labelled_csv(path: Path) -> tuple[list[str], list[int]]:
    """Sequences and integer labels of a `sequence,label` CSV, checked to be a DNA classification task."""
    with open(path, newline="") as fh:
        reader = table_reader(fh)
        missing = {"sequence", "label"} - set(reader.fieldnames or [])
        if missing:
            raise InputError(f"{path}: no column {', '.join(sorted(missing))} (header must have sequence,label)")
        seqs, labels = [], []
        for lineno, row in enumerate(reader, start=2):
            check_fields(row, f"{path}: line {lineno}")
            seq = task_sequence(row["sequence"], f"{path}: line {lineno}")
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

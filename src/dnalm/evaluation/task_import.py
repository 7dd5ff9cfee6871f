"""Benchmarks in the files users have, read into one dnalm task with the leak checks of every task.

What `--source` holds decides how it is read and which splits are kept:
- a folder of splits, `train` and `test` and optionally `dev` (or `valid`, `validation`), each `.csv`, `.tsv`
  or `.parquet` (GUE): the splits are kept as given; without dev, dev is carved from train (1/9, by group);
- a folder of fold files (`fold_1.csv` ... any name ending in its fold number): `--test-fold N` is the test
  split, the next fold (cyclically) dev, the other folds train;
- a HuggingFace `datasets` DatasetDict saved with `save_to_disk` (Nucleotide Transformer downstream tasks):
  its train, validation and test splits are kept; read with pyarrow, so `datasets` need not be installed;
- one `.csv`, `.tsv` or `.parquet` file, a saved `datasets` Dataset, or a FASTA of `>name|label` records:
  split here, 80/10/10, stratified, by group.
Columns are chosen by name (`--sequence-column`, `--label-column`), so index columns are ignored. Splitting
here keeps groups whole: rows of one `--group-column` value, identical sequences on either strand, and a
shuffled negative with its positive (`tasks.pair_key`). Given splits are never changed unasked: their
leaks are reported, and removed only with `--dedup`.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any, Iterator

from dnalm.core.errors import InputError
from dnalm.core.logs import log
from dnalm.evaluation.genome_tasks import (
    SPLITS,
    assign_splits,
    dedup_splits,
    split_task,
    write_task,
)
from dnalm.evaluation.published import benchmark_task
from dnalm.evaluation.task_data import (
    check_fields,
    check_nucleotides,
    parse_label,
    table_reader,
    task_sequence,
)

TABLES = (".csv", ".tsv", ".parquet", ".csv.gz", ".tsv.gz")
FASTA = (".fa", ".fasta", ".fna", ".fa.gz", ".fasta.gz", ".fna.gz")
SPLIT_NAMES = {"train": "train", "dev": "dev", "valid": "dev", "validation": "dev", "test": "test"}
_FOLD = re.compile(r"fold[_-]?(\d+)$", re.IGNORECASE)


class Columns:
    """Which columns of a table hold the sequence, the label and (optionally) the group of a row."""

    def __init__(self, sequence: str = "sequence", label: str = "label", group: str | None = None):
        self.sequence, self.label, self.group = sequence, label, group

    def rows(self, records: Iterator[dict[str, Any]], names: list[str], where: str,
             first: tuple[str, int] = ("row", 1)) -> list[dict[str, Any]]:
        """The rows of a table as task rows; `first` names the table's first record in errors (a text file's
        line 2, a dataset's row 1)."""
        wanted = {"--sequence-column": self.sequence, "--label-column": self.label, "--group-column": self.group}
        for option, name in wanted.items():
            if name is not None and name not in names:
                raise InputError(f"{where}: no column {name} ({option}); the columns are {', '.join(names)}")
        unit, start = first
        rows = []
        for n, record in enumerate(records, start=start):
            check_fields(record, f"{where}: {unit} {n}")
            seq, label = (("" if record[c] is None else str(record[c])).strip() for c in (self.sequence, self.label))
            seq = task_sequence(seq, f"{where}: {unit} {n}")
            if not seq or not label or label.lower() in ("nan", "none"):
                raise InputError(f"{where}: {unit} {n}: empty sequence or label")
            row = {"sequence": seq, "label": parse_label(label, f"{where}: {unit} {n}")}
            if self.group is not None:
                row["group"] = str(record[self.group])
            rows.append(row)
        if not rows:
            raise InputError(f"{where}: no rows")
        check_nucleotides(Path(where), [r["sequence"] for r in rows])
        return rows


def suffix(path: Path) -> str:
    name = path.name.lower()
    return next((s for s in TABLES + FASTA if name.endswith(s)), path.suffix.lower())


def stem(path: Path) -> str:
    return path.name[: len(path.name) - len(suffix(path))] if suffix(path) else path.name


def read_table(path: Path, columns: Columns) -> list[dict[str, Any]]:
    """The rows of a CSV, TSV (optionally gzipped) or parquet file."""
    kind = suffix(path)
    if kind == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        return columns.rows(iter(table.to_pylist()), table.column_names, str(path))
    opener = gzip.open if kind.endswith(".gz") else open
    with opener(path, "rt", newline="") as fh:
        reader = table_reader(fh, "\t" if kind.startswith(".tsv") else ",")
        return columns.rows(reader, list(reader.fieldnames or []), str(path), ("line", 2))


def read_arrow_dataset(folder: Path, columns: Columns) -> list[dict[str, Any]]:
    """The rows of a `datasets` Dataset saved to disk: Arrow IPC streams listed in its state.json."""
    import pyarrow as pa

    files = [folder / f["filename"] for f in json.loads((folder / "state.json").read_text())["_data_files"]]
    tables = []
    for path in files:
        with pa.memory_map(str(path)) as source:
            tables.append(pa.ipc.open_stream(source).read_all())
    table = pa.concat_tables(tables)
    return columns.rows(iter(table.to_pylist()), table.column_names, str(folder))


def read_fasta_labels(path: Path) -> list[dict[str, Any]]:
    from dnalm.genome.fasta import read_fasta

    rows = []
    for record in read_fasta(path):
        label = record.name.rsplit("|", 1)[-1] if "|" in record.name else ""
        if not label:
            raise InputError(f"--source {path}: record '{record.name}' has no label (header must end in |label)")
        rows.append({"sequence": record.seq.decode().upper(),
                     "label": parse_label(label, f"--source {path}: record '{record.name}'")})
    check_nucleotides(path, [r["sequence"] for r in rows])
    return rows


def split_files(folder: Path) -> dict[str, Path]:
    """The split files of a folder, by dnalm split name; two files for one split is an error."""
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        name = SPLIT_NAMES.get(stem(path).lower())
        if name and suffix(path) in TABLES:
            if name in found:
                raise InputError(f"--source {folder}: both {found[name].name} and {path.name} are the {name} split")
            found[name] = path
    return found


def fold_files(folder: Path) -> dict[int, Path]:
    folds: dict[int, Path] = {}
    for path in sorted(folder.iterdir()):
        match = _FOLD.search(stem(path))
        if match and suffix(path) in TABLES:
            folds[int(match.group(1))] = path
    return folds


def read_source(source: Path, columns: Columns, test_fold: int | None) -> tuple[dict[str, list], str]:
    """The rows of `source` by split ('all' when dnalm is to split them) and what was read, for task.json."""
    if not source.exists():
        raise InputError(f"--source {source}: no such file or folder")
    folds = fold_files(source) if source.is_dir() else {}
    if test_fold is not None and not folds:
        raise InputError(f"--test-fold {test_fold}: --source {source} is not a folder of fold files (fold_1.csv ...)")
    if source.is_file():
        if suffix(source) in TABLES:
            return {"all": read_table(source, columns)}, "table"
        return {"all": read_fasta_labels(source)}, "fasta"
    if (source / "dataset_dict.json").is_file():
        names = json.loads((source / "dataset_dict.json").read_text())["splits"]
        unknown = [n for n in names if n not in SPLIT_NAMES]
        if unknown:
            raise InputError(f"--source {source}: dataset splits {', '.join(unknown)} are none of "
                             f"{', '.join(SPLIT_NAMES)}")
        return {SPLIT_NAMES[n]: read_arrow_dataset(source / n, columns) for n in names}, "datasets DatasetDict"
    if (source / "state.json").is_file():
        return {"all": read_arrow_dataset(source, columns)}, "datasets Dataset"
    if folds:
        return _folds(source, folds, columns, test_fold), f"fold files, test fold {test_fold}"
    files = split_files(source)
    if "train" not in files or "test" not in files:
        raise InputError(f"--source {source}: a task folder needs train and test files (.csv, .tsv or .parquet; "
                         f"dev optional), fold files, or a saved HF dataset")
    return {name: read_table(path, columns) for name, path in files.items()}, "split files"


def _folds(source: Path, folds: dict[int, Path], columns: Columns, test_fold: int | None) -> dict[str, list]:
    numbers = sorted(folds)
    if test_fold is None:
        raise InputError(f"--source {source}: holds fold files (folds {', '.join(map(str, numbers))}): choose the "
                         f"test fold with --test-fold")
    if test_fold not in folds:
        raise InputError(f"--test-fold {test_fold}: --source {source} has folds {', '.join(map(str, numbers))}")
    if len(numbers) < 3:
        raise InputError(f"--source {source}: {len(numbers)} fold files; train, dev and test need three or more")
    dev_fold = numbers[(numbers.index(test_fold) + 1) % len(numbers)]
    parts: dict[str, list] = {"train": [], "dev": read_table(folds[dev_fold], columns),
                              "test": read_table(folds[test_fold], columns)}
    for n in numbers:
        if n not in (test_fold, dev_fold):
            parts["train"] += read_table(folds[n], columns)
    log.info("folds: test %d, dev %d, train %s", test_fold, dev_fold,
             ", ".join(str(n) for n in numbers if n not in (test_fold, dev_fold)))
    return parts


def _carve_dev(train: list[dict[str, Any]], seed: int) -> tuple[list, list]:
    """A ninth of the training rows as dev, whole groups at a time (a GUE folder without dev.csv); stratified
    by label unless that leaves dev empty (a few rows per label)."""
    groups, seqs = [r.get("group", i) for i, r in enumerate(train)], [r["sequence"] for r in train]
    fractions = {"train": 8 / 9, "dev": 1 / 9}
    split = assign_splits(groups, [r["label"] for r in train], seqs, seed, fractions=fractions)
    if "dev" not in split:
        split = assign_splits(groups, [0] * len(train), seqs, seed, fractions=fractions)
    return [r for r, s in zip(train, split) if s == "train"], [r for r, s in zip(train, split) if s == "dev"]


def default_name(source: Path) -> str:
    """A folder's benchmark path, such as GUE's `tf/0` (its folder names say what the task is); a file's name."""
    source = Path(source).resolve()
    return f"{source.parent.name}/{source.name}" if source.is_dir() and source.parent.name else stem(source)


def import_task(source: Path, out: Path, *, name: str | None, columns: Columns, test_fold: int | None, seed: int,
                train_fraction: float, dedup: bool) -> dict:
    """Read a benchmark (module doc), check it for leaks and write it as a dnalm task folder."""
    source = Path(source)
    parts, kind = read_source(source, columns or Columns(), test_fold)
    name = name or default_name(source)
    extra: dict[str, Any] = {"source": str(source), "source_kind": kind, "dedup": dedup}
    published = benchmark_task(source)
    if published:  # the report shows this task's published results, whatever name it is given
        extra["benchmark"], extra["benchmark_task"] = published
    if "all" in parts:  # split here: see assign_splits for what stays together
        if dedup:  # no split yet, so only the rows whose sequence carries two labels go
            parts, extra["dedup_removed"] = dedup_splits(parts)
        rows = parts["all"]
        extra["splits"] = "made by dnalm (80/10/10, stratified, by group)"
        return split_task(out, name, rows, [r.get("group", i) for i, r in enumerate(rows)], seed, train_fraction,
                          extra)
    if "dev" not in parts:
        parts["train"], parts["dev"] = _carve_dev(parts["train"], seed)
        extra["splits"] = "train and test as given; dev a ninth of train"
    else:
        extra["splits"] = "as given"
    parts = {p: parts[p] for p in SPLITS}
    if dedup:
        parts, extra["dedup_removed"] = dedup_splits(parts)
    rows = [r for part in parts.values() for r in part]
    split = [p for p, part in parts.items() for _ in part]
    return write_task(out, name, rows, split, seed, train_fraction, extra)


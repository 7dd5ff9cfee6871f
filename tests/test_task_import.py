"""Benchmarks in the files users have: one table with its own column names, fold files, saved HF datasets;
shuffled negatives stay with their positive when dnalm splits, and are reported (and with --dedup removed)
when given splits separate them."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from helpers import LAMBDA_SEQ, SPLITS, dnalm, dnalm_fails, read_mqc_table, read_splits


def promoter_pairs(n: int, length: int = 300, seed: int = 0) -> list[tuple[str, str]]:
    """`n` (positive, negative) pairs in the way of DeePromoter and GENA-LM's promoter sets: a piece of lambda
    phage and a copy whose 20 equal pieces are partly rearranged (12 of them permuted)."""
    rng = np.random.default_rng(seed)
    pairs = []
    for i in range(n):
        seq = LAMBDA_SEQ[i * length:(i + 1) * length]
        pieces = [seq[j * length // 20:(j + 1) * length // 20] for j in range(20)]
        chosen = rng.choice(20, size=12, replace=False)
        moved = list(pieces)
        for target, source in zip(chosen, np.roll(chosen, 1)):
            moved[target] = pieces[source]
        pairs.append((seq, "".join(moved)))
    return pairs


def rows_of(parts: dict[str, list[dict[str, str]]]) -> Counter:
    return Counter((r["sequence"], int(r["label"])) for part in parts.values() for r in part)


def write_table(path: Path, header: list[str], rows: list[list]) -> Path:
    """CSV or TSV as pandas writes it with its index (an unnamed first column), or parquet."""
    if path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table({name: [r[i] for r in rows] for i, name in enumerate(header)}), path)
        return path
    sep = "\t" if path.suffix == ".tsv" else ","
    path.write_text(sep.join([""] + header) + "\n" + "".join(sep.join(map(str, [i, *r])) + "\n"
                                                             for i, r in enumerate(rows)))
    return path


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet"])
def test_one_table_with_its_own_column_names_is_split_with_pairs_kept_whole(suffix, tmp_path):
    pairs = promoter_pairs(60)
    rows = [[i, seq, label] for i, pair in enumerate(pairs) for seq, label in zip(pair, (1, 0))]
    source = write_table(tmp_path / f"promoters{suffix}", ["id", "seq", "promoter_presence"], rows)
    dnalm("task-import", "--source", source, "--sequence-column", "seq", "--label-column", "promoter_presence",
          "--out", tmp_path / "task")
    parts = read_splits(tmp_path / "task")
    assert rows_of(parts) == Counter((seq, label) for _, seq, label in rows)  # every row, nothing altered
    split_of = {r["sequence"]: s for s, part in parts.items() for r in part}
    assert all(split_of[pos] == split_of[neg] for pos, neg in pairs)  # found without a group column
    assert [len(parts[s]) for s in SPLITS] == [96, 12, 12]
    summary = json.loads((tmp_path / "task" / "task.json").read_text())
    assert summary["task"] == "promoters" and summary["source_kind"] == "table"
    assert summary["leaks"]["paired_across_splits"] == 0


def test_a_group_column_keeps_its_rows_in_one_split(tmp_path):
    """Rows of one group that are not rearrangements of each other (here: unrelated pieces) stay together."""
    chunks = [LAMBDA_SEQ[i * 100:(i + 1) * 100] for i in range(90)]
    rows = [[seq, i % 2, f"g{i // 3}"] for i, seq in enumerate(chunks)]
    source = write_table(tmp_path / "grouped.csv", ["sequence", "label", "family"], rows)
    dnalm("task-import", "--source", source, "--group-column", "family", "--out", tmp_path / "task")
    parts = read_splits(tmp_path / "task")
    splits_of_group = {}
    for s, part in parts.items():
        for r in part:
            splits_of_group.setdefault(r["group"], set()).add(s)
    assert len(splits_of_group) == 30 and all(len(found) == 1 for found in splits_of_group.values())
    assert rows_of(parts) == Counter((seq, label) for seq, label, _ in rows)


def test_fold_files_keep_their_folds_and_report_the_twins_they_separate(tmp_path):
    """GENA-LM's layout: five fold files, and some negatives in another fold than their positive."""
    pairs = promoter_pairs(50)
    folds = {f: [] for f in range(1, 6)}
    for i, (pos, neg) in enumerate(pairs):
        folds[i % 5 + 1].append([pos, 1])
        folds[(i % 5 + 1) if i % 2 else ((i + 1) % 5 + 1)].append([neg, 0])  # odd pairs together, even apart
    source = tmp_path / "epd_len_300"
    source.mkdir()
    for f, rows in folds.items():
        write_table(source / f"fold_{f}.csv", ["sequence", "promoter_presence"], rows)

    args = ("task-import", "--source", source, "--label-column", "promoter_presence")
    error = dnalm_fails(*args, "--out", tmp_path / "no_fold")
    assert "holds fold files (folds 1, 2, 3, 4, 5): choose the test fold with --test-fold" in error

    dnalm(*args, "--test-fold", "2", "--out", tmp_path / "kept")
    parts = read_splits(tmp_path / "kept")
    as_rows = {f: Counter((s, l) for s, l in rows) for f, rows in folds.items()}
    assert rows_of({"test": parts["test"]}) == as_rows[2] and rows_of({"dev": parts["dev"]}) == as_rows[3]
    assert rows_of({"train": parts["train"]}) == as_rows[1] + as_rows[4] + as_rows[5]
    # the test's own count: a dev or test row whose twin sits in an earlier split
    order = {s: k for k, s in enumerate(SPLITS)}
    split_of = {r["sequence"]: s for s, part in parts.items() for r in part}
    crossing = sum(split_of[a] != split_of[b] for a, b in pairs)
    assert crossing >= 5
    summary = json.loads((tmp_path / "kept" / "task.json").read_text())
    assert summary["leaks"]["paired_across_splits"] == crossing and summary["splits"] == "as given"
    assert summary["task"] == f"{tmp_path.name}/epd_len_300"  # a folder keeps its benchmark path

    dnalm(*args, "--test-fold", "2", "--dedup", "--out", tmp_path / "dedup")
    out = read_splits(tmp_path / "dedup")
    later = Counter()
    for a, b in pairs:
        if split_of[a] != split_of[b]:
            later[max(split_of[a], split_of[b], key=order.get)] += 1
    assert {s: len(parts[s]) - len(out[s]) for s in SPLITS} == {s: later[s] for s in SPLITS}
    assert json.loads((tmp_path / "dedup" / "task.json").read_text())["leaks"]["paired_across_splits"] == 0


def test_a_saved_hf_datasetdict_keeps_its_splits(tmp_path):
    """The Nucleotide Transformer downstream tasks' form: a DatasetDict saved with `save_to_disk`."""
    import datasets

    chunks = [LAMBDA_SEQ[i * 80:(i + 1) * 80] for i in range(40)]
    given = {"train": chunks[:30], "validation": chunks[30:35], "test": chunks[35:]}
    datasets.DatasetDict({
        split: datasets.Dataset.from_dict({"sequence": seqs, "label": [i % 2 for i in range(len(seqs))],
                                           "name": [f"{split}{i}" for i in range(len(seqs))]})
        for split, seqs in given.items()}).save_to_disk(str(tmp_path / "nt_task"))
    dnalm("task-import", "--source", tmp_path / "nt_task", "--name", "NT/H3", "--out", tmp_path / "task")
    parts = read_splits(tmp_path / "task")
    assert [r["sequence"] for r in parts["dev"]] == given["validation"]
    assert {s: [r["sequence"] for r in parts[s]] for s in ("train", "test")} == \
        {s: given[s] for s in ("train", "test")}
    summary = json.loads((tmp_path / "task" / "task.json").read_text())
    assert summary["task"] == "NT/H3" and summary["source_kind"] == "datasets DatasetDict"


@pytest.mark.slow
def test_a_baseline_below_chance_is_called_a_split_problem(vocabs, tmp_path):
    """Train and test labelled by opposite rules (GC-rich is 1 in train, 0 in test): the forest learns the
    rule and scores far below chance, which the step says, and the report's task check shows with the
    task's leaks (three training rows planted in test)."""
    chunks = [LAMBDA_SEQ[i * 100:(i + 1) * 100] for i in range(300)]
    gc = [sum(map(c.count, "GC")) for c in chunks]
    median = sorted(gc)[len(gc) // 2]
    rich = [int(g > median) for g in gc]
    source = tmp_path / "inverted"
    source.mkdir()
    split_of = ["train"] * 8 + ["dev", "test"]  # interleaved: lambda's GC content changes along its genome
    for split in ("train", "dev", "test"):
        (source / f"{split}.csv").write_text("sequence,label\n" + "".join(
            f"{c},{rich[i] ^ (split == 'test')}\n" for i, c in enumerate(chunks) if split_of[i % 10] == split))
    with open(source / "test.csv", "a") as fh:
        fh.writelines(f"{chunks[i]},{rich[i]}\n" for i in (0, 1, 2))  # training rows, with their label
    dnalm("task-import", "--source", source, "--out", tmp_path / "task")
    proc = dnalm("tfidf-baseline", "--data", tmp_path / "task", "--vocab", vocabs["kmer4"], "--trees", "50",
                 "--out", tmp_path / "tfidf")
    metrics = json.loads((tmp_path / "tfidf" / "metrics.json").read_text())
    assert metrics["mcc"] < -0.3 and "MCC" in metrics["below_chance"]
    assert "below 0 on test" in proc.stderr and "split problem" in proc.stderr
    normal = tmp_path / "normal"
    normal.mkdir()
    for split in ("train", "dev"):
        (normal / f"{split}.csv").write_text((source / f"{split}.csv").read_text())
    (normal / "test.csv").write_text("sequence,label\n" + "".join(
        f"{c},{rich[i]}\n" for i, c in enumerate(chunks) if split_of[i % 10] == "test"))
    proc = dnalm("tfidf-baseline", "--data", normal, "--vocab", vocabs["kmer4"], "--trees", "50",
                 "--out", tmp_path / "tfidf_normal")
    assert json.loads((tmp_path / "tfidf_normal" / "metrics.json").read_text())["below_chance"] is None
    assert "split problem" not in proc.stderr
    dnalm("finetune-report", "--results", tmp_path / "tfidf", tmp_path / "tfidf_normal", "--out", tmp_path / "report")
    checks = {r["Sample"]: r for r in read_mqc_table(tmp_path / "report" / "task_checks_mqc.tsv")}
    inverted = checks[f"{tmp_path.name}/inverted"]  # an imported folder's task is named parent/folder
    assert inverted["seen before"] == "3" and inverted["two labels"] == "0" and inverted["below chance"] == "tfidf_kmer4"
    assert checks["normal"]["seen before"] == "n/a" and checks["normal"]["below chance"] == "none"
    assert (tmp_path / "report" / f"{tmp_path.name}_inverted_seeds.png").is_file()

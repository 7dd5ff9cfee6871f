"""Task inputs that are not what they seem: labels that are not the classes 0..C-1 (refused, or mapped as the user
declares with --label-map), whitespace inside a sequence, lower case, sequences longer than the csv module's field
limit, next-k-mer labels shorter than k. Each gets one line or the right result, never a silently wrong one."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import LAMBDA, LAMBDA_SEQ, dnalm, dnalm_fails, write_task

SPLITS = ("train", "dev", "test")


def _rows(labels: list[object], length: int = 100) -> list[tuple[str, object]]:
    """Lambda phage pieces with the given labels; the last label's rows are G-depleted, so a class can be learnt."""
    last = labels[-1]
    return [(LAMBDA_SEQ[i * 50:i * 50 + length].replace("G", "C") if label == last else
             LAMBDA_SEQ[i * 50:i * 50 + length], label) for i, label in enumerate(labels)]


def _task(folder, labels: list[object], n: int = 12):
    return write_task(folder, {s: _rows(labels * n) for s in SPLITS})


@pytest.fixture(scope="module")
def kmer4(tmp_path_factory):
    out = tmp_path_factory.mktemp("vocab") / "kmer4"
    dnalm("kmer-vocab", "--kind", "kmer", "--k", "4", "--out", out)
    return out


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, kmer4):
    """A dnalm model as `pretrain` writes it (2 steps on the lambda phage): the model of the fine-tuning tests."""
    base = tmp_path_factory.mktemp("tiny")
    dnalm("prepare-genome", "--fasta", LAMBDA, "--out", base / "genome")
    dnalm("tokenize-genome", "--genome", base / "genome", "--vocab", kmer4, "--out", base / "tokenized")
    dnalm("make-windows", "--tokenized", base / "tokenized", "--holdout-regions",
          base / "genome" / "holdout_default.bed", "--max-len", "64", "--min-len", "16", "--out", base / "windows")
    dnalm("pretrain", "--tokenized", base / "tokenized", "--windows", base / "windows", "--checkpoint-dir",
          base / "checkpoints", "--max-steps", "2", "--save-steps", "2", "--warmup-steps", "0", "--batch-size", "4",
          "--eval-windows", "8", "--out", base / "model")
    return base / "model" / "model"


# --- class 3: labels renumbered silently ---------------------------------------------------------------------


@pytest.mark.parametrize("labels", [[-1, 0], [1, 2], [0, 2], [0, 1, 3]])
def test_labels_that_are_not_the_classes_0_to_c_are_refused(labels, tmp_path):
    """Any label set other than 0..C-1 was renumbered in sorted order: {1, 2} became {0, 1}, and
    predictions.tsv called the file's 1 "0". Every command that reads a labelled task refuses it, names the
    folder and the labels, and points to --label-map."""
    task = _task(tmp_path / "task", labels)
    shown = ", ".join(map(str, labels))
    for step, args in (("tfidf-baseline", ["--vocab", tmp_path / "no_vocab"]), ("finetune", ["--model", "m"])):
        error = dnalm_fails(step, "--data", task, *args, "--out", tmp_path / step)
        assert f"--data {task}: labels {shown} are not the classes 0..{len(labels) - 1}" in error
        assert "--label-map" in error


@pytest.mark.parametrize("label_map, problem", [
    ("2=0,3=1", "include 1, which it does not map"),     # label 1 unmapped
    ("1=0,2=0", "the classes must be 0..C-1"),           # two labels, one class
    ("1=1,2=2", "the classes must be 0..C-1"),           # classes not from 0
    ("1=0,2=1,3=2", "maps 3, which no file"),            # a label no file has
    ("1:0,2=1", "is not FILE_LABEL=CLASS"),
    ("1=0,2=-1", "is not FILE_LABEL=CLASS"),
    ("x=0,2=1", "label 'x' is not an integer class"),
    ("1=0,1.0=1", "label 1 is mapped twice"),
])
def test_a_label_map_that_does_not_fit_the_task_gets_one_line(label_map, problem, tmp_path):
    task = _task(tmp_path / "task", [1, 2])
    for step, args in (("tfidf-baseline", ["--vocab", tmp_path / "no_vocab"]), ("finetune", ["--model", "m"])):
        error = dnalm_fails(step, "--data", task, *args, f"--label-map={label_map}", "--out", tmp_path / step)
        assert f"--label-map {label_map}: " in error and problem in error


def test_a_label_map_is_for_labelled_tasks_only(tmp_path):
    data = _nextkmer_data(tmp_path / "nk", _nextkmer_rows(40))
    error = dnalm_fails("tfidf-baseline", "--data", data, "--vocab", tmp_path, "--k", "1", "--label-map=0=0,1=1",
                        "--out", tmp_path / "out")
    assert f"--label-map 0=0,1=1: --data {data} is next-k-mer data" in error


def _predictions(result) -> list[dict[str, str]]:
    lines = (result / "predictions.tsv").read_text().splitlines()
    return [dict(zip(lines[0].split("\t"), line.split("\t"))) for line in lines[1:]]


@pytest.mark.slow
def test_a_declared_label_map_is_used_and_results_show_the_files_labels(kmer4, tmp_path):
    """Labels {1, 2} mapped 2 -> class 0 and 1 -> class 1 (not the sorted order): predictions.tsv's label
    column is test.csv's, predicted and top-5 are file labels, the probability columns are named by them, and
    metrics.json records the map; the scores recomputed from the file match metrics.json."""
    task = _task(tmp_path / "task", [1, 2])
    dnalm("tfidf-baseline", "--data", task, "--vocab", kmer4, "--trees", "20", "--label-map=2=0,1=1",
          "--out", tmp_path / "tfidf")
    rows = _predictions(tmp_path / "tfidf")
    truth = [int(line.rsplit(",", 1)[1]) for line in (task / "test.csv").read_text().splitlines()[1:]]
    assert [int(r["label"]) for r in rows] == truth
    assert {int(r["predicted"]) for r in rows} <= {1, 2}
    assert all(set(r["top5"].split(",")) == {"1", "2"} for r in rows)
    assert list(rows[0])[3:] == ["p2", "p1"]
    metrics = json.loads((tmp_path / "tfidf" / "metrics.json").read_text())
    assert metrics["label_map"] == {"2": 0, "1": 1} and metrics["n_classes"] == 2
    predicted = np.array([int(r["predicted"]) for r in rows])
    assert metrics["accuracy"] == pytest.approx((predicted == np.array(truth)).mean())
    assert metrics["accuracy"] > 0.9  # class 2 is G-depleted: the map kept each row's class
    matrix = np.array(metrics["confusion_matrix"])  # rows: class 0 (file's 2), class 1 (file's 1)
    assert matrix.sum(axis=1).tolist() == [truth.count(2), truth.count(1)]


@pytest.mark.slow
def test_a_saved_classifier_names_its_classes_by_the_files_labels(tiny_model, tmp_path):
    """finetune --label-map: predictions.tsv shows the file's labels, and the saved classifier's config
    carries them (id2label), so whoever loads it reads class 0 as the file's -1."""
    task = _task(tmp_path / "task", [-1, 1], n=4)
    dnalm("finetune", "--model", tiny_model, "--data", task, "--label-map=-1=0,1=1", "--max-steps", "2",
          "--save-model", "--out", tmp_path / "ft")
    rows = _predictions(tmp_path / "ft" / "seed42")
    truth = [int(line.rsplit(",", 1)[1]) for line in (task / "test.csv").read_text().splitlines()[1:]]
    assert [int(r["label"]) for r in rows] == truth and {int(r["predicted"]) for r in rows} <= {-1, 1}
    assert list(rows[0])[3:] == ["p-1", "p1"]
    config = json.loads((tmp_path / "ft" / "seed42" / "model" / "config.json").read_text())
    assert config["id2label"] == {"0": "-1", "1": "1"} and config["label2id"] == {"-1": 0, "1": 1}
    for metrics in ("metrics.json", "seed42/metrics.json"):
        assert json.loads((tmp_path / "ft" / metrics).read_text())["label_map"] == {"-1": 0, "1": 1}


# --- class 4: sequences that are not what they seem ----------------------------------------------------------


@pytest.mark.parametrize("gap", [" ", "\t", "  "])
def test_whitespace_inside_a_sequence_is_refused_with_file_and_line(gap, tmp_path):
    """A space inside a sequence became an [UNK] token (ROC-AUC 0.36 instead of 0.68). Every reader of task
    sequences refuses it: labelled folders (finetune, tfidf-baseline), imported tables (CSV, TSV), next-k-mer
    data. A tab in a TSV is a column break: the row has a field more than its header, also refused."""
    rows = _rows([0, 1] * 4)
    rows[2] = (rows[2][0][:30] + gap + rows[2][0][30:], rows[2][1])
    task = write_task(tmp_path / "task", {"train": rows, "test": _rows([0, 1])})
    where = f"{task / 'train.csv'}: line 4: whitespace inside the sequence"
    for step, args in (("tfidf-baseline", ["--data", task, "--vocab", tmp_path]),
                       ("finetune", ["--data", task, "--model", "m"]), ("task-import", ["--source", task])):
        assert where in dnalm_fails(step, *args, "--out", tmp_path / "out")
    in_tsv = "1 more field(s) than the header" if "\t" in gap else "whitespace inside the sequence"  # a column break
    tsv = tmp_path / "task.tsv"
    tsv.write_text("sequence\tlabel\n" + "".join(f"{s}\t{label}\n" for s, label in rows))
    assert f"{tsv}: line 4: {in_tsv}" in dnalm_fails("task-import", "--source", tsv, "--out", tmp_path / "out")
    samples = _nextkmer_rows(40)
    samples[5][2] = samples[5][2][:20] + gap + samples[5][2][20:]
    data = _nextkmer_data(tmp_path / "nk", samples)
    assert f"{data / 'train.tsv'}: line 7: {in_tsv}" in dnalm_fails(
        "tfidf-baseline", "--data", data, "--vocab", tmp_path, "--k", "2", "--out", tmp_path / "out")


def _nextkmer_rows(n: int, context: int = 50, k: int = 4) -> list[list[str]]:
    """Next-k-mer samples cut from the lambda phage, as `nextkmer-data` writes them."""
    return [["lambda", str(i * 60), LAMBDA_SEQ[i * 60:i * 60 + context],
             LAMBDA_SEQ[i * 60 + context:i * 60 + context + k]] for i in range(n)]


def _nextkmer_data(folder, rows: list[list[str]], max_k: int = 4):
    folder.mkdir()
    cut = len(rows) * 3 // 4
    for name, part in (("train", rows[:cut]), ("test", rows[cut:])):
        (folder / f"{name}.tsv").write_text("contig\tstart\tinput\tnext\n" + "".join("\t".join(r) + "\n" for r in part))
    (folder / "nextkmer_data.json").write_text(json.dumps({"max_k": max_k, "context": 50}))
    return folder


@pytest.mark.slow
def test_lower_case_next_kmer_data_is_read_as_the_same_bases(kmer4, tmp_path):
    """Lower case is the same bases everywhere else (soft-masked FASTA, task CSVs); next-k-mer inputs and labels
    in lower case crashed with KeyError 'a'. Lower-case data gives the upper-case data's exact result."""
    rows = _nextkmer_rows(200)
    upper = _nextkmer_data(tmp_path / "upper", rows)
    lower = _nextkmer_data(tmp_path / "lower", [[c, s, seq.lower(), nxt.lower()] for c, s, seq, nxt in rows])
    for name, data in (("upper", upper), ("lower", lower)):
        dnalm("tfidf-baseline", "--data", data, "--vocab", kmer4, "--k", "2", "--trees", "10",
              "--out", tmp_path / f"r_{name}")
    assert (tmp_path / "r_lower" / "predictions.tsv").read_text() == \
        (tmp_path / "r_upper" / "predictions.tsv").read_text()
    labels = [int(r["label"]) for r in _predictions(tmp_path / "r_lower")]
    assert labels == [int(nxt[:2].translate(str.maketrans("ACGT", "0123")), 4) for *_, nxt in rows[150:]]


@pytest.mark.parametrize("short, k, problem", [("AC", 3, "'AC' has 2 nt, fewer than --k 3"),
                                               ("", 1, "'' has 0 nt, fewer than --k 1"),
                                               ("ANG", 3, "'ANG' is not A/C/G/T only")])
def test_a_next_kmer_label_that_is_not_k_bases_is_refused_with_file_and_line(short, k, problem, tmp_path):
    """A `next` shorter than k was read as a shorter k-mer's class (a wrong label, exit 0); one with N crashed."""
    rows = _nextkmer_rows(40)
    rows[31][3] = short  # the second test row: test.tsv line 3
    data = _nextkmer_data(tmp_path / "nk", rows)
    for step, args in (("tfidf-baseline", ["--vocab", tmp_path]), ("nextkmer-finetune", ["--model", "m"])):
        error = dnalm_fails(step, "--data", data, *args, "--k", str(k), "--out", tmp_path / "out")
        assert f"{data / 'test.tsv'}: line 3: next {problem}" in error


@pytest.mark.slow
def test_a_megabase_sequence_in_a_task_file_is_read(kmer4, tmp_path):
    """The csv module stops at 128 KiB fields (`_csv.Error: field larger than field limit`): a 1 Mb sequence
    crashed finetune, tfidf-baseline and task-import. It is read whole."""
    big = "".join(np.random.default_rng(0).choice(list("ACGT"), size=1_000_000))
    rows = _rows([0, 1] * 20)
    rows[3] = (big, rows[3][1])
    task = write_task(tmp_path / "task", {"train": rows, "test": _rows([0, 1] * 5)})
    dnalm("tfidf-baseline", "--data", task, "--vocab", kmer4, "--trees", "10", "--out", tmp_path / "tfidf")
    assert json.loads((tmp_path / "tfidf" / "metrics.json").read_text())["train_samples"] == 36  # 40 less valid
    dnalm("task-import", "--source", task, "--out", tmp_path / "imported")
    written = "".join((tmp_path / "imported" / f"{s}.csv").read_text() for s in SPLITS)
    assert f"\n{big}," in written
    from dnalm.evaluation.task_data import load_task

    task = load_task(tmp_path / "imported")
    assert sum(len(s) == 1_000_000 for split in (task.train, task.valid, task.test) for s in split.sequences) == 1

"""Fine-tuning tasks on the human window: task builders, fine-tuning with baselines, imported GUE tasks."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from helpers import (
    HUMAN,
    PEAKS,
    SHARED,
    TSS,
    dnalm,
    dnalm_fails,
    read_csv,
    read_fasta_plain,
    read_splits,
    read_tsv,
)

from dnalm.evaluation.finetune import LEARNING_RATES, learning_rate_for

SEQ = next(iter(read_fasta_plain(HUMAN).values()))
GUE = SHARED / "benchmarks" / "GUE" / "prom" / "prom_300_tata"
RC = str.maketrans("ACGT", "TGCA")


def samples(task):
    return [dict(r, split=split) for split, rows in read_splits(task).items() for r in rows]


def tss_rows():
    return [line.split("\t") for line in TSS.read_text().splitlines()]


def test_prom300_reads_each_promoter_on_its_strand(tasks):
    rows = [r for r in samples(tasks / "prom300") if r["label"] == "1"]
    strands = Counter(r["strand"] for r in rows)
    assert strands["+"] > 5 and strands["-"] > 5
    by_name = {f[3]: (int(f[1]), f[5]) for f in tss_rows()}
    for r in rows:
        start, end = int(r["start"]), int(r["end"])
        assert end - start == 300 and len(r["sequence"]) == 300
        genome = SEQ[start:end]
        assert r["sequence"] == (genome if r["strand"] == "+" else genome.translate(RC)[::-1])
        pos, strand = by_name[r["name"]]
        if strand == r["strand"]:  # the TSS base sits at index 249 (-249..+50)
            base = SEQ[pos] if strand == "+" else SEQ[pos].translate(RC)
            assert r["sequence"][249] == base


@pytest.mark.parametrize("negatives", ["prom300", "dnabert"])
def test_shuffled_negatives_keep_the_composition_of_their_promoter(tasks, negatives):
    rows = samples(tasks / negatives)
    pairs = {}
    for r in rows:
        pairs.setdefault((r["contig"], r["start"], r["strand"]), {})[r["label"]] = r
    assert len(pairs) > 30
    for pair in pairs.values():
        pos, neg = pair["1"], pair["0"]
        assert Counter(pos["sequence"]) == Counter(neg["sequence"]) and pos["sequence"] != neg["sequence"]
        assert pos["split"] == neg["split"]  # a promoter and its shuffle never straddle splits
    seqs = Counter(r["sequence"] for r in rows)
    splits = {}
    for r in rows:
        splits.setdefault(r["sequence"], set()).add(r["split"])
    assert all(len(s) == 1 for s in splits.values()) and len(seqs) > 60


def test_promscan_windows_and_labels_are_exact_around_a_tss(tasks):
    rows = samples(tasks / "promscan")
    summary = json.loads((tasks / "promscan" / "task.json").read_text())
    chosen = {}
    for f in tss_rows():
        pos, strand = int(f[1]), f[5]
        windows = [r for r in rows if r["name"] == f[3] and r["strand"] == strand]
        if len(windows) == 30 and strand not in chosen:
            chosen[strand] = (pos, windows)
    assert set(chosen) == {"+", "-"} and summary["tss_skipped"] >= 1
    for strand, (pos, windows) in chosen.items():
        offsets = sorted(int(r["offset"]) for r in windows)
        assert offsets == list(range(-5000, 3701, 300))
        for r in windows:
            rel = int(r["offset"])
            start, end = (pos + rel, pos + rel + 1001) if strand == "+" else (pos - rel - 1000, pos - rel + 1)
            assert (int(r["start"]), int(r["end"])) == (start, end)
            genome = SEQ[start:end]
            assert r["sequence"] == (genome if strand == "+" else genome.translate(RC)[::-1])
            assert r["label"] == str(int(rel <= 0 < rel + 1001))
        assert [int(r["offset"]) for r in windows if r["label"] == "1"] == [-800, -500, -200]
    positives = sum(r["label"] == "1" for r in rows)
    assert summary["positive_share"] == pytest.approx(positives / len(rows))


def test_ctcf_motif_sites_are_enriched_in_ctcf_peaks(tasks):
    rows = samples(tasks / "ctcf")
    peaks = [tuple(map(int, line.split("\t")[1:3])) for line in PEAKS.read_text().splitlines()]
    covered = np.zeros(len(SEQ), dtype=bool)
    for s, e in peaks:
        covered[s:e] = True
    bound = [r for r in rows if r["label"] == "1"]
    assert bound and all(covered[int(r["motif_start"]):int(r["motif_end"])].any() for r in bound)
    assert not any(covered[int(r["motif_start"]):int(r["motif_end"])].any() for r in rows if r["label"] == "0")
    # sites per bp inside peaks against outside (the 100 kb gap holds no site); binomial test against the
    # share of sequence the peaks cover
    from scipy.stats import binomtest

    acgt = np.frombuffer(SEQ.encode(), dtype=np.uint8) != ord("N")
    share = (covered & acgt).sum() / acgt.sum()
    inside = len(bound) / (covered & acgt).sum()
    outside = (len(rows) - len(bound)) / (~covered & acgt).sum()
    assert inside > 2 * outside, (inside, outside)
    assert binomtest(len(bound), len(rows), share, alternative="greater").pvalue < 1e-10
    assert all(len(r["sequence"]) == 1000 for r in rows)


def _check_against_predictions(result, n_classes=2):
    from sklearn.metrics import (
        average_precision_score,
        f1_score,
        matthews_corrcoef,
        roc_auc_score,
    )

    metrics = json.loads((result / "metrics.json").read_text())
    table = read_tsv(result / "predictions.tsv")
    y = np.array([int(r["label"]) for r in table])
    p1 = np.array([float(r["p1"]) for r in table])
    predicted = np.array([int(r["predicted"]) for r in table])
    assert metrics["mcc"] == pytest.approx(matthews_corrcoef(y, predicted))
    assert metrics["f1"] == pytest.approx(f1_score(y, predicted, zero_division=0))
    assert metrics["roc_auc"] == pytest.approx(roc_auc_score(y, p1), abs=1e-3)
    assert metrics["pr_auc"] == pytest.approx(average_precision_score(y, p1), abs=1e-3)
    assert metrics["accuracy"] == pytest.approx((y == predicted).mean())
    return metrics


@pytest.mark.slow
def test_finetune_and_baseline_on_prom300(tasks, pretrained, vocabs, tmp_path):
    out = tmp_path / "ft"
    dnalm("finetune", "--model", pretrained / "model" / "model", "--data", tasks / "prom300", "--epochs", "3",
          "--learning-rate", "1e-3", "--warmup-steps", "0", "--patience", "2", "--seeds", "1,2", "--out", out)
    for seed in (1, 2):
        metrics = _check_against_predictions(out / f"seed{seed}")
        assert metrics["task"] == "prom300" and metrics["seed"] == seed
        assert (out / f"seed{seed}" / "validation.tsv").read_text().count("\n") >= 2
    summary = json.loads((out / "metrics.json").read_text())
    runs = [json.loads((out / f"seed{s}" / "metrics.json").read_text())["mcc"] for s in (1, 2)]
    assert summary["mcc"] == pytest.approx(np.mean(runs)) and summary["mcc_sd"] == pytest.approx(np.std(runs, ddof=1))
    dnalm("tfidf-baseline", "--data", tasks / "prom300", "--vocab", vocabs["kmer4"], "--trees", "50,100",
          "--out", tmp_path / "tfidf")
    _check_against_predictions(tmp_path / "tfidf")
    dnalm("finetune-report", "--results", out, tmp_path / "tfidf", "--out", tmp_path / "report")
    table = read_tsv(tmp_path / "report" / "finetune_results.tsv")
    assert {(r["model"], r["seed"]) for r in table} == {("model", "1"), ("model", "2"), ("tfidf_kmer4", "42")}
    assert (tmp_path / "report" / "prom300_seeds.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_long_sequences_are_cut_into_pieces_and_pooled(tasks, tmp_path):
    """Prom300 (300 nt, one token per base) through a GPT-2 of 64 positions: 5 pieces per sequence."""
    from test_nextkmer import _gpt2_char_model

    from dnalm.evaluation.finetune import SequenceTokenizer, pool

    np.testing.assert_allclose(pool(np.array([[0.2, 0.8], [0.6, 0.4], [1.0, 0.0]]), np.array([0, 0, 1]), 2),
                               [[0.4, 0.6], [1.0, 0.0]])
    model = _gpt2_char_model(tmp_path / "gpt2_char")
    seq = read_csv(tasks / "prom300" / "test.csv")[0]["sequence"]
    pieces = SequenceTokenizer(str(model)).pieces(seq, 64)
    assert [len(p) for p in pieces] == [64] * 4 + [44]  # this tokenizer adds no special token
    assert "".join("ACGT"[i - 3] for p in pieces for i in p) == seq
    out = tmp_path / "ft"
    dnalm("finetune", "--model", model, "--data", tasks / "prom300", "--epochs", "1", "--learning-rate", "1e-3",
          "--warmup-steps", "0", "--patience", "0", "--out", out)
    metrics = _check_against_predictions(out / "seed42")
    assert metrics["max_tokens"] == 64 and metrics["pieces_per_sequence"] == 5
    assert metrics["test_samples"] == len(read_csv(tasks / "prom300" / "test.csv"))


@pytest.mark.skipif(not GUE.is_dir(), reason=f"{GUE} not present (GitHub-derived data is not bundled)")
@pytest.mark.slow
def test_finetune_on_gue_prom_300_tata(pretrained, vocabs, tmp_path):
    task = tmp_path / "tata"
    dnalm("task-import", "--source", GUE, "--out", task)
    counts = json.loads((task / "task.json").read_text())["samples"]
    assert counts == {"train": 4904, "dev": 613, "test": 613}
    out = tmp_path / "ft"
    dnalm("finetune", "--model", pretrained / "model" / "model", "--data", task, "--epochs", "1", "--batch-size", "32",
          "--warmup-steps", "0", "--out", out)
    metrics = _check_against_predictions(out / "seed42")
    assert metrics["learning_rate"] == LEARNING_RATES[0][1]  # the default for a tiny model (64 wide)
    dnalm("tfidf-baseline", "--data", task, "--vocab", vocabs["kmer6_overlap"], "--trees", "100",
          "--out", tmp_path / "tfidf")
    metrics = _check_against_predictions(tmp_path / "tfidf")
    assert metrics["mcc"] > 0.3  # GROVER: TF-IDF 6-mers reach MCC ~0.7 on GUE tasks


@pytest.mark.parametrize("width, preset", [(64, 0), (256, 1), (768, 2), (1024, 2)])
def test_the_default_learning_rate_follows_the_model_width(width, preset):
    from transformers import BertConfig

    assert learning_rate_for(BertConfig(hidden_size=width, num_attention_heads=4)) == LEARNING_RATES[preset][1]
    assert LEARNING_RATES[-1][1] == 1e-6  # GROVER's, for BERT-base and wider


@pytest.mark.slow
def test_bad_task_input_gets_one_line(human_genome, pretrained, tmp_path):
    out = tmp_path / "out"
    unstranded = tmp_path / "tss3.bed"
    unstranded.write_text("".join("\t".join(f[:3]) + "\n" for f in tss_rows()))
    assert "has no strand" in dnalm_fails("task-prom300", "--genome", human_genome, "--tss", unstranded,
                                          "--negatives", "nucleotides", "--out", out)
    outside = tmp_path / "outside.bed"
    outside.write_text("chr22_20M_21M\t2000000\t2000001\tfar\t0\t+\n")
    assert "outside the genome" in dnalm_fails("task-promscan", "--genome", human_genome, "--tss", outside,
                                               "--out", out)
    no_label = tmp_path / "no_label"
    no_label.mkdir()
    for part in ("train", "test"):
        (no_label / f"{part}.csv").write_text("sequence,class\nACGTACGT,1\nTTTTACGA,0\n")
    assert "no column label" in dnalm_fails("task-import", "--source", no_label, "--out", out)
    one_class = tmp_path / "one_class"
    one_class.mkdir()
    for part in ("train", "dev", "test"):
        (one_class / f"{part}.csv").write_text("sequence,label\nACGTACGT,1\nTTTTACGA,1\n")
    assert "a task needs two classes" in dnalm_fails("task-import", "--source", one_class, "--out", out)
    assert "two classes or more" in dnalm_fails("finetune", "--model", pretrained / "model" / "model", "--data",
                                                one_class, "--out", out)


def test_train_fraction_subsamples_training_only(tasks, human_genome, tmp_path):
    dnalm("task-prom300", "--genome", human_genome, "--tss", TSS, "--negatives", "nucleotides",
          "--train-fraction", "0.5", "--out", tmp_path / "half")
    full = json.loads((tasks / "dnabert" / "task.json").read_text())["class_balance"]
    half = json.loads((tmp_path / "half" / "task.json").read_text())["class_balance"]
    assert half["dev"] == full["dev"] and half["test"] == full["test"]
    assert half["train"] == {label: round(n / 2) for label, n in full["train"].items()}


@pytest.mark.slow
def test_a_multi_class_fasta_task_is_imported_and_classified(vocabs, tmp_path):
    """Nucleotide-Transformer-style FASTA (label after '|'): three classes cut from the human window."""
    rng = np.random.default_rng(0)
    records = []
    for i in range(240):
        label = i % 3
        start = int(rng.integers(0, 500_000 - 200)) if label < 2 else int(rng.integers(610_000, 999_800))
        seq = SEQ[start:start + 200]
        seq = seq if label != 1 else seq.replace("G", "C")  # class 1: G-depleted, learnable from k-mers
        records.append(f">s{i}|{label}\n{seq}\n")
    fasta = tmp_path / "three.fa"
    fasta.write_text("".join(records))
    dnalm("task-import", "--source", fasta, "--out", tmp_path / "task")
    summary = json.loads((tmp_path / "task" / "task.json").read_text())
    assert summary["task"] == "three" and sum(summary["samples"].values()) == 240
    assert set(summary["class_balance"]["test"]) == {"0", "1", "2"}
    dnalm("tfidf-baseline", "--data", tmp_path / "task", "--vocab", vocabs["kmer4"], "--trees", "50",
          "--out", tmp_path / "tfidf")
    metrics = json.loads((tmp_path / "tfidf" / "metrics.json").read_text())
    assert metrics["n_classes"] == 3 and len(metrics["confusion_matrix"]) == 3
    from sklearn.metrics import roc_auc_score

    table = read_tsv(tmp_path / "tfidf" / "predictions.tsv")
    y = [int(r["label"]) for r in table]
    probs = np.array([[float(r[f"p{c}"]) for c in range(3)] for r in table])
    assert metrics["roc_auc"] == pytest.approx(roc_auc_score(y, probs, multi_class="ovr"))


@pytest.mark.slow
def test_a_two_class_baseline_is_as_strong_as_an_unbounded_forest(tasks, vocabs, tmp_path):
    """The forest caps follow the class count: on a two-class task dnalm's TF-IDF baseline matches an
    unbounded scikit-learn forest of the same size and seed (the 256-leaf cap sized for 4,096-class
    next-k-mer forests used to cost two-class tasks up to 0.05 MCC)."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics import matthews_corrcoef

    dnalm("tfidf-baseline", "--data", tasks / "promscan", "--vocab", vocabs["kmer4"], "--out", tmp_path / "tfidf")
    metrics = json.loads((tmp_path / "tfidf" / "metrics.json").read_text())
    assert metrics["max_leaf_nodes"] is None and metrics["tree_samples"] == metrics["train_samples"]
    assert metrics["trees"] == 500 and not metrics["trees_chosen_on_validation"]  # 270 dev rows: no choice

    def split(name: str) -> tuple[list[str], list[int]]:
        rows = read_csv(tasks / "promscan" / f"{name}.csv")
        return [" ".join(r["sequence"][i:i + 4] for i in range(0, len(r["sequence"]) - 3, 4)) for r in rows], \
            [int(r["label"]) for r in rows]

    (train, y_train), (test, y_test) = split("train"), split("test")
    vectorizer = TfidfVectorizer(analyzer=str.split, lowercase=False)
    forest = RandomForestClassifier(n_estimators=500, random_state=42, n_jobs=2)
    forest.fit(vectorizer.fit_transform(train), y_train)
    unbounded = matthews_corrcoef(y_test, forest.predict(vectorizer.transform(test)))
    assert abs(metrics["mcc"] - unbounded) <= 0.02, (metrics["mcc"], unbounded)

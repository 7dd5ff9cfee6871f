"""Next-k-mer benchmark on the human window: samples, TF-IDF baseline, fine-tuning any model, selection."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from helpers import HUMAN, dnalm, dnalm_fails, read_fasta_plain, read_tsv

from dnalm.core import mqc
from dnalm.core.errors import InputError
from dnalm.evaluation.selection import (
    above_majority,
    rank_candidates,
    selection_note,
    tied_with,
)

GENOME = read_fasta_plain(HUMAN)
CONTIG = "chr22_20M_21M"


def predictions(result):
    table = read_tsv(result / "predictions.tsv")
    labels = np.array([int(r["label"]) for r in table])
    top5 = np.array([[int(x) for x in r["top5"].split(",")] for r in table])
    return labels, np.array([int(r["predicted"]) for r in table]), top5


@pytest.fixture(scope="module")
def window_data(tmp_path_factory, human_genome):
    """The whole window as holdout, a sample every 56 nt, split in blocks (neighbours would leak)."""
    out = tmp_path_factory.mktemp("nextkmer") / "blocks"
    dnalm("nextkmer-data", "--genome", human_genome, "--holdout-contigs", CONTIG, "--stride", "56",
          "--split", "block", "--out", out)
    return out


def test_labels_are_the_bases_after_the_input(nextkmer_data):
    seq = GENOME[CONTIG]
    samples = read_tsv(nextkmer_data / "train.tsv") + read_tsv(nextkmer_data / "test.tsv")
    assert len(samples) == json.loads((nextkmer_data / "nextkmer_data.json").read_text())["samples"] > 500
    for r in samples:
        start = int(r["start"])
        assert len(r["input"]) == 50 and len(r["next"]) == 6
        assert seq[start:start + 50] == r["input"] and seq[start + 50:start + 56] == r["next"]
    from dnalm.evaluation.task_data import load_task

    for k in (2, 6):
        task = load_task(nextkmer_data, k)
        expected = [int(r["next"][:k].translate(str.maketrans("ACGT", "0123")), 4) for r in read_tsv(nextkmer_data / "test.tsv")]
        assert task.test.labels.tolist() == expected and task.n_classes == 4 ** k


def test_no_sample_lies_in_a_pretraining_window(nextkmer_data, windows):
    samples = [(int(line.split("\t")[1]), int(line.split("\t")[2]))
               for line in (nextkmer_data / "samples.bed").read_text().splitlines()]
    for name, win in windows.items():
        spans = np.array([[int(f) for f in line.split("\t")[1:3]] for line in (win / "windows.bed").read_text().splitlines()])
        for s, e in samples:
            assert not ((spans[:, 0] < e) & (spans[:, 1] > s)).any(), f"sample {s}-{e} in a {name} window"


@pytest.mark.slow
def test_tfidf_2mers_beat_the_majority_class(window_data, vocabs, tmp_path):
    train, test = read_tsv(window_data / "train.tsv"), read_tsv(window_data / "test.tsv")
    assert max(int(r["start"]) for r in train) < min(int(r["start"]) for r in test)  # blocks, in genome order
    dnalm("kmer-vocab", "--kind", "kmer", "--k", "2", "--out", tmp_path / "kmer2")
    out = tmp_path / "tfidf"
    dnalm("tfidf-baseline", "--data", window_data, "--vocab", tmp_path / "kmer2", "--k", "2", "--trees", "100",
          "--out", out)
    labels, predicted, _ = predictions(out)
    accuracy = (labels == predicted).mean()
    train_labels = [int(r["next"][:2].translate(str.maketrans("ACGT", "0123")), 4) for r in train]
    majority = (labels == np.bincount(train_labels).argmax()).mean()
    se = math.sqrt(accuracy * (1 - accuracy) / len(labels))
    assert accuracy > majority + 3 * se, (accuracy, majority, se)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["accuracy"] == pytest.approx(accuracy) and metrics["trees"] == 100


@pytest.mark.slow
def test_tfidf_takes_any_vocabulary_kind(nextkmer_data, vocabs, tmp_path):
    for name in ("bpe_600", "kmer6_overlap"):
        out = tmp_path / name
        dnalm("tfidf-baseline", "--data", nextkmer_data, "--vocab", vocabs[name], "--k", "3", "--trees", "10,20",
              "--out", out)
        metrics = json.loads((out / "metrics.json").read_text())
        assert metrics["vocabulary"] == name and metrics["n_classes"] == 64
        # a validation block of under 1,000 rows chooses nothing: the largest size up to 500
        assert metrics["validation_samples"] < 1000 and metrics["trees"] == 20
        assert not metrics["trees_chosen_on_validation"]
        assert len((out / "tree_selection.tsv").read_text().splitlines()) == 2


@pytest.mark.slow
def test_finetuning_learns_and_reports_its_predictions(nextkmer_data, pretrained, tmp_path):
    from sklearn.metrics import f1_score

    out = tmp_path / "ft"
    dnalm("nextkmer-finetune", "--model", pretrained / "model" / "model", "--data", nextkmer_data, "--k", "2",
          "--epochs", "4", "--batch-size", "16", "--learning-rate", "1e-3", "--model-id", "bpe_600", "--out", out)
    losses = [float(r["loss"]) for r in read_tsv(out / "loss_curve.tsv")]
    third = max(1, len(losses) // 3)
    assert np.mean(losses[-third:]) < np.mean(losses[:third]) - 0.01, losses
    metrics = json.loads((out / "metrics.json").read_text())
    labels, predicted, top5 = predictions(out)
    assert metrics["accuracy"] == pytest.approx((labels == predicted).mean())
    assert metrics["top5_accuracy"] == pytest.approx((top5 == labels[:, None]).any(1).mean())
    assert metrics["macro_f1"] == pytest.approx(f1_score(labels, predicted, average="macro"))
    assert metrics["random_baseline"] == 1 / 16 and metrics["kind"] == "dnalm" and metrics["merges"] == 600


def _gpt2_char_model(path):
    """A tiny causal GPT-2 with a one-base-per-token tokenizer: another architecture and tokenizer."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    vocab = {t: i for i, t in enumerate(["<pad>", "<unk>", "<eos>", "A", "C", "G", "T", "N"])}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", unk_token="<unk>",
                            eos_token="<eos>").save_pretrained(path)
    config = GPT2Config(vocab_size=len(vocab), n_positions=64, n_embd=32, n_layer=1, n_head=2, pad_token_id=0,
                        bos_token_id=2, eos_token_id=2)
    GPT2LMHeadModel(config).save_pretrained(path)
    return path


@pytest.mark.slow
def test_an_external_model_of_another_architecture_runs_through_the_same_command(nextkmer_data, tmp_path):
    model = _gpt2_char_model(tmp_path / "gpt2_char")
    out = tmp_path / "ext"
    dnalm("nextkmer-finetune", "--model", model, "--data", nextkmer_data, "--k", "2", "--epochs", "1",
          "--learning-rate", "1e-3", "--out", out)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model"] == "gpt2_char" and metrics["kind"] == "external"
    assert metrics["vocab_size"] == 8 and metrics["test_samples"] == len(read_tsv(nextkmer_data / "test.tsv"))


def _row(model, k, accuracy, size, kind="dnalm"):
    return {"model": model, "kind": kind, "vocabulary": model, "vocab_kind": "bpe", "merges": size,
            "vocab_size": size + 9, "k": k, "accuracy": accuracy}


def test_selection_ranks_by_mean_accuracy_over_k_and_breaks_ties_to_fewer_cycles():
    results = [_row("bpe_100", 2, 0.10, 100), _row("bpe_100", 3, 0.02, 100),
               _row("bpe_600", 2, 0.09, 600), _row("bpe_600", 3, 0.04, 600),
               _row("bpe_2000", 2, 0.11, 2000), _row("bpe_2000", 3, 0.02, 2000),
               _row("tfidf_kmer2", 2, 0.50, 16, kind="tfidf")]
    ranking = rank_candidates(results)
    assert [c["model"] for c in ranking] == ["bpe_600", "bpe_2000", "bpe_100"]  # a tie at 0.065: fewer cycles first
    assert ranking[0]["mean_accuracy"] == pytest.approx(0.065)
    assert ranking[1]["mean_accuracy"] == pytest.approx(0.065) and ranking[2]["mean_accuracy"] == pytest.approx(0.06)
    with pytest.raises(InputError, match="bpe_100 has no result for k=3"):
        rank_candidates([r for r in results if not (r["model"] == "bpe_100" and r["k"] == 3)])


def test_only_the_named_candidates_can_be_selected():
    """A dnalm model of an earlier run, given as a reference (--nextkmer_models), is ranked against but never
    chosen: the workflow's later steps need the tokenized genome and windows of this run's vocabularies."""
    results = [_row("bpe_100", 2, 0.10, 100), _row("bpe_600", 2, 0.09, 600), _row("old_bpe_50", 2, 0.90, 50)]
    assert rank_candidates(results)[0]["model"] == "old_bpe_50"
    assert [c["model"] for c in rank_candidates(results, ["bpe_100", "bpe_600"])] == ["bpe_100", "bpe_600"]
    with pytest.raises(InputError, match="--candidates: no next-k-mer result for kmer4"):
        rank_candidates(results, ["bpe_100", "kmer4"])

def test_a_selection_by_tie_or_at_the_baseline_is_flagged():
    def rows(accuracies: dict[str, float], majority: float) -> list[dict]:
        return [{**_row(m, 2, a, int(m.split("_")[1])), "accuracy_se": 0.01, "majority_baseline": majority}
                for m, a in accuracies.items()]

    def note(results: list[dict]) -> str:
        ranking = rank_candidates(results)
        return selection_note({"model": ranking[0]["model"], "tied_with": tied_with(ranking),
                               "above_majority_baseline": above_majority(results)})

    assert note(rows({"bpe_100": 0.50, "bpe_600": 0.40}, majority=0.25)) == ""
    flagged = note(rows({"bpe_100": 0.255, "bpe_600": 0.255}, majority=0.25))
    assert "bpe_100 ties with bpe_600" in flagged and "No model beats the majority-class baseline" in flagged
    assert mqc.below_baseline([("a", 0.50, 0.01, 0.25), ("b", 0.255, 0.01, 0.25)], "majority class") == \
        "Not above the majority class by more than one standard error: b (0.255 ± 0.010 vs 0.250)."


@pytest.mark.slow
def test_bad_input_gets_one_line(human_genome, nextkmer_data, pretrained, tmp_path):
    out = tmp_path / "out"
    assert "'chr21'" in dnalm_fails("nextkmer-data", "--genome", human_genome, "--holdout-contigs", "chr21",
                                    "--out", out)
    bare = tmp_path / "no_tokenizer"
    bare.mkdir()
    for name in ("config.json", "model.safetensors"):
        (bare / name).write_bytes((pretrained / "model" / "model" / name).read_bytes())
    assert "has no tokenizer" in dnalm_fails("nextkmer-finetune", "--model", bare, "--data", nextkmer_data, "--k", "2",
                                             "--out", out)
    assert "--k 7: must be between 1 and 6" in dnalm_fails("tfidf-baseline", "--data", nextkmer_data, "--vocab",
                                                           bare, "--k", "7", "--out", out)


@pytest.mark.slow
def test_a_bar_chart_of_zeros_is_still_drawn(tmp_path):
    """Every model at MCC 0 on a task is a result (no signal), not missing data: the section and its plot stay
    in the report (MultiQC drops all-zero categories by default, and with them the whole section)."""
    results = tmp_path / "results" / "finetune"
    results.mkdir(parents=True)
    mqc.write_plot(results / "zero_mqc.json", "dnalm_finetune_zero", "Fine-tuning: zero", "MCC per model.",
                   "bargraph", {"m1": {"MCC": 0.0}, "m2": {"MCC": 0.0}}, ymin=-1, ymax=1)
    dnalm("report", "--results", tmp_path / "results", "--out", tmp_path / "report")
    html = (tmp_path / "report" / "dnalm_report.html").read_text()
    assert 'id="mqc-module-section-dnalm_finetune_zero"' in html and "dnalm_finetune_zero_plot" in html

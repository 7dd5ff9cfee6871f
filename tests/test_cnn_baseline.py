"""The one-hot CNN baseline: it learns a motif on either strand from real genome sequence, reads both strands
alike, repeats itself per seed and summarises seeds, and refuses bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import HUMAN, SHARED, dnalm, dnalm_fails, read_fasta_plain, read_tsv, write_task

from dnalm.evaluation.cnn import build_network, encode, predict_probabilities
from dnalm.evaluation.settings import CnnSettings

pytestmark = pytest.mark.slow

SEQ = next(iter(read_fasta_plain(HUMAN).values()))
CTCF_CORE = "CCACCAGGGGGCGC"  # JASPAR MA0139.1's consensus core
RC = str.maketrans("ACGT", "TGCA")
GUE_CORE_TATA = SHARED / "benchmarks" / "GUE" / "prom" / "prom_core_tata"


def reverse_complement(seq: str) -> str:
    return seq.translate(RC)[::-1]


def genome_windows(n: int, width: int, rng: np.random.Generator) -> list[str]:
    """`n` windows of the real chr22 sequence without N."""
    found = []
    while len(found) < n:
        start = int(rng.integers(0, len(SEQ) - width))
        window = SEQ[start:start + width].upper()
        if "N" not in window:
            found.append(window)
    return found


def planted_task(folder, rng: np.random.Generator, sizes=(600, 150, 150), width: int = 100):
    """Real windows, half of them (label 1) with the CTCF core written in at a random place on a random strand;
    the test split's planted rows name their strand in `strands`."""
    parts, strands = {}, []
    for split, n in zip(("train", "dev", "test"), sizes):
        rows = []
        for i, window in enumerate(genome_windows(n, width, rng)):
            label = i % 2
            if label:
                minus = bool(rng.integers(2))
                motif = reverse_complement(CTCF_CORE) if minus else CTCF_CORE
                at = int(rng.integers(0, width - len(motif)))
                window = window[:at] + motif + window[at + len(motif):]
                if split == "test":
                    strands.append(minus)
            rows.append((window, label))
        parts[split] = rows
    return write_task(folder, parts), strands


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    folder, strands = planted_task(tmp_path_factory.mktemp("cnn") / "planted", np.random.default_rng(7))
    out = folder.parent / "cnn"
    dnalm("cnn-baseline", "--data", folder, "--seeds", "1,2", "--filters", "32", "--epochs", "20", "--out", out)
    return folder, strands, out


def test_the_cnn_finds_a_motif_planted_on_either_strand(planted):
    _folder, strands, out = planted
    for seed in (1, 2):
        metrics = json.loads((out / f"seed{seed}" / "metrics.json").read_text())
        assert metrics["kind"] == "cnn" and metrics["seed"] == seed and metrics["test_samples"] == 150
        assert metrics["mcc"] > 0.9, metrics
        rows = read_tsv(out / f"seed{seed}" / "predictions.tsv")
        positives = [r["predicted"] == "1" for r in rows if r["label"] == "1"]
        on_minus = [hit for hit, minus in zip(positives, strands) if minus]
        on_plus = [hit for hit, minus in zip(positives, strands) if not minus]
        assert len(on_minus) > 20 and len(on_plus) > 20
        assert np.mean(on_minus) > 0.9 and np.mean(on_plus) > 0.9


def test_seeds_are_summarised_with_sd_and_a_95_percent_interval(planted):
    _folder, _strands, out = planted
    summary = json.loads((out / "metrics.json").read_text())
    runs = [json.loads((out / f"seed{s}" / "metrics.json").read_text())["mcc"] for s in (1, 2)]
    assert summary["seeds"] == [1, 2] and summary["model"] == "cnn_onehot" and summary["kind"] == "cnn"
    assert summary["mcc"] == pytest.approx(np.mean(runs))
    assert summary["mcc_sd"] == pytest.approx(np.std(runs, ddof=1))
    half = 12.7062047 * np.std(runs, ddof=1) / np.sqrt(2)  # Student's t, 1 degree of freedom, 97.5 %
    assert summary["mcc_ci95"] == pytest.approx([np.mean(runs) - half, np.mean(runs) + half])


def test_a_seed_gives_the_same_result_again(planted, tmp_path):
    folder, _strands, out = planted
    dnalm("cnn-baseline", "--data", folder, "--seeds", "2", "--filters", "32", "--epochs", "20", "--out", tmp_path / "again")
    assert (tmp_path / "again" / "seed2" / "predictions.tsv").read_bytes() == (out / "seed2" / "predictions.tsv").read_bytes()
    one = json.loads((tmp_path / "again" / "metrics.json").read_text())
    assert one["mcc_sd"] is None and one["mcc_ci95"] is None  # one seed has no spread to report


def test_both_strands_and_any_padding_give_the_same_scores():
    """By construction: the filters read a sequence and its reverse complement and keep the larger response,
    and padded positions never count, so neither the strand nor the batch changes a sequence's score."""
    import torch

    rng = np.random.default_rng(3)
    torch.manual_seed(0)
    network = build_network(2, CnnSettings(filters=16))
    windows = genome_windows(8, 120, rng)
    forward = predict_probabilities(network, encode(windows), batch_size=8)
    reverse = predict_probabilities(network, encode([reverse_complement(w) for w in windows]), batch_size=8)
    np.testing.assert_allclose(forward, reverse, atol=1e-6)
    short = windows[0][:70]
    alone = predict_probabilities(network, encode([short]), batch_size=1)
    beside_a_longer = predict_probabilities(network, encode([short, windows[1]]), batch_size=2)[:1]
    np.testing.assert_allclose(alone, beside_a_longer, atol=1e-6)


def test_bad_input_gets_one_line(tmp_path):
    rng = np.random.default_rng(5)
    rows = [(w, label) for w, label in zip(genome_windows(6, 50, rng), [1, 2] * 3)]
    task = write_task(tmp_path / "one_two", {"train": rows, "dev": rows, "test": rows})
    assert "--label-map" in dnalm_fails("cnn-baseline", "--data", task, "--out", tmp_path / "o1")
    assert "--data" in dnalm_fails("cnn-baseline", "--data", tmp_path / "absent", "--out", tmp_path / "o2")
    assert "--filters" in dnalm_fails("cnn-baseline", "--data", task, "--filters", "0", "--out", tmp_path / "o3")


@pytest.mark.skipif(not GUE_CORE_TATA.is_dir(), reason="GUE prom_core_tata is in ../shared/data only (GitHub-derived)")
def test_gue_core_promoters_are_learned_as_published_models_do(tmp_path):
    """GUE prom_core_tata (70 bp TATA core promoters): the CNN's MCC with its defaults, one seed, is within reach
    of DNABERT-2's published 74.17 (arXiv 2306.15006, GUE table; two seeds measured 0.72 and 0.77)."""
    dnalm("cnn-baseline", "--data", GUE_CORE_TATA, "--seeds", "1", "--out", tmp_path / "cnn")
    metrics = json.loads((tmp_path / "cnn" / "metrics.json").read_text())
    assert metrics["task"] == "prom_core_tata" and metrics["test_samples"] == 613
    assert metrics["mcc"] > 0.65, metrics

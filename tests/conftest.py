"""Shared fixtures: the real bundled genomes, prepared and tokenized once per test session. Plain helpers are
in helpers.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import ASSETS, BPE_CYCLES, HUMAN, KMER_VOCABS, PRETRAIN_STEPS, WARM, dnalm


def pytest_sessionfinish(session, exitstatus) -> None:
    WARM.close()


@pytest.fixture(scope="session")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("chain")


@pytest.fixture(scope="session")
def human_genome(work) -> Path:
    out = work / "genome"
    dnalm("prepare-genome", "--fasta", HUMAN, "--out", out)
    return out


@pytest.fixture(scope="session")
def bpe_sweep(work, human_genome) -> Path:
    out = work / "sweep"
    dnalm("vocab-sweep", "--genome", human_genome, "--cycles", ",".join(map(str, BPE_CYCLES)), "--out", out)
    return out


@pytest.fixture(scope="session")
def vocabs(work, bpe_sweep) -> dict[str, Path]:
    """Every vocabulary kind: BPE at each cycle count and the fixed k-mer vocabularies."""
    found = {f"bpe_{n}": bpe_sweep / f"bpe_{n}" for n in BPE_CYCLES}
    for name, args in KMER_VOCABS.items():
        dnalm("kmer-vocab", *args, "--out", work / name)
        found[name] = work / name
    return found


@pytest.fixture(scope="session")
def tokenized(work, human_genome, vocabs) -> dict[str, Path]:
    out = {}
    for name, vocab in vocabs.items():
        out[name] = work / f"tokenized_{name}"
        dnalm("tokenize-genome", "--genome", human_genome, "--vocab", vocab, "--out", out[name])
    return out


@pytest.fixture(scope="session")
def windows(work, human_genome, tokenized) -> dict[str, Path]:
    out = {}
    for name, tok in tokenized.items():
        out[name] = work / f"windows_{name}"
        dnalm("make-windows", "--tokenized", tok, "--holdout-regions", human_genome / "holdout_default.bed",
              "--out", out[name])
    return out


@pytest.fixture(scope="session")
def pretrained(work, tokenized, windows) -> Path:
    """A tiny BERT pretrained on the BPE-600 windows: `model/model` is its HF directory."""
    base = work / "pretrain"
    dnalm("pretrain", "--tokenized", tokenized["bpe_600"], "--windows", windows["bpe_600"],
          "--checkpoint-dir", base / "checkpoints", *PRETRAIN_STEPS, "--out", base / "model")
    return base


@pytest.fixture(scope="session")
def ctcf_classifier(work, human_genome, pretrained) -> Path:
    """The CTCF task (`ctcf/`) and its classifier, fine-tuned briefly from the pretrained model and saved
    (finetune --save-model): `ft/seed42/model`."""
    base = work / "classifier"
    annotation = ASSETS / "annotation"
    dnalm("task-ctcf", "--genome", human_genome, "--motif", annotation / "JASPAR2022_MA0139.1_CTCF.jaspar",
          "--peaks", annotation / "hg19_chr22_20-21Mb.ctcf_peaks.bed", "--out", base / "ctcf")
    dnalm("finetune", "--model", pretrained / "model" / "model", "--data", base / "ctcf", "--max-steps", 20,
          "--save-model", "--out", base / "ft")
    return base

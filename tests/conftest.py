"""Shared fixtures: the real bundled genomes, prepared and tokenized once per test session. Plain helpers are
in helpers.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import (BPE_CYCLES, CHROMHMM, GENES, HUMAN, JASPAR, KMER_VOCABS, MOTIF, PEAKS, PRETRAIN_STEPS, REPEATS,
                     TSS, WARM, dnalm)


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
def ctcf_classifier(work, tasks, pretrained) -> Path:
    """The CTCF task (`ctcf/`) and its classifier, fine-tuned briefly from the pretrained model and saved
    (finetune --save-model): `ft/seed42/model`."""
    base = work / "classifier"
    dnalm("finetune", "--model", pretrained / "model" / "model", "--data", tasks / "ctcf", "--max-steps", 20,
          "--save-model", "--out", base / "ft")
    (base / "ctcf").symlink_to(tasks / "ctcf")
    return base


@pytest.fixture(scope="session")
def tasks(work, human_genome, vocabs) -> Path:
    """The genome-biology tasks the workflow builds from the window's annotation (prom300, promscan, ctcf),
    and prom300 with DNABERT's shuffled-nucleotide negatives (`dnabert`)."""
    base = work / "tasks"
    dnalm("task-prom300", "--genome", human_genome, "--tss", TSS, "--vocab", vocabs["bpe_600"], "--out", base / "prom300")
    dnalm("task-prom300", "--genome", human_genome, "--tss", TSS, "--negatives", "nucleotides", "--out", base / "dnabert")
    dnalm("task-promscan", "--genome", human_genome, "--tss", TSS, "--out", base / "promscan")
    dnalm("task-ctcf", "--genome", human_genome, "--motif", MOTIF, "--peaks", PEAKS, "--out", base / "ctcf")
    return base


@pytest.fixture(scope="session")
def nextkmer_data(work, human_genome) -> Path:
    """The default holdout region (the last 5 %), a sample every 56 nt (no overlap), random split."""
    out = work / "nextkmer_data"
    dnalm("nextkmer-data", "--genome", human_genome, "--holdout-regions", human_genome / "holdout_default.bed",
          "--stride", "56", "--out", out)
    return out


@pytest.fixture(scope="session")
def embedding_sets(work, pretrained, tokenized, windows) -> Path:
    """The pretrained model's token embeddings (`model`), word2vec's on the same tokens (`w2v`), and the
    embedding report of both (`report`)."""
    base = work / "embeddings"
    dnalm("token-embeddings", "--model", pretrained / "model" / "model", "--tokenized", tokenized["bpe_600"],
          "--repeats", REPEATS, "--name", "bpe_600", "--out", base / "model")
    dnalm("word2vec", "--tokenized", tokenized["bpe_600"], "--windows", windows["bpe_600"], "--vector-size", "32",
          "--workers", "1", "--repeats", REPEATS, "--name", "w2v", "--out", base / "w2v")
    dnalm("embedding-report", "--embeddings", base / "model", base / "w2v", "--out", base / "report")
    return base


@pytest.fixture(scope="session")
def window_embeddings(work, pretrained, tokenized) -> Path:
    """The pretrained model's window embeddings with the genes, repeats (and, where ../shared has one,
    ChromHMM) overlaps: `out`, and its resume state in `resume`."""
    base = work / "window_embeddings"
    tracks = ["--tracks", f"genes={GENES}", f"repeats={REPEATS}", *(f"chromhmm={p}" for p in CHROMHMM[:1])]
    dnalm("window-embeddings", "--model", pretrained / "model" / "model", "--tokenized", tokenized["bpe_600"],
          *tracks, "--umap-max", "200", "--resume-dir", base / "resume", "--out", base / "out")
    return base


@pytest.fixture(scope="session")
def ctcf_motifs(work, ctcf_classifier) -> Path:
    """`dnalm attention-motifs` on the CTCF classifier's task, against the bundled JASPAR collection."""
    out = work / "attention" / "motifs"
    dnalm("attention-motifs", "--classifier", ctcf_classifier / "ft" / "seed42" / "model", "--data",
          ctcf_classifier / "ctcf", "--jaspar", JASPAR, "--background", "shuffled", "--out", out)
    return out

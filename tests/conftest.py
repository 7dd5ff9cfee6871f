"""Shared fixtures: the real bundled genomes, prepared and tokenized once per test session."""

from __future__ import annotations

import contextlib
import gzip
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "assets" / "test"
HUMAN = ASSETS / "hg19_chr22_20-21Mb.fa.gz"
CHR17 = ASSETS / "hg19_chr17_0-40kb.fa.gz"
LAMBDA = ASSETS / "lambda_phage.fa.gz"
ECOLI = ASSETS / "ecoli_536_NC_008253.fa.gz"
SHARED = ROOT.parent / "shared" / "data"
DNALM = ROOT / "bin" / "dnalm"
BPE_CYCLES = (100, 600, 2000, 5000)
PRETRAIN_STEPS = ["--max-steps", "30", "--save-steps", "10", "--warmup-steps", "3", "--batch-size", "8",
                  "--learning-rate", "1e-3"]
KMER_VOCABS = {"kmer4": ["--kind", "kmer", "--k", "4"], "kmer6": ["--kind", "kmer", "--k", "6"],
               "kmer6_overlap": ["--kind", "kmer-overlap", "--k", "6"],
               "kmer6_stride3": ["--kind", "kmer-stride", "--k", "6", "--stride", "3"]}


def dnalm(*args: object, check: bool = True) -> subprocess.CompletedProcess:
    """Run the real CLI through bin/dnalm, as Nextflow tasks do."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run([sys.executable, str(DNALM), *map(str, args)], capture_output=True, text=True, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"dnalm {' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def one_line_error(proc: subprocess.CompletedProcess, step: str) -> str:
    """The error of a failed run, checked to be what a user can act on: exit status 2, no traceback, and after
    the log lines exactly one line, `dnalm STEP: error: ...`, that starts a line of its own."""
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines and lines[-1].startswith(f"dnalm {step}: error: "), proc.stderr
    assert sum("error:" in line for line in lines) == 1, proc.stderr
    return lines[-1]


@contextlib.contextmanager
def dnalm_log() -> Iterator[list[str]]:
    """The messages the dnalm logger emits at INFO and above while the block runs (it does not propagate, so
    pytest's caplog does not see them)."""
    from dnalm.logs import log

    messages: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())
    log.addHandler(handler)
    level = log.level
    log.setLevel(logging.INFO)
    try:
        yield messages
    finally:
        log.removeHandler(handler)
        log.setLevel(level)


def read_fasta_plain(path: Path) -> dict[str, str]:
    """An independent, minimal FASTA reader for checking dnalm's results."""
    records: dict[str, list[str]] = {}
    name = None
    with gzip.open(path, "rt") as fh:
        for line in fh:
            line = line.strip()
            if line.startswith(">"):
                name = line[1:].split()[0]
                records[name] = []
            elif line:
                records[name].append(line)
    return {k: "".join(v) for k, v in records.items()}


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

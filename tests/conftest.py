"""Shared fixtures: the real bundled genomes, prepared and tokenized once per test session."""

from __future__ import annotations

import contextlib
import csv
import gzip
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Iterator, Sequence

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


class WarmDnalm:
    """bin/dnalm run by tests/warm_dnalm.py: each command in a process of its own, forked after the imports.

    Only commands in the environment the server started with go warm; any other environment runs cold, since
    cache locations and thread counts are read at import time. DNALM_TEST_COLD=1 runs every command cold.
    """

    def __init__(self) -> None:
        self.server: subprocess.Popen | None = None
        self.env: dict[str, str] = {}
        self.lock = threading.Lock()
        self.outputs = Path(tempfile.mkdtemp(prefix="dnalm-warm-"))

    def run(self, args: Sequence[object], cwd: Path | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        argv = [str(a) for a in args]
        env = {**os.environ, "PYTHONWARNINGS": "ignore"} if env is None else env
        if os.environ.get("DNALM_TEST_COLD") or (self.server and _settings(env) != _settings(self.env)):
            return subprocess.run([sys.executable, str(DNALM), *argv], cwd=cwd, env=env, capture_output=True,
                                  text=True)
        with self.lock:
            if self.server is None:
                self.env = env
                self.server = subprocess.Popen([sys.executable, str(ROOT / "tests" / "warm_dnalm.py")], env=env,
                                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            out, err = self.outputs / "stdout", self.outputs / "stderr"
            request = {"argv": argv, "cwd": str(cwd or os.getcwd()), "stdout": str(out), "stderr": str(err)}
            self.server.stdin.write(json.dumps(request) + "\n")
            self.server.stdin.flush()
            reply = self.server.stdout.readline()
            if not reply:
                raise RuntimeError(f"tests/warm_dnalm.py stopped (exit {self.server.wait()})")
            return subprocess.CompletedProcess([str(DNALM), *argv], json.loads(reply)["returncode"],
                                               out.read_text(), err.read_text())


    def close(self) -> None:
        if self.server is not None:
            self.server.stdin.close()
            self.server.wait()
        shutil.rmtree(self.outputs, ignore_errors=True)


def _settings(env: dict[str, str]) -> dict[str, str]:
    """The environment but pytest's note of the running test, which changes with every test."""
    return {k: v for k, v in env.items() if k != "PYTEST_CURRENT_TEST"}


WARM = WarmDnalm()


def pytest_sessionfinish(session, exitstatus) -> None:
    WARM.close()


def dnalm(*args: object, check: bool = True, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the real CLI through bin/dnalm, as Nextflow tasks do."""
    proc = WARM.run(args, cwd=cwd)
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
    from dnalm.core.logs import log

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


SPLITS = ("train", "dev", "test")


def read_splits(task: Path) -> dict[str, list[dict[str, str]]]:
    """The rows of a task folder's train/dev/test.csv, as written."""
    parts = {}
    for split in SPLITS:
        with open(task / f"{split}.csv", newline="") as fh:
            parts[split] = list(csv.DictReader(fh))
    return parts


def read_mqc_table(path: Path) -> list[dict[str, str]]:
    """The rows of a MultiQC custom-content TSV (its `#` header lines are MultiQC's settings)."""
    lines = [line for line in Path(path).read_text().splitlines() if not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t"))


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

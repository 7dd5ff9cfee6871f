"""Shared benchmark plumbing: inputs from real genomes, child processes measured for time and peak memory.

Every measurement runs in a fresh child process (`tasks.py`), which reports its own peak RSS (VmHWM of
/proc/self/status: reset by exec, unlike getrusage's high-water mark inherited from the parent). Results go
to benchmarks/results/<name>.json and .md.
"""

from __future__ import annotations

import gzip
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
WORK = Path(os.environ.get("DNALM_BENCH_WORK", Path(tempfile.gettempdir()) / "dnalm_bench"))
DNALM = [sys.executable, str(ROOT / "bin" / "dnalm")]
CORES = len(os.sched_getaffinity(0))


def run_task(*args: object) -> dict:
    """Run `tasks.py ARGS` in a child; its JSON result, with the child's own peak RSS (MB)."""
    out = WORK / "task_result.json"
    out.unlink(missing_ok=True)
    cmd = [sys.executable, str(ROOT / "benchmarks" / "tasks.py"), str(out), *map(str, args)]
    subprocess.run(cmd, check=True)
    return json.loads(out.read_text())


def machine() -> dict:
    return {"cpu": _cpu(), "cores": CORES, "memory_gb": _memory_gb(),
            "python": platform.python_version()}


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def _memory_gb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            return round(int(line.split()[1]) / 1024 ** 2, 1)
    return 0.0


def debian_file(package: str, member: str) -> Path:
    """A file shipped in a Debian package (apt-get download + dpkg -x), cached under WORK."""
    target = WORK / "debian" / package
    path = target / member.lstrip("/")
    if not path.exists():
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(["apt-get", "download", package], cwd=target, check=True, capture_output=True)
        deb = next(target.glob(f"{package}_*.deb"))
        subprocess.run(["dpkg", "-x", str(deb), str(target)], check=True)
    return path


def prepared(name: str, fasta: Path) -> Path:
    """`dnalm prepare-genome` of a FASTA, cached under WORK."""
    out = WORK / "genomes" / name
    if not out.exists():
        subprocess.run(DNALM + ["prepare-genome", "--fasta", str(fasta), "--out", str(out)], check=True,
                       capture_output=True)
    return out


def inputs(sizes_mbp: tuple[int, ...] = ()) -> dict[str, Path]:
    """The benchmark genomes: E. coli 536 (bundled), C. elegans chrX (Debian), Markov genomes of sizes_mbp."""
    found = {
        "E. coli 536 (4.9 Mbp)": prepared("ecoli", ROOT / "assets" / "test" / "ecoli_536_NC_008253.fa.gz"),
        "C. elegans chrX (17.7 Mbp)": prepared("celegans_chrX", debian_file(
            "r-bioc-bsgenome", "/usr/lib/R/site-library/BSgenome/extdata/ce2chrX.fa.gz")),
    }
    for size in sizes_mbp:
        found[f"Markov, order 8 ({size} Mbp)"] = prepared(f"markov_{size}", markov_fasta(size))
    return found


def real_sequences() -> list[bytes]:
    """Real sequence to fit the Markov chain: C. elegans chrX, Drosophila upstream regions, E. coli, human."""
    files = [debian_file("r-bioc-bsgenome", "/usr/lib/R/site-library/BSgenome/extdata/ce2chrX.fa.gz"),
             debian_file("r-bioc-biostrings", "/usr/lib/R/site-library/Biostrings/extdata/dm3_upstream2000.fa.gz"),
             ROOT / "assets" / "test" / "ecoli_536_NC_008253.fa.gz",
             ROOT / "assets" / "test" / "hg19_chr22_20-21Mb.fa.gz"]
    seqs = []
    for f in files:
        with gzip.open(f, "rb") as fh:
            for record in fh.read().split(b">")[1:]:
                seqs.append(b"".join(record.split(b"\n")[1:]).upper())
    return seqs


def markov_fasta(size_mbp: int, order: int = 8, contig_bp: int = 1_000_000, seed: int = 1) -> Path:
    """A genome sampled from an order-8 Markov chain fitted to real sequence: realistic k-mer statistics
    at any size, with no repeated copies that would flatter tools which deduplicate identical chunks."""
    path = WORK / f"markov_{size_mbp}.fa.gz"
    if path.exists():
        return path
    code = np.full(256, 4, dtype=np.int64)
    code[list(b"ACGT")] = range(4)
    counts = np.ones(4 ** (order + 1))
    for seq in real_sequences():
        c = code[np.frombuffer(seq, dtype=np.uint8)]
        ok = c < 4
        digits = np.where(ok, c, 0)
        prev = np.zeros(len(c), dtype=np.int64)  # the previous `order` bases, the newest least significant
        for j in range(order, 0, -1):
            prev = prev * 4 + np.roll(digits, j)
            ok &= np.roll(c < 4, j)
        ok[:order] = False
        counts += np.bincount(prev[ok] * 4 + c[ok], minlength=4 ** (order + 1))
    counts = counts.reshape(4 ** order, 4)
    cumulative = np.cumsum(counts / counts.sum(axis=1, keepdims=True), axis=1)
    rng = np.random.default_rng(seed)
    lanes = size_mbp * 1_000_000 // contig_bp
    out = np.empty((lanes, contig_bp), dtype=np.uint8)
    state = rng.integers(0, 4 ** order, size=lanes)
    mask = 4 ** order - 1
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)
    for i in range(contig_bp):
        nxt = (rng.random(lanes)[:, None] > cumulative[state]).sum(axis=1)
        out[:, i] = letters[nxt]
        state = ((state << 2) | nxt) & mask
    with gzip.open(path, "wb", compresslevel=1) as fh:
        for lane in range(lanes):
            fh.write(b">markov_%d\n%s\n" % (lane, out[lane].tobytes()))
    return path


def linear_fit(x: list[float], y: list[float]) -> tuple[float, float, float]:
    """Slope, intercept and R² of the least-squares line: how a cost grows with genome size."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    slope, intercept = np.polyfit(x, y, 1)
    fitted = slope * x + intercept
    r2 = 1 - ((y - fitted) ** 2).sum() / max(((y - y.mean()) ** 2).sum(), 1e-12)
    return float(slope), float(intercept), float(r2)


def write_results(name: str, data: dict, markdown: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(markdown)
    print(markdown)

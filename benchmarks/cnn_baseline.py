"""The one-hot CNN baseline's CPU cost per 1,000 training sequences, beside the TF-IDF baseline's, and both
baselines' test MCC beside the published values of the same tasks.

    python benchmarks/cnn_baseline.py [--seeds 1] [--threads 2]

Tasks: GUE's prom_core_tata (70 bp) and prom_300_tata (300 bp) where ../shared/data holds them (DNABERT-2's
benchmark, not bundled), else the bundled window's Prom300 (built here). Each baseline runs once per task as
a `dnalm` command with its defaults (TF-IDF: overlapping 6-mers, the forest sizes of its default grid), in a
child process whose user + system CPU time is measured (getrusage of the children), so the numbers are CPU
seconds whatever the machine's load. The CNN's time is also given per epoch run, as early stopping decides
how many epochs a task takes.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from common import DNALM, ROOT, WORK, machine, prepared, write_results

sys.path.insert(0, str(ROOT / "src"))
from dnalm.evaluation.published import published_for  # noqa: E402

GUE = ROOT.parent / "shared" / "data" / "benchmarks" / "GUE" / "prom"
HUMAN = ROOT / "assets" / "test" / "hg19_chr22_20-21Mb.fa.gz"
TSS = ROOT / "assets" / "test" / "annotation" / "hg19_chr22_20-21Mb.tss.bed"


def measured(*args: object) -> tuple[float, float]:
    """CPU seconds (user + system of the child) and wall seconds of one `dnalm` command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(DNALM + [str(a) for a in args], check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), time.perf_counter() - start


def tasks() -> dict[str, Path]:
    if GUE.is_dir():
        return {name: GUE / name for name in ("prom_core_tata", "prom_300_tata")}
    genome = prepared("human_window", HUMAN)
    out = WORK / "cnn" / "prom300"
    if not out.exists():
        subprocess.run(DNALM + ["task-prom300", "--genome", str(genome), "--tss", str(TSS), "--negatives", "nucleotides",
                                "--out", str(out)], check=True, capture_output=True)
    return {"prom300": out}


def rows_of(path: Path) -> int:
    with open(path, newline="") as fh:
        return sum(1 for _ in csv.DictReader(fh))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    base = WORK / "cnn" / f"run_{int(time.time())}"
    vocab = WORK / "cnn" / "kmer6_overlap"
    if not vocab.exists():
        subprocess.run(DNALM + ["kmer-vocab", "--kind", "kmer-overlap", "--k", "6", "--out", str(vocab)], check=True,
                       capture_output=True)
    results = []
    for name, data in tasks().items():
        train = rows_of(data / "train.csv")
        cnn_cpu, cnn_wall = measured("cnn-baseline", "--data", data, "--seeds", args.seeds, "--threads", args.threads,
                                     "--out", base / f"cnn_{name}")
        tfidf_cpu, tfidf_wall = measured("tfidf-baseline", "--data", data, "--vocab", vocab, "--threads", args.threads,
                                         "--out", base / f"tfidf_{name}")
        cnn = json.loads((base / f"cnn_{name}" / "metrics.json").read_text())
        seeds = [json.loads(p.read_text()) for p in sorted((base / f"cnn_{name}").glob("seed*/metrics.json"))]
        epochs = sum(s["epochs_run"] for s in seeds)
        tfidf = json.loads((base / f"tfidf_{name}" / "metrics.json").read_text())
        published = {p.model: p.value for p in published_for("GUE", f"prom/{name}")}
        results.append({"task": name, "train_sequences": train, "seeds": len(seeds), "cnn_epochs": epochs,
                        "cnn_cpu_s": cnn_cpu, "cnn_wall_s": cnn_wall, "tfidf_cpu_s": tfidf_cpu, "tfidf_wall_s": tfidf_wall,
                        "cnn_cpu_s_per_1000": cnn_cpu / len(seeds) / train * 1000,
                        "cnn_cpu_s_per_1000_epoch": cnn_cpu / epochs / train * 1000,
                        "tfidf_cpu_s_per_1000": tfidf_cpu / train * 1000, "cnn_mcc": cnn["mcc"],
                        "cnn_mcc_sd": cnn["mcc_sd"], "tfidf_mcc": tfidf["mcc"], "published": published})
    lines = ["# One-hot CNN baseline: CPU time and MCC", "",
             f"{machine()['cpu']}, {args.threads} threads; seeds {args.seeds}; CPU seconds = user + system of the "
             "`dnalm` process. Published: DNABERT-2 paper, GUE table (arXiv 2306.15006).", "",
             "| task | train seqs | CNN CPU s / 1,000 seqs (per epoch) | TF-IDF CPU s / 1,000 seqs | CNN / TF-IDF | "
             "CNN MCC | TF-IDF MCC | DNABERT-2 | NT-2500M-multi | DNABERT (6-mer) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        p = r["published"]
        lines.append(f"| {r['task']} | {r['train_sequences']:,} | {r['cnn_cpu_s_per_1000']:.1f} "
                     f"({r['cnn_cpu_s_per_1000_epoch']:.2f}, {r['cnn_epochs'] / r['seeds']:.0f} epochs) | "
                     f"{r['tfidf_cpu_s_per_1000']:.1f} | {r['cnn_cpu_s'] / r['tfidf_cpu_s']:.1f} | {r['cnn_mcc']:.3f} | "
                     f"{r['tfidf_mcc']:.3f} | " + " | ".join(f"{p[m]:.3f}" if m in p else "-" for m in
                                                         ("DNABERT-2", "NT-2500M-multi", "DNABERT (6-mer)")) + " |")
    write_results("cnn_baseline", {"machine": machine(), "results": results}, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

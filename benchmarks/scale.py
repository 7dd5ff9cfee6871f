"""Every genome-sized step of the chain on synthetic genomes of growing size: time and peak memory per step,
their growth, and the projection to the human genome against each step's resource label.

    python benchmarks/scale.py [--sizes 50,200,500] [--model-steps-up-to 200]

Each genome is sampled from the order-8 Markov chain of `common.markov_fasta`, laid out as 1 Mbp contigs
plus one long contig holding a quarter of the genome (a chromosome-sized run: per-run memory shows). A
repeat track of 300 bp intervals every 10 kb goes with it. Every step runs as `dnalm` in a fresh process
whose peak RSS is read from `getrusage(RUSAGE_CHILDREN)` of a wrapper that runs only that step.
Steps whose work is capped by a setting (pretraining, Word2Vec, next-k-mer data) run with small caps:
what grows with the genome is what they load. Window embeddings use a tiny model and a capped UMAP; they
run a model over the whole genome, so they are measured up to `--model-steps-up-to` Mbp only.
"""

from __future__ import annotations

import argparse
import gzip
import subprocess
import sys
import time
from pathlib import Path

from common import CORES, DNALM, ROOT, WORK, linear_fit, machine, markov_fasta, write_results

HUMAN_MBP = 3100
PEAK = ("import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(code)")


def steps(work: Path, fasta: Path) -> list[tuple[str, str, list[str]]]:
    """(step, module whose label it runs under, dnalm arguments) in chain order."""
    genome, repeats = work / "genome", work / "repeats.bed"
    hold = str(genome / "holdout_default.bed")
    tiny = ["--preset", "tiny", "--max-steps", "20", "--save-steps", "20", "--batch-size", "8",
            "--warmup-steps", "2", "--eval-windows", "200"]
    bpe, k6 = work / "vocabs" / "bpe_600", work / "kmer6_overlap"
    return [
        ("prepare-genome", "prepare_genome", ["prepare-genome", "--fasta", str(fasta), "--out", str(genome)]),
        ("prepare-annotation", "prepare_annotation", ["prepare-annotation", "--track", str(repeats), "--name",
                                                      "repeats", "--format", "bed", "--role", "repeats", "--genome",
                                                      str(genome), "--out", str(work / "repeats")]),
        ("vocab-sweep", "vocab_sweep", ["vocab-sweep", "--genome", str(genome), "--cycles", "600", "--threads",
                                        str(CORES), "--out", str(work / "vocabs")]),
        ("kmer-vocab", "kmer_vocab", ["kmer-vocab", "--kind", "kmer-overlap", "--k", "6", "--out", str(k6)]),
        ("tokenize-genome (BPE-600)", "tokenize_genome", ["tokenize-genome", "--genome", str(genome), "--vocab",
                                                          str(bpe), "--out", str(work / "tok_bpe")]),
        ("tokenize-genome (6-mers, overlapping)", "tokenize_genome", [
            "tokenize-genome", "--genome", str(genome), "--vocab", str(k6), "--out", str(work / "tok_k6")]),
        ("vocab-stats", "vocab_stats", ["vocab-stats", "--tokenized", str(work / "tok_bpe"), str(work / "tok_k6"),
                                        "--out", str(work / "stats")]),
        ("make-windows (BPE-600)", "make_windows", ["make-windows", "--tokenized", str(work / "tok_bpe"),
                                                    "--holdout-regions", hold, "--out", str(work / "win_bpe")]),
        ("make-windows (6-mers, overlapping)", "make_windows", [
            "make-windows", "--tokenized", str(work / "tok_k6"), "--holdout-regions", hold,
            "--out", str(work / "win_k6")]),
        ("nextkmer-data", "nextkmer_data", ["nextkmer-data", "--genome", str(genome), "--holdout-regions", hold,
                                            "--samples", "20000", "--out", str(work / "nextkmer")]),
        ("pretrain (tiny, 20 steps)", "pretrain", ["pretrain", "--tokenized", str(work / "tok_bpe"), "--windows",
                                                   str(work / "win_bpe"), "--checkpoint-dir", str(work / "ck"), *tiny,
                                                   "--out", str(work / "model")]),
        ("token-embeddings (with repeats)", "token_embeddings", [
            "token-embeddings", "--model", str(work / "model" / "model"), "--tokenized", str(work / "tok_bpe"),
            "--repeats", str(repeats), "--name", "bpe_600", "--out", str(work / "token_embeddings")]),
        ("word2vec (10,000 windows)", "word2vec", [
            "word2vec", "--tokenized", str(work / "tok_bpe"), "--windows", str(work / "win_bpe"), "--sentences",
            "10000", "--vector-size", "64", "--workers", str(CORES), "--repeats", str(repeats), "--name", "w2v",
            "--out", str(work / "word2vec")]),
        ("window-embeddings (tiny model)", "window_embeddings", [
            "window-embeddings", "--model", str(work / "model" / "model"), "--tokenized", str(work / "tok_bpe"),
            "--tracks", f"repeats={repeats}", "--umap-max", "2000", "--batch-size", "64", "--resume-dir",
            str(work / "resume"), "--out", str(work / "window_embeddings")]),
    ]


def scale_fasta(size: int) -> Path:
    """`markov_fasta(size)` with its first quarter of contigs joined into one, written once."""
    fasta = WORK / f"scale_{size}.fa.gz"
    if fasta.exists():
        return fasta
    with gzip.open(markov_fasta(size), "rb") as fh:
        records = [r.split(b"\n", 1)[1].replace(b"\n", b"") for r in fh.read().split(b">")[1:]]
    long = len(records) // 4
    with gzip.open(fasta.with_suffix(".partial"), "wb", compresslevel=1) as fh:
        fh.write(b">long\n" + b"".join(records[:long]) + b"\n")
        for i, seq in enumerate(records[long:]):
            fh.write(b">contig_%d\n%s\n" % (i, seq))
    fasta.with_suffix(".partial").rename(fasta)
    return fasta


def repeat_track(genome: Path, path: Path) -> None:
    """300 bp intervals every 10 kb of every contig: a track whose size grows with the genome."""
    with open(genome / "runs.bed") as fh, open(path, "w") as out:
        ends: dict[str, int] = {}
        for line in fh:
            contig, _start, end = line.split("\t")[:3]
            ends[contig] = max(ends.get(contig, 0), int(end))
        for contig, end in ends.items():
            out.writelines(f"{contig}\t{s}\t{s + 300}\trep{i}\t0\t+\n"
                           for i, s in enumerate(range(0, end - 300, 10_000)))


def run_step(args: list[str]) -> dict:
    """One `dnalm` step in a fresh process: wall time and peak RSS (MB)."""
    began = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", PEAK, *DNALM, *args], capture_output=True, text=True)
    seconds = time.perf_counter() - began
    if proc.returncode:
        raise SystemExit(f"dnalm {args[0]} failed:\n{proc.stderr[-3000:]}")
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(int(proc.stderr.strip().splitlines()[-1]) / 1024, 1)}


def labels() -> dict[str, dict]:
    """Memory (GB) and CPUs of each module's first attempt, from its labels in conf/base.config."""
    sys.path.insert(0, str(ROOT / "tests"))
    import nfcheck

    found = {}
    for module in nfcheck.module_files(ROOT):
        process, names = nfcheck.module_labels(module)
        found[module.parent.name] = {"labels": names, **{key: nfcheck.label_setting(ROOT, names, process, key)
                                                         for key in ("cpus", "memory")}}
    return found


def growth(sizes: list[float], values: list[float]) -> dict:
    """Least-squares line through (Mbp, value), its R², and its value at the human genome's size."""
    if len(sizes) < 2:
        return {"per_mbp": float("nan"), "intercept": float("nan"), "r2": float("nan"), "human": float("nan")}
    slope, intercept, r2 = linear_fit(sizes, values)
    return {"per_mbp": slope, "intercept": intercept, "r2": r2, "human": slope * HUMAN_MBP + intercept}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,200,500", help="genome sizes (Mbp)")
    parser.add_argument("--model-steps-up-to", type=int, default=200,
                        help="largest genome (Mbp) that window embeddings are measured on")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    measured: dict[str, dict] = {}
    for size in sizes:
        fasta = scale_fasta(size)
        work = WORK / f"scale_run_{size}"
        subprocess.run(["rm", "-rf", str(work)], check=True)
        work.mkdir(parents=True)
        for name, module, step_args in steps(work, fasta):
            if step_args[0] == "window-embeddings" and size > args.model_steps_up_to:
                continue
            result = run_step(step_args)
            if step_args[0] == "prepare-genome":
                repeat_track(work / "genome", work / "repeats.bed")
            measured.setdefault(name, {"module": module, "runs": {}})["runs"][size] = result
            print(f"{size} Mbp  {name:40s} {result['seconds']:8.1f} s {result['peak_rss_mb']:8.0f} MB", flush=True)
    found = labels()
    for name, row in measured.items():
        done = [s for s in sizes if s in row["runs"]]
        row["time"] = growth(done, [row["runs"][s]["seconds"] for s in done])
        row["memory"] = growth(done, [row["runs"][s]["peak_rss_mb"] for s in done])
        row["label"] = found[row["module"]]
        row["fits_label"] = row["memory"]["human"] / 1024 <= row["label"]["memory"]
    data = {"machine": machine(), "sizes_mbp": sizes, "cores": CORES, "steps": measured}
    write_results("scale", data, markdown(data))


def markdown(data: dict) -> str:
    sizes = data["sizes_mbp"]
    lines = [f"## Every step at genome scale ({', '.join(map(str, sizes))} Mbp, {data['cores']} cores)", "",
             f"Machine: {data['machine']['cpu']}, {data['machine']['cores']} cores, {data['machine']['memory_gb']} GB. "
             "Peak memory and time per step; growth fitted by least squares and projected to 3,100 Mbp, against "
             "the memory of the step's label in `conf/base.config` (first attempt; retries double it).", "",
             "| step | " + " | ".join(f"{s} Mbp s / MB" for s in sizes) +
             " | MB per Mbp (R²) | projected GB at 3.1 Gbp | label (GB) | fits | s per Mbp (R²) |",
             "|---|" + "---|" * len(sizes) + "---|---|---|---|---|"]
    for name, row in data["steps"].items():
        cells = [f"{row['runs'][s]['seconds']:.1f} / {row['runs'][s]['peak_rss_mb']:.0f}" if s in row["runs"] else "-"
                 for s in sizes]
        m, t, label = row["memory"], row["time"], row["label"]
        lines.append(f"| {name} | " + " | ".join(cells) +
                     f" | {m['per_mbp']:.3f} ({m['r2']:.2f}) | {m['human'] / 1024:.1f} | "
                     f"{', '.join(label['labels'])} ({label['memory']}) | {'yes' if row['fits_label'] else 'NO'} | "
                     f"{t['per_mbp']:.3f} ({t['r2']:.2f}) |")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()

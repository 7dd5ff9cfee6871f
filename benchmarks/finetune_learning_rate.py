"""Which fine-tuning learning rate suits each model size: the measurement behind `--learning-rate`'s default.

    python benchmarks/finetune_learning_rate.py [--presets tiny,small] [--rates 1e-6,1e-5,1e-4,3e-4,1e-3,3e-3]

GROVER fine-tunes its BERT-base at 1e-6; a tiny model at that rate predicts one class (MCC 0). Here a tiny
and a small BERT (BPE 600, pretrained on the bundled human window) are fine-tuned on the same tasks at
each rate, one seed, early stopping on validation MCC, and the test MCC is kept per preset and rate:
GUE's promoter tasks prom_300_tata and prom_core_tata where ../shared/data holds them (DNABERT-2's
benchmark, not bundled), else the bundled window's Prom300. Every run is a `dnalm` command; results are
kept in $DNALM_BENCH_WORK, so a second call with `--train-tasks` adds runs to the same table. The best rate
of a preset has the best mean test MCC among the rates run on the most tasks (a cheaper task can screen the
range first: `--train-tasks prom_core_tata`, then the candidates with `--rates`).
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

import numpy as np
from common import DNALM, ROOT, WORK, machine, prepared, write_results

HUMAN = ROOT / "assets" / "test" / "hg19_chr22_20-21Mb.fa.gz"
TSS = ROOT / "assets" / "test" / "annotation" / "hg19_chr22_20-21Mb.tss.bed"
GUE = ROOT.parent / "shared" / "data" / "benchmarks" / "GUE" / "prom"


def dnalm(*args: object) -> None:
    subprocess.run(DNALM + [str(a) for a in args], check=True, capture_output=True)


def once(out: Path, *args: object) -> Path:
    """Run a step unless its output is there (the steps write atomically)."""
    if not out.exists():
        dnalm(*args, "--out", out)
    return out


def pretrained(genome: Path, preset: str, steps: int) -> Path:
    vocab = once(WORK / "lr" / "sweep", "vocab-sweep", "--genome", genome, "--cycles", "600") / "bpe_600"
    tok = once(WORK / "lr" / "tokenized", "tokenize-genome", "--genome", genome, "--vocab", vocab)
    win = once(WORK / "lr" / "windows", "make-windows", "--tokenized", tok, "--holdout-regions",
               genome / "holdout_default.bed")
    out = WORK / "lr" / f"pretrained_{preset}_{steps}"
    once(out, "pretrain", "--tokenized", tok, "--windows", win, "--checkpoint-dir", WORK / "lr" / f"ckpt_{preset}",
         "--preset", preset, "--max-steps", steps, "--save-steps", steps, "--warmup-steps", steps // 10,
         "--batch-size", 16)
    return out / "model"


def tasks(genome: Path) -> dict[str, Path]:
    found = {name: once(WORK / "lr" / f"task_{name}", "task-import", "--source", GUE / name)
             for name in ("prom_300_tata", "prom_core_tata") if (GUE / name).is_dir()}
    if not found:
        found["prom300"] = once(WORK / "lr" / "task_prom300", "task-prom300", "--genome", genome, "--tss", TSS,
                                "--vocab", WORK / "lr" / "sweep" / "bpe_600")
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", default="tiny,small")
    ap.add_argument("--rates", default="1e-6,1e-5,1e-4,3e-4,1e-3,3e-3")
    ap.add_argument("--pretrain-steps", type=int, default=400)
    ap.add_argument("--epochs", type=float, default=3)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--train-tasks", help="tasks to run (default: all); the others' earlier results are still "
                                          "read from $DNALM_BENCH_WORK")
    a = ap.parse_args()
    genome = prepared("human_window", HUMAN)
    runs = []
    for preset in a.presets.split(","):
        model = pretrained(genome, preset, a.pretrain_steps)
        for task, data in tasks(genome).items():
            for rate in a.rates.split(","):
                out = WORK / "lr" / f"ft_{preset}_{task}_{rate}_{a.epochs}_{a.seed}"
                if not out.exists() and a.train_tasks and task not in a.train_tasks.split(","):
                    continue
                once(out, "finetune", "--model", model, "--data", data, "--learning-rate", rate, "--epochs",
                     a.epochs, "--patience", 2, "--seeds", a.seed)
                metrics = json.loads((out / "metrics.json").read_text())
                runs.append({"preset": preset, "task": task, "learning_rate": float(rate), "mcc": metrics["mcc"],
                             "accuracy": metrics["accuracy"]})
                print(runs[-1], flush=True)
    best = {}
    for preset in a.presets.split(","):
        mine = [r for r in runs if r["preset"] == preset]
        rates = sorted({r["learning_rate"] for r in mine})
        tasks_of = {rate: [r for r in mine if r["learning_rate"] == rate] for rate in rates}
        widest = max(map(len, tasks_of.values()))  # rates run on fewer tasks only screened the range
        mean = {rate: np.mean([r["mcc"] for r in runs_]) for rate, runs_ in tasks_of.items() if len(runs_) == widest}
        best[preset] = max(mean, key=mean.get)
    task_names = sorted({r["task"] for r in runs})
    lines = ["# Fine-tuning learning rate by model size", "",
             f"Test MCC, one seed ({a.seed}), {a.epochs:g} epochs with early stopping (patience 2), models "
             f"pretrained {a.pretrain_steps} steps on the human window (BPE 600). Best mean rate per preset: "
             + ", ".join(f"{p} {best[p]:g}" for p in best) + " (among the rates run on every task; -: not run).", "",
             "| preset | learning rate | " + " | ".join(task_names) + " |",
             "|---|---|" + "---|" * len(task_names)]
    for preset in best:
        for rate in sorted({r["learning_rate"] for r in runs if r["preset"] == preset}):
            cells = {r["task"]: r for r in runs if r["preset"] == preset and r["learning_rate"] == rate}
            lines.append(f"| {preset} | {rate:g} | " + " | ".join(f"{cells[t]['mcc']:.3f}" if t in cells else "-"
                                                               for t in task_names) + " |")
    write_results("finetune_learning_rate", {"machine": machine(), "settings": vars(a), "runs": runs, "best": best},
                  "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

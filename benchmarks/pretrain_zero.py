"""DeepSpeed ZeRO-2 against plain PyTorch DDP, 2 ranks on one node, per model preset: the measurement behind
`--deepspeed auto`.

    python benchmarks/pretrain_zero.py [--presets tiny,small,base] [--batch 4]

Each run is `dnalm launch --procs-per-node 2 -- dnalm pretrain` on the bundled human window's BPE-600 windows
(the same windows, masks and batches for both), started from a fresh wrapper process whose children's
high-water mark is the peak RSS of the largest rank. Time is the Trainer's `train_runtime` (rank 0), which
includes DeepSpeed's and DDP's own start-up inside `train()`. Evaluation (rank 0, 20 held-out windows in
batches as small as training's) stays below training's memory; ZeRO-2 partitions gradients and AdamW's state
over the ranks, which shows in memory, at the cost of its communication and bookkeeping, which shows in time.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys

from common import DNALM, WORK, machine, write_results
from data_pipeline import chain

#: Steps per preset: enough to outweigh start-up on 2 CPU cores, few enough for base.
STEPS = {"tiny": 60, "small": 30, "base": 6}

#: Runs the command in its arguments; prints the peak RSS (kB) of its largest descendant.
PEAK = ("import resource, subprocess, sys; p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
        "sys.stdout.write(p.stdout + p.stderr); "
        "print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(p.returncode)")


def run(tokenized, windows, preset: str, deepspeed: str, steps: int, batch: int) -> dict:
    work = WORK / "pretrain_zero" / f"{preset}_{deepspeed or 'ddp'}"
    shutil.rmtree(work, ignore_errors=True)
    cmd = [sys.executable, "-c", PEAK, *DNALM, "launch", "--procs-per-node", "2", "--", "dnalm", "pretrain",
           "--tokenized", tokenized, "--windows", windows, "--checkpoint-dir", work / "ck", "--preset", preset,
           "--max-steps", steps, "--save-steps", steps, "--batch-size", batch, "--warmup-steps", 1,
           "--eval-windows", 20, "--eval-batch-size", batch, "--deepspeed", deepspeed, "--device", "cpu",
           "--out", work / "out"]
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if proc.returncode:
        sys.exit(proc.stdout[-3000:])
    runtime = float(re.search(r"'train_runtime': '([0-9.]+)'", proc.stdout).group(1))
    metrics = json.loads((work / "out" / "metrics.json").read_text())
    shutil.rmtree(work, ignore_errors=True)
    return {"preset": preset, "deepspeed": deepspeed or "none", "train_s": runtime, "s_per_step": runtime / steps,
            "peak_rss_mb": int(proc.stdout.rsplit("PEAK_RSS_KB", 1)[1].split()[0]) / 1024,
            "held_out_loss": metrics["held_out_after"]["loss"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="tiny,small,base")
    parser.add_argument("--batch", type=int, default=4)
    args = parser.parse_args()
    tokenized, train = chain()
    rows = [run(tokenized, train.parent, preset, deepspeed, STEPS[preset], args.batch)
            for preset in args.presets.split(",") for deepspeed in ("", "zero2")]
    md = ["## ZeRO-2 against DDP (CPU, 2 ranks on one node)\n",
          f"Human test window, BPE 600 windows, {args.batch} windows per rank and step; "
          f"{machine()['cores']} cores, gloo.\n",
          "| preset | DeepSpeed | steps | s per step | peak RSS of a rank, MB | held-out loss |",
          "|---|---|---|---|---|---|"]
    md += [f"| {r['preset']} | {r['deepspeed']} | {STEPS[r['preset']]} | {r['s_per_step']:.2f} | "
           f"{r['peak_rss_mb']:.0f} | {r['held_out_loss']:.3f} |" for r in rows]
    write_results("pretrain_zero", {"machine": machine(), "steps": STEPS, "batch": args.batch, "runs": rows},
                  "\n".join(md))


if __name__ == "__main__":
    main()

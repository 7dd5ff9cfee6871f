"""Pretraining throughput: dnalm's `pretrain` against the plain HF recipe, same windows, model and batch size.

    python benchmarks/pretrain_throughput.py [--steps 150] [--batch 32] [--seeds 1,2,3]

The windows are the bundled human window's (BPE 600, the train split of make-windows); the model is the tiny
preset. dnalm trains with its defaults (batches of windows of similar length, numpy masking); the baseline is
what DNABERT-2's authors point to: BertForMaskedLM + DataCollatorForLanguageModeling + Trainer, random batches
padded to their longest window; and dnalm with `--batching random`, which separates what grouping does from the
rest. Each run is a fresh process (time from the Trainer's `train_runtime`, peak
memory of the process). Tokens are non-padding positions ([CLS] and [SEP] included). Both models are then
scored on every held-out window with the same fixed masks.
"""

from __future__ import annotations

import argparse
import shutil

import numpy as np
from common import WORK, machine, run_task, write_results
from data_pipeline import chain

#: What runs: the task of benchmarks/tasks.py and its extra arguments.
RECIPES = {"dnalm": ("pretrain_dnalm", "grouped"), "dnalm_random": ("pretrain_dnalm", "random"), "hf": ("pretrain_hf",)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seeds", default="1,2,3")
    args = parser.parse_args()
    tokenized, train = chain()
    rows = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        for recipe, task in RECIPES.items():
            work = WORK / "pretrain_throughput" / f"{recipe}_{seed}"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            r = run_task(task[0], tokenized, train.parent, args.steps, args.batch, seed, work, *task[1:])
            rows.append({"recipe": recipe, "seed": seed, **r, "tokens_per_s": r["tokens"] / r["train_s"],
                         "padding_share": 1 - r["tokens"] / r["positions"]})
            shutil.rmtree(work, ignore_errors=True)
    summary = {recipe: {key: float(np.mean([r[key] for r in rows if r["recipe"] == recipe]))
                        for key in ("tokens_per_s", "padding_share", "peak_rss_mb", "held_out_loss", "train_s")}
               for recipe in RECIPES}
    for recipe in summary:
        losses = [r["held_out_loss"] for r in rows if r["recipe"] == recipe]
        summary[recipe]["held_out_loss_sd"] = float(np.std(losses, ddof=1)) if len(losses) > 1 else float("nan")
    ratio = summary["dnalm"]["tokens_per_s"] / summary["hf"]["tokens_per_s"]
    result = {"machine": machine(), "steps": args.steps, "batch": args.batch, "runs": rows, "summary": summary,
              "tokens_per_s_ratio": ratio}
    md = ["## Pretraining throughput (CPU, tiny preset)\n",
          f"Human test window, BPE 600 train windows, batches of {args.batch}, {args.steps} steps, seeds "
          f"{args.seeds}; {machine()['cores']} cores. Means over seeds.\n",
          "| recipe | non-padding tokens/s | padding share | held-out loss (mean ± sd) | peak RSS MB |",
          "|---|---|---|---|---|"]
    for recipe, name in (("dnalm", "dnalm pretrain (grouped batches, the default)"),
                         ("dnalm_random", "dnalm pretrain --batching random"), ("hf", "HF recipe (random batches)")):
        s = summary[recipe]
        md.append(f"| {name} | {s['tokens_per_s']:.0f} | {100 * s['padding_share']:.1f} % | "
                  f"{s['held_out_loss']:.3f} ± {s['held_out_loss_sd']:.3f} | {s['peak_rss_mb']:.0f} |")
    md.append(f"\nRatio of non-padding tokens/s, dnalm / HF: {ratio:.2f}x.\n")
    write_results("pretrain_throughput", result, "\n".join(md))


if __name__ == "__main__":
    main()

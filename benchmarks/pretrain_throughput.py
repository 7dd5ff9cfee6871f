"""Pretraining throughput: dnalm's `pretrain` against the plain HF recipe, same windows, model and batch size.

    python benchmarks/pretrain_throughput.py [--steps 150] [--batch 32] [--seeds 1,2,3] [--recipes dnalm,hf]
    python benchmarks/pretrain_throughput.py --device cuda --preset base --peak-tflops 989 --seeds 1

The windows are the bundled human window's (BPE 600, the train split of make-windows); the model is the tiny
preset unless `--preset`. dnalm trains with its defaults (batches of windows of similar length, numpy masking);
the baseline is what DNABERT-2's authors point to: BertForMaskedLM + DataCollatorForLanguageModeling + Trainer,
random batches padded to their longest window (bf16 on a GPU); then dnalm with `--batching random`, which
separates what grouping does from the rest, and dnalm with one kernel flag changed each, the measurement
behind their defaults. Each run is a fresh process (time from the Trainer's `train_runtime`, peak memory of the
process). Tokens are non-padding positions ([CLS] and [SEP] included). Every model is then scored on every
held-out window with the same fixed masks. With `--peak-tflops` (the device's dense peak at the precision
trained, e.g. 989 for bf16 on an H100/H200 SXM) each recipe's model FLOPs utilisation is
6 x parameters x non-padding tokens / time / peak.
"""

from __future__ import annotations

import argparse
import shutil

import numpy as np
from common import WORK, machine, run_task, write_results
from data_pipeline import chain

#: What runs: its name in the results, the task of benchmarks/tasks.py with its extra arguments (`dnalm pretrain`'s
#: kernel flags, the rest at their defaults), and how the summary names it.
RECIPES = {
    "dnalm": (("pretrain_dnalm", "grouped"), "dnalm pretrain (defaults: grouped batches, sdpa, fp32, fused AdamW)"),
    "dnalm_random": (("pretrain_dnalm", "random"), "dnalm pretrain --batching random"),
    "hf": (("pretrain_hf",), "HF recipe (random batches)"),
    "eager": (("pretrain_dnalm", "grouped", "--attention=eager"), "dnalm pretrain --attention eager"),
    "bf16": (("pretrain_dnalm", "grouped", "--precision=bf16"), "dnalm pretrain --precision bf16"),
    "unfused": (("pretrain_dnalm", "grouped", "--no-fused-adamw"), "dnalm pretrain --no-fused-adamw"),
    "compile": (("pretrain_dnalm", "grouped", "--compile"), "dnalm pretrain --compile"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--recipes", default=",".join(RECIPES), help="which of " + ", ".join(RECIPES))
    parser.add_argument("--preset", default="tiny", choices=["tiny", "small", "base"])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--peak-tflops", type=float, help="the device's peak TFLOP/s, for MFU")
    args = parser.parse_args()
    recipes = args.recipes.split(",")
    tokenized, train = chain()
    rows = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        for recipe in recipes:
            task = RECIPES[recipe][0]
            work = WORK / "pretrain_throughput" / f"{recipe}_{seed}"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            r = run_task(task[0], tokenized, train.parent, args.steps, args.batch, seed, work, args.preset,
                         args.device, *task[1:])
            tokens_per_s = r["tokens"] / r["train_s"]
            rows.append({"recipe": recipe, "seed": seed, **r, "tokens_per_s": tokens_per_s,
                         "padding_share": 1 - r["tokens"] / r["positions"],
                         "mfu": 6 * r["parameters"] * tokens_per_s / (args.peak_tflops * 1e12)
                         if args.peak_tflops else None})
            shutil.rmtree(work, ignore_errors=True)
    keys = ("tokens_per_s", "padding_share", "peak_rss_mb", "held_out_loss", "train_s") + \
        (("mfu",) if args.peak_tflops else ())
    summary = {recipe: {key: float(np.mean([r[key] for r in rows if r["recipe"] == recipe])) for key in keys}
               for recipe in recipes}
    for recipe in summary:
        losses = [r["held_out_loss"] for r in rows if r["recipe"] == recipe]
        summary[recipe]["held_out_loss_sd"] = float(np.std(losses, ddof=1)) if len(losses) > 1 else float("nan")
    ratio = summary["dnalm"]["tokens_per_s"] / summary["hf"]["tokens_per_s"]
    result = {"machine": machine(), "device": args.device, "preset": args.preset, "peak_tflops": args.peak_tflops,
              "steps": args.steps, "batch": args.batch, "runs": rows, "summary": summary, "tokens_per_s_ratio": ratio}
    md = [f"## Pretraining throughput ({args.device}, {args.preset} preset)\n",
          f"Human test window, BPE 600 train windows, batches of {args.batch}, {args.steps} steps, seeds "
          f"{args.seeds}; {machine()['cores']} cores. Means over seeds.\n",
          "| recipe | non-padding tokens/s | vs HF | padding share | held-out loss (mean ± sd) | peak RSS MB |"
          + (" MFU |" if args.peak_tflops else ""), "|---|---|---|---|---|---|" + ("---|" if args.peak_tflops else "")]
    for recipe in recipes:
        s = summary[recipe]
        md.append(f"| {RECIPES[recipe][1]} | {s['tokens_per_s']:.0f} | "
                  f"{s['tokens_per_s'] / summary['hf']['tokens_per_s']:.2f}x | {100 * s['padding_share']:.1f} % | "
                  f"{s['held_out_loss']:.3f} ± {s['held_out_loss_sd']:.3f} | {s['peak_rss_mb']:.0f} |"
                  + (f" {100 * s['mfu']:.1f} % |" if args.peak_tflops else ""))
    md.append(f"\nRatio of non-padding tokens/s, dnalm / HF: {ratio:.2f}x.\n")
    name = "pretrain_throughput" + ("" if (args.device, args.preset) == ("cpu", "tiny") else
                                    f"_{args.device}_{args.preset}")
    write_results(name, result, "\n".join(md))


if __name__ == "__main__":
    main()

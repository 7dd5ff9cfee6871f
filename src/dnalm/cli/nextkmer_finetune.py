"""fine-tune any model (dnalm or HuggingFace, path or hub id) to predict the next k nt"""

from __future__ import annotations

import argparse
from pathlib import Path

from dnalm.cli.options import K, add_finetuning, add_model, add_model_id, add_seed, finetuning_settings, model_name


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model(p)
    p.add_argument("--data", type=Path, required=True, help="nextkmer-data output directory")
    p.add_argument("--k", type=K, required=True, help="predict the next k nt: 4^k classes (1..8)")
    add_model_id(p)
    add_finetuning(p, epochs=3.0, batch_size=64, dropout=0.5, warmup_steps=0, weight_decay=0.0)
    add_seed(p)


def run(args: argparse.Namespace, out: Path) -> None:
    from dnalm.evaluation.finetune import finetune
    from dnalm.evaluation.task_data import load_task

    finetune(args.model, load_task(args.data, args.k), out, args.model_id or model_name(args.model),
             seed=args.seed, patience=0, save_model=False, extra={"k": args.k}, **finetuning_settings(args))

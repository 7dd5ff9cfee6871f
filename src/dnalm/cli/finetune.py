"""fine-tune any model on a labelled task (task-* output or GUE folder); MCC, F1, AUCs per seed"""

from __future__ import annotations

import argparse
from pathlib import Path

from dnalm.cli.options import (
    NON_NEGATIVE_INT,
    add_finetuning,
    add_label_map,
    add_model,
    add_model_id,
    finetuning_settings,
    int_list,
    model_name,
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model(p)
    p.add_argument("--data", type=Path, required=True, help="task folder: train.csv, dev.csv, test.csv")
    add_label_map(p)
    add_model_id(p)
    add_finetuning(p, epochs=10.0, batch_size=16, dropout=0.1, warmup_steps=50, weight_decay=0.01)
    p.add_argument("--patience", type=NON_NEGATIVE_INT, default=3,
                   help="stop after this many epochs without a better validation MCC; 0: no early stopping")
    p.add_argument("--seeds", type=int_list, default=[42], help="one run per seed; mean and sd reported")
    p.add_argument("--save-model", action="store_true",
                   help="keep each seed's fine-tuned classifier in seed<N>/model (for variant-effects --classifier)")


def run(args: argparse.Namespace, out: Path) -> None:
    from dnalm.evaluation.finetune import finetune_seeds
    from dnalm.evaluation.task_data import load_task

    task = load_task(args.data, label_map=args.label_map)
    finetune_seeds(args.model, task, out, args.model_id or model_name(args.model), args.seeds,
                   patience=args.patience, save_model=args.save_model, **finetuning_settings(args))

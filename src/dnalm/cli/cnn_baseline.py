"""one-hot CNN (both strands, early stopping on dev) on a labelled task: the plain baseline beside every model"""

from __future__ import annotations

import argparse
from pathlib import Path

from dnalm.cli.options import CORES, FRACTION, NON_NEGATIVE_INT, POSITIVE, POSITIVE_INT, K, add_label_map, int_list
from dnalm.evaluation.settings import CnnSettings


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = CnnSettings()
    p.add_argument("--data", type=Path, required=True, help="task folder (train/dev/test.csv) or nextkmer-data output")
    p.add_argument("--k", type=K, help="next-k-mer data: predict the next k nt (1..8)")
    add_label_map(p)
    p.add_argument("--filters", type=POSITIVE_INT, default=d.filters, help="filters of each convolution")
    p.add_argument("--kernel", type=POSITIVE_INT, default=d.kernel, help="width (bp) of the first convolution")
    p.add_argument("--second-kernel", type=POSITIVE_INT, default=d.second_kernel,
                   help="width of the second convolution, in pooled positions")
    p.add_argument("--pool", type=POSITIVE_INT, default=d.pool, help="max-pool width between the convolutions")
    p.add_argument("--dropout", type=FRACTION, default=d.dropout, help="dropout before the second convolution and the head")
    p.add_argument("--epochs", type=POSITIVE_INT, default=d.epochs, help="most passes over the training set")
    p.add_argument("--patience", type=NON_NEGATIVE_INT, default=d.patience,
                   help="stop after this many epochs without a better validation MCC; 0: train every epoch")
    p.add_argument("--min-steps", type=NON_NEGATIVE_INT, default=d.min_steps,
                   help="steps trained before early stopping may stop (a small task takes few steps per epoch)")
    p.add_argument("--batch-size", type=POSITIVE_INT, default=d.batch_size, help="sequences per step")
    p.add_argument("--learning-rate", type=POSITIVE, default=d.learning_rate, help="AdamW learning rate (constant)")
    p.add_argument("--weight-decay", type=FRACTION, default=d.weight_decay, help="AdamW decoupled weight decay")
    p.add_argument("--valid-fraction", type=FRACTION, default=d.valid_fraction,
                   help="share of training rows held out for early stopping, where the task has no dev split")
    p.add_argument("--seeds", type=int_list, default=[42], help="one run per seed; mean, sd and 95%% interval reported")
    p.add_argument("--threads", type=POSITIVE_INT, default=CORES, help="CPU threads of torch (default: cores)")


def run(args: argparse.Namespace, out: Path) -> None:
    from dnalm.evaluation.cnn import cnn_baseline
    from dnalm.evaluation.task_data import load_task

    settings = CnnSettings(filters=args.filters, kernel=args.kernel, second_kernel=args.second_kernel, pool=args.pool,
                           dropout=args.dropout, epochs=args.epochs, patience=args.patience, min_steps=args.min_steps,
                           batch_size=args.batch_size, learning_rate=args.learning_rate,
                           weight_decay=args.weight_decay, valid_fraction=args.valid_fraction)
    cnn_baseline(load_task(args.data, args.k, args.label_map), out, settings, args.seeds, args.threads)

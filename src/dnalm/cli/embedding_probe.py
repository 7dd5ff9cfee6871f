"""frozen-embedding probe of any model on a labelled task: mean or [CLS] vectors of a layer, logistic regression"""

from __future__ import annotations

import argparse
from pathlib import Path

from dnalm.cli.options import FRACTION, POSITIVE_INT, add_device, add_label_map, add_model, add_model_id, model_name


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model(p)
    p.add_argument("--data", type=Path, required=True, help="task folder: train.csv, dev.csv, test.csv")
    add_label_map(p)
    add_model_id(p)
    p.add_argument("--pooling", choices=("mean", "cls"), default="mean",
                   help="one vector per sequence: the mean over its tokens, or its first token ([CLS])")
    p.add_argument("--layer", default="last",
                   help="the layer whose output is read: 'last', or 0 (the embedding layer) to the model's depth")
    p.add_argument("--batch-size", type=POSITIVE_INT, default=32, help="sequences (pieces) per forward pass")
    p.add_argument("--valid-fraction", type=FRACTION, default=0.1,
                   help="share of training rows held out to choose the regularisation, where the task has no dev split")
    p.add_argument("--trust-remote-code", action="store_true",
                   help="allow model code from the model's repository (DNABERT-2, Nucleotide Transformer, HyenaDNA)")
    add_device(p)


def run(args: argparse.Namespace, out: Path) -> None:
    from dnalm.evaluation.probe import embedding_probe
    from dnalm.evaluation.task_data import load_task

    embedding_probe(args.model, load_task(args.data, label_map=args.label_map), out,
                    args.model_id or model_name(args.model), pooling=args.pooling, layer=args.layer,
                    batch_size=args.batch_size, valid_fraction=args.valid_fraction,
                    trust_remote_code=args.trust_remote_code)

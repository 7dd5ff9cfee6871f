"""a benchmark as a task: train/dev/test.csv and task.json (with its leaks). Splits given as files (GUE
train/[dev]/test, fold files, a saved HF DatasetDict) are kept (dev carved from train when missing); one file
(CSV, TSV, parquet, FASTA >name|label, a saved HF Dataset) is split 80/10/10, stratified, by group"""

from __future__ import annotations

import argparse
from pathlib import Path

from dnalm.cli.options import POSITIVE_INT, add_task


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_task(p, genome=False)
    p.add_argument("--source", type=Path, required=True,
                   help="a folder of split files or fold files, a saved HF dataset, or one CSV/TSV/parquet/FASTA file")
    p.add_argument("--name", help="task name in results and the report (default: a folder's parent and name, "
                                  "e.g. GUE's tf/0; a file's name)")
    p.add_argument("--sequence-column", default="sequence", help="column holding the sequences")
    p.add_argument("--label-column", default="label", help="column holding the integer class labels")
    p.add_argument("--group-column",
                   help="column whose rows stay in one split (a shuffled negative and its positive); rows that "
                        "are rearrangements of each other stay together without it")
    p.add_argument("--test-fold", type=POSITIVE_INT,
                   help="with fold files: the test fold; the next fold is dev, the others train")
    p.add_argument("--dedup", action="store_true",
                   help="remove leaks (reported in task.json either way): rows whose sequence, on either strand, "
                        "carries two labels, from every split; then dev and test rows whose sequence or reverse "
                        "complement is in train (or, for test, in dev), from dev and test, so training keeps all "
                        "its rows and is scored on sequences it never saw")


def run(args: argparse.Namespace, out: Path) -> None:
    from dnalm.evaluation.task_import import Columns, import_task

    import_task(source=args.source, out=out, name=args.name,
                columns=Columns(args.sequence_column, args.label_column, args.group_column),
                test_fold=args.test_fold, seed=args.seed, train_fraction=args.train_fraction, dedup=args.dedup)

"""Argument types and option groups that several commands share.

A number option's type is an `Interval`, whose description writes the error message (as scikit-learn's
`utils/_param_validation.py` does), so a bound and what the user is told about it cannot drift apart.
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

#: CPUs this process may use: the default for --threads-like options.
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class Interval:
    """An int or float argument type bounded on each side (None: unbounded); `closed` says which bounds count."""

    def __init__(self, kind: type, left: float | None, right: float | None, closed: str = "both",
                 name: str = "") -> None:
        self.kind, self.left, self.right, self.closed, self.name = kind, left, right, closed, name

    def __call__(self, text: str) -> int | float:
        value = self._parse(text)
        if not self._holds(value):
            raise argparse.ArgumentTypeError(f"{self.name + ' ' if self.name else ''}must be {self}, got {text!r}")
        return value

    def _parse(self, text: str) -> int | float:
        try:
            return int(text.replace("_", "")) if self.kind is int else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {'an integer' if self.kind is int else 'a number'}: "
                                             f"{text!r}") from None

    def _holds(self, value: float) -> bool:
        left_closed, right_closed = self.closed in ("both", "left"), self.closed in ("both", "right")
        above = self.left is None or (value >= self.left if left_closed else value > self.left)
        below = (value < math.inf if self.right is None
                 else value <= self.right if right_closed else value < self.right)
        return above and below

    def __str__(self) -> str:
        if self.right is None:
            at_least = self.closed in ("both", "left")
            words = {(int, 1, True): "a positive integer", (int, 0, True): "zero or a positive integer",
                     (float, 0, True): "0 or more", (float, 0, False): "positive"}
            return words.get((self.kind, self.left, at_least),
                             f"{'at least' if at_least else 'more than'} {self.left:g}")
        if self.kind is int:
            return f"between {self.left} and {self.right}"
        left = "[" if self.closed in ("both", "left") else "("
        right = "]" if self.closed in ("both", "right") else ")"
        return f"in {left}{self.left:g}, {self.right:g}{right}"


POSITIVE_INT = Interval(int, 1, None)
NON_NEGATIVE_INT = Interval(int, 0, None)
K = Interval(int, 1, 8, name="k")
POSITIVE = Interval(float, 0, None, closed="neither")
NON_NEGATIVE = Interval(float, 0, None)
FRACTION = Interval(float, 0, 1, closed="left")
SHARE = Interval(float, 0, 1, closed="right")
#: A probability that leaves something on both sides: masking none (or all) of the tokens trains nothing.
PROBABILITY = Interval(float, 0, 1, closed="neither")


def int_list(text: str) -> list[int]:
    """Comma-separated positive integers, sorted and without repeats."""
    values = [POSITIVE_INT(t) for t in text.split(",") if t.strip()]
    if not values:
        raise argparse.ArgumentTypeError("needs at least one positive integer")
    return sorted(set(values))


def name_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def identifier(text: str) -> str:
    if not text or not all(c.isalnum() or c in "_.-" for c in text):
        raise argparse.ArgumentTypeError(f"use letters, digits, '_', '.' or '-' only, got {text!r}")
    return text


def model_name(ref: str | Path) -> str:
    """A readable model name: the directory's name (its parent's for `<name>_pretrained/model`) or the hub id
    with '/' as '_'. The workflow's externalModel (subworkflows/local/utils_dnalm_pipeline) applies the same rule."""
    path = Path(ref)
    if path.exists():
        path = path.resolve()
        return path.parent.name if path.name == "model" else path.name
    return str(ref).replace("/", "_")


def classifier_dir(text: str) -> Path:
    """A fine-tuned classifier: its directory, or a `finetune --save-model` output, whose lowest seed's
    `seed<N>/model` it then is (the workflow passes the output)."""
    path = Path(text)
    if (path / "config.json").is_file():
        return path
    saved = [p for p in path.glob("seed*/model") if p.parent.name[4:].isdigit() and (p / "config.json").is_file()]
    if not saved:
        raise argparse.ArgumentTypeError(f"{text} is neither a model directory (config.json) nor a finetune "
                                         "--save-model output (seed<N>/model)")
    return min(saved, key=lambda p: int(p.parent.name[4:]))


def add_subset(p: argparse.ArgumentParser, flag: str, default: int, what: str) -> None:
    """A cap on the rows a step uses: at most this many, a random subset chosen by --seed."""
    p.add_argument(flag, type=POSITIVE_INT, default=default, help=f"at most this many {what}, a seeded random subset")


def add_seed(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=NON_NEGATIVE_INT, default=42,
                   help="seed of every random choice of the step: the same seed gives the same output")


def add_genome(p: argparse.ArgumentParser) -> None:
    p.add_argument("--genome", type=Path, required=True, help="prepare-genome output directory")


def add_holdout(p: argparse.ArgumentParser) -> None:
    p.add_argument("--holdout-contigs", type=name_list, default=[], metavar="GLOBS",
                   help="comma-separated contig names or globs held out of pretraining (e.g. chr21)")
    p.add_argument("--holdout-regions", type=Path, metavar="BED",
                   help="BED of regions held out of pretraining (e.g. holdout_default.bed of prepare-genome)")


def add_finetuning(p: argparse.ArgumentParser, epochs: float, batch_size: int, dropout: float, warmup_steps: int,
                   weight_decay: float) -> None:
    """Fine-tuning settings (defaults: GROVER's for the command)."""
    p.add_argument("--epochs", type=POSITIVE, default=epochs, help="passes over the training set")
    p.add_argument("--max-steps", type=NON_NEGATIVE_INT, default=0,
                   help="stop after this many steps (default: 0 = epochs)")
    p.add_argument("--batch-size", type=POSITIVE_INT, default=batch_size, help="samples per device and step")
    p.add_argument("--learning-rate", type=NON_NEGATIVE, default=0.0,
                   help="Adam learning rate, constant after warmup (default 0: by the model's width, "
                        "GROVER's 1e-6 for BERT-base and wider, larger for dnalm's small and tiny presets)")
    p.add_argument("--dropout", type=FRACTION, default=dropout,
                   help="dropout of the classification head where the architecture has one")
    p.add_argument("--warmup-steps", type=NON_NEGATIVE_INT, default=warmup_steps,
                   help="steps of linear learning-rate warmup from 0")
    p.add_argument("--weight-decay", type=FRACTION, default=weight_decay, help="decoupled weight decay (0: Adam)")
    p.add_argument("--trust-remote-code", action="store_true",
                   help="allow model code from the model's repository (DNABERT-2, Nucleotide Transformer, HyenaDNA)")
    add_device(p)


def finetuning_settings(args: argparse.Namespace) -> dict:
    """The options of `add_finetuning` that `finetune` takes as settings."""
    return {name: getattr(args, name) for name in ("epochs", "max_steps", "batch_size", "learning_rate", "dropout",
                                                   "warmup_steps", "weight_decay", "trust_remote_code")}


def add_device(p: argparse.ArgumentParser) -> None:
    """Where a command that runs a model runs it (`dnalm.core.devices`)."""
    from dnalm.core.devices import DEVICES

    p.add_argument("--device", choices=DEVICES, default="auto",
                   help="where the model runs: cuda stops unless a GPU is visible, cpu hides GPUs "
                        "(default: auto, a GPU when there is one)")


def add_model(p: argparse.ArgumentParser) -> None:
    """Any model a fine-tuning command takes, and its name in reports."""
    p.add_argument("--model", required=True, help="model directory or HuggingFace hub id")


def add_model_id(p: argparse.ArgumentParser) -> None:
    """The workflow decides a model's id before any task runs (it names outputs) and passes it here; its rule is
    `model_name`'s, and tests/test_groovy_helpers.py runs both on the same references."""
    p.add_argument("--model-id", type=identifier, help="name in reports (default: from --model, as model_name)")


def add_allele_scoring(p: argparse.ArgumentParser) -> None:
    """What scoring alleles in their genome window takes (`variant-effects`, `saturation-mutagenesis`)."""
    p.add_argument("--model", type=Path, required=True, help="dnalm model directory (pretrain's model/)")
    add_model_id(p)
    add_genome(p)
    p.add_argument("--window", type=POSITIVE_INT, default=500,
                   help="bp of sequence around each variant the model sees (clipped at N gaps and contig ends)")
    p.add_argument("--classifier", type=classifier_dir,
                   help="also score with this fine-tuned classifier (finetune --save-model's output or its "
                        "seed<N>/model): "
                        "DNABERT's difference score and log-odds ratio of --positive-class")
    p.add_argument("--positive-class", type=NON_NEGATIVE_INT, default=1,
                   help="the classifier's class whose probability is compared (1: bound, promoter)")
    p.add_argument("--batch-size", type=POSITIVE_INT, default=32, help="alleles per forward pass")
    p.add_argument("--resume-dir", type=Path,
                   help="keep the scores here as they are made; a rerun with the same inputs scores only the rest")
    add_device(p)


def add_model_inputs(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", type=Path, required=True, help="a pretrained dnalm model directory")
    p.add_argument("--tokenized", type=Path, required=True, help="tokenize-genome output of the model's vocabulary")


def add_analysis_inputs(p: argparse.ArgumentParser, held_out: tuple[str, int, str] | None = None) -> None:
    """A model, its tokenized genome and, with `held_out` (flag, default, what), make-windows' output with a
    cap on the held-out windows read; windows go through the model in batches."""
    add_model_inputs(p)
    if held_out:
        p.add_argument("--windows", type=Path, required=True,
                       help="make-windows output: its held-out test windows are used")
        add_subset(p, *held_out)
    p.add_argument("--batch-size", type=POSITIVE_INT, default=16, help="windows per forward pass")
    add_device(p)
    add_seed(p)


def analysis_inputs(args: argparse.Namespace) -> dict:
    """The keyword arguments of a stage from `add_analysis_inputs`' options (windows: the held-out split)."""
    from dnalm.pretraining.windows import Windows

    inputs = {"model_dir": args.model, "tokenized_dir": args.tokenized, "batch_size": args.batch_size,
              "seed": args.seed}
    if "windows" in args:
        inputs["windows_file"] = Windows(args.windows).path("test")
    return inputs


def add_task(p: argparse.ArgumentParser, genome: bool = True) -> None:
    """What every task-* command takes: the genome (where the task is cut from one) and label scarcity."""
    if genome:
        add_genome(p)
    p.add_argument("--train-fraction", type=SHARE, default=1.0,
                   help="keep this share of the training samples, stratified (label scarcity)")
    add_seed(p)


def add_label_map(p: argparse.ArgumentParser) -> None:
    """--label-map of the commands that read a labelled task folder."""
    p.add_argument("--label-map", metavar="LABEL=CLASS,...",
                   help="the class (0..C-1) of each label of the task's files, where the labels are not already "
                        "0..C-1: --label-map=-1=0,1=1 (with '=' after the flag where a label is negative); "
                        "results show the files' labels")


def add_tss(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tss", type=Path, required=True, help="TSS file: BED6 with strand, or EPD SGA")
    p.add_argument("--tss-format", choices=["bed", "sga"], default="bed", help="format of --tss")

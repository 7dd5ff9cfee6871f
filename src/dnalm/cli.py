"""`dnalm`: one subcommand per pipeline step.

Every subcommand reads explicit inputs, writes only its `--out` directory (atomically), is deterministic
for a given `--seed`, and reports bad input as one line on stderr with exit status 2.
"""

from __future__ import annotations

import argparse
import copy
import math
import os
import sys
from pathlib import Path
from typing import Callable, NoReturn, Sequence

from dnalm import __version__
from dnalm.annotations import FORMATS, ROLES
from dnalm.caches import use_writable_caches
from dnalm.devices import DEVICES, select_device
from dnalm.errors import InputError
from dnalm.launch import add_arguments as launch_arguments
from dnalm.logs import close_progress, log, setup_logging
from dnalm.outputs import atomic_directory


class _Parser(argparse.ArgumentParser):
    """argparse with errors on one line (no usage block), as every dnalm error is."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)  # subcommands too: argparse makes them of this class
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every default shown from the parser itself, so help and behaviour cannot disagree; not where the help
    already explains its default in words, nor where there is none (no value, off, empty)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        default = action.default
        if "default:" in (action.help or "") or default is None or default is False or default == []:
            return action.help
        return super()._get_help_string(action)

    def _expand_help(self, action: argparse.Action) -> str:
        if isinstance(action.default, list):  # as it is typed: comma-separated
            action = copy.copy(action)
            action.default = ",".join(map(str, action.default))
        return super()._expand_help(action)


def _positive_int(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be zero or a positive integer, got {text!r}")
    return value


def _int(text: str) -> int:
    try:
        return int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def _fraction(text: str) -> float:
    value = _float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text!r}")
    return value


def _share(text: str) -> float:
    value = _float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text!r}")
    return value


def _probability(text: str) -> float:
    """A probability that must leave something on both sides: masking 0 (or all) of the tokens trains nothing."""
    value = _float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1), got {text!r}")
    return value


def _positive_float(text: str) -> float:
    value = _float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
    return value


def _non_negative_float(text: str) -> float:
    value = _float(text)
    if not 0 <= value < math.inf:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text!r}")
    return value


def _deepspeed_config(text: str) -> Path | None:
    """'' (none), 'zero2' (the config dnalm ships, found inside containers too) or a JSON file."""
    if not text:
        return None
    if text == "zero2":
        return Path(__file__).parent / "configs" / "deepspeed_zero2.json"
    if not Path(text).is_file():
        raise argparse.ArgumentTypeError(f"not 'zero2' and no such file: {text!r}")
    return Path(text)


def _int_list(text: str) -> list[int]:
    values = [_positive_int(t) for t in text.split(",") if t.strip()]
    if not values:
        raise argparse.ArgumentTypeError("needs at least one positive integer")
    return sorted(set(values))


def _k(text: str) -> int:
    value = _int(text)
    if not 1 <= value <= 8:
        raise argparse.ArgumentTypeError(f"k must be between 1 and 8, got {text!r}")
    return value


def _identifier(text: str) -> str:
    if not text or not all(c.isalnum() or c in "_.-" for c in text):
        raise argparse.ArgumentTypeError(f"use letters, digits, '_', '.' or '-' only, got {text!r}")
    return text


def _name_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _add_seed(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=_non_negative_int, default=42,
                   help="seed of every random choice of the step: the same seed gives the same output")


def _add_holdout(p: argparse.ArgumentParser) -> None:
    p.add_argument("--holdout-contigs", type=_name_list, default=[], metavar="GLOBS",
                   help="comma-separated contig names or globs held out of pretraining (e.g. chr21)")
    p.add_argument("--holdout-regions", type=Path, metavar="BED",
                   help="BED of regions held out of pretraining (e.g. holdout_default.bed of prepare-genome)")


def _add_training(p: argparse.ArgumentParser, epochs: float, batch_size: int, dropout: float, warmup_steps: int,
                  weight_decay: float) -> None:
    """Fine-tuning settings (defaults: GROVER's for the command)."""
    p.add_argument("--epochs", type=_positive_float, default=epochs, help="passes over the training set")
    p.add_argument("--max-steps", type=_non_negative_int, default=0, help="stop after this many steps (default: 0 = epochs)")
    p.add_argument("--batch-size", type=_positive_int, default=batch_size, help="samples per device and step")
    p.add_argument("--learning-rate", type=_non_negative_float, default=0.0,
                   help="Adam learning rate, constant after warmup (default 0: by the model's width, "
                        "GROVER's 1e-6 for BERT-base and wider, larger for dnalm's small and tiny presets)")
    p.add_argument("--dropout", type=_fraction, default=dropout,
                   help="dropout of the classification head where the architecture has one")
    p.add_argument("--warmup-steps", type=_non_negative_int, default=warmup_steps,
                   help="steps of linear learning-rate warmup from 0")
    p.add_argument("--weight-decay", type=_fraction, default=weight_decay, help="decoupled weight decay (0: Adam)")
    p.add_argument("--trust-remote-code", action="store_true",
                   help="allow model code from the model's repository (DNABERT-2, Nucleotide Transformer, HyenaDNA)")


def _prepare_genome(a: argparse.Namespace) -> None:
    from dnalm.genome import check_genome_id, genome_id_from_name, prepare_genome

    genome_id = check_genome_id(a.genome_id or genome_id_from_name(a.fasta.name))
    with atomic_directory(a.out) as tmp:
        prepare_genome(a.fasta, tmp, genome_id, a.contigs, a.exclude_contigs, a.min_run, a.holdout_fraction)


def _prepare_annotation(a: argparse.Namespace) -> None:
    from dnalm.annotations import prepare_annotation

    with atomic_directory(a.out) as tmp:
        prepare_annotation(a.track, a.name, a.format, a.role, a.genome, a.contig_map, tmp)


def _vocab_sweep(a: argparse.Namespace) -> None:
    from dnalm.bpe import vocab_sweep

    with atomic_directory(a.out) as tmp:
        vocab_sweep(a.genome, tmp, a.cycles, a.chunk_bp, a.sample_bp, a.seed, a.threads)


def _kmer_vocab(a: argparse.Namespace) -> None:
    from dnalm.vocabulary import kmer_vocabulary

    with atomic_directory(a.out) as tmp:
        tmp.rmdir()
        kmer_vocabulary(tmp, a.kind, a.k, a.stride)


def _tokenize_genome(a: argparse.Namespace) -> None:
    from dnalm.tokenized import tokenize_genome

    with atomic_directory(a.out) as tmp:
        tokenize_genome(a.genome, a.vocab, tmp, a.piece_bp, a.threads)


def _make_windows(a: argparse.Namespace) -> None:
    from dnalm.windows import make_windows

    with atomic_directory(a.out) as tmp:
        make_windows(a.tokenized, tmp, a.holdout_contigs, a.holdout_regions, a.test_fraction, a.seed,
                     a.max_len, a.min_len, a.p_max)


def _pretrain(a: argparse.Namespace) -> None:
    from dnalm.pretrain import pretrain

    def run(out: Path | None) -> None:
        pretrain(a.tokenized, a.windows, out, a.checkpoint_dir, a.model_id or a.out.name, a.preset, a.config,
                 a.max_steps, a.batch_size, a.learning_rate, a.warmup_steps, a.weight_decay, a.mlm_probability,
                 a.save_steps, a.keep_checkpoints, a.eval_batch_size, a.seed, a.masking, a.log_window_ids,
                 a.deepspeed, a.eval_windows)

    if int(os.environ.get("RANK", "0")) != 0:  # under torchrun, only rank 0 writes --out
        run(None)
        return
    with atomic_directory(a.out) as tmp:
        run(tmp)


def _launch(a: argparse.Namespace) -> int:
    from dnalm.launch import from_args

    return from_args(a, here=main)


def _vocab_stats(a: argparse.Namespace) -> None:
    from dnalm.vocab_stats import vocab_stats

    with atomic_directory(a.out) as tmp:
        vocab_stats(a.tokenized, tmp)


def _nextkmer_data(a: argparse.Namespace) -> None:
    from dnalm.nextkmer import nextkmer_data

    with atomic_directory(a.out) as tmp:
        nextkmer_data(a.genome, tmp, a.holdout_contigs, a.holdout_regions, a.samples, a.stride, a.context,
                      a.max_k, a.split, a.test_fraction, a.seed)


def _nextkmer_finetune(a: argparse.Namespace) -> None:
    from dnalm.finetune import finetune
    from dnalm.labelled import load_task

    task = load_task(a.data, a.k)
    model_id = a.model_id or _model_name(a.model)
    with atomic_directory(a.out) as tmp:
        finetune(a.model, task, tmp, model_id, epochs=a.epochs, max_steps=a.max_steps, batch_size=a.batch_size,
                 learning_rate=a.learning_rate, dropout=a.dropout, warmup_steps=a.warmup_steps,
                 weight_decay=a.weight_decay, seed=a.seed, trust_remote_code=a.trust_remote_code, patience=0,
                 extra={"k": a.k})


def _finetune(a: argparse.Namespace) -> None:
    from dnalm.finetune import finetune_seeds
    from dnalm.labelled import load_task

    task = load_task(a.data)
    with atomic_directory(a.out) as tmp:
        finetune_seeds(a.model, task, tmp, a.model_id or _model_name(a.model), a.seeds, epochs=a.epochs,
                       max_steps=a.max_steps, batch_size=a.batch_size, learning_rate=a.learning_rate,
                       dropout=a.dropout, warmup_steps=a.warmup_steps, weight_decay=a.weight_decay,
                       trust_remote_code=a.trust_remote_code, patience=a.patience)


def _model_name(ref: str) -> str:
    """A readable model name: the directory's name (its parent's for `<name>_pretrained/model`) or hub id."""
    path = Path(ref)
    if path.exists():
        path = path.resolve()
        return path.parent.name if path.name == "model" else path.name
    return ref.replace("/", "_")


def _tfidf_baseline(a: argparse.Namespace) -> None:
    from dnalm.tfidf import tfidf_baseline

    with atomic_directory(a.out) as tmp:
        tfidf_baseline(a.data, a.vocab, tmp, a.k, a.trees, a.max_leaf_nodes, a.max_train, a.memory_gb,
                       a.valid_fraction, a.seed, a.threads, a.tree_samples)


def _task(a: argparse.Namespace) -> None:
    from dnalm import tasks

    with atomic_directory(a.out) as tmp:
        if a.command == "task-prom300":
            tasks.prom300(a.genome, a.tss, a.tss_format, tmp, a.negatives, a.vocab, a.seed, a.train_fraction)
        elif a.command == "task-promscan":
            tasks.promscan(a.genome, a.tss, a.tss_format, tmp, a.seed, a.train_fraction)
        elif a.command == "task-ctcf":
            tasks.ctcf(a.genome, a.motif, a.peaks, tmp, a.seed, a.train_fraction, a.window, a.p_threshold)
        else:
            from dnalm.task_import import Columns, import_task

            import_task(a.source, tmp, a.name, Columns(a.sequence_column, a.label_column, a.group_column),
                        a.test_fold, a.seed, a.train_fraction, a.dedup)


def _finetune_report(a: argparse.Namespace) -> None:
    from dnalm.finetune_report import finetune_report

    with atomic_directory(a.out) as tmp:
        finetune_report(a.results, tmp)


def _token_embeddings(a: argparse.Namespace) -> None:
    from dnalm.embeddings import token_embeddings

    with atomic_directory(a.out) as tmp:
        token_embeddings(a.model, a.tokenized, tmp, a.name or _model_name(str(a.model)), a.repeats)


def _word2vec(a: argparse.Namespace) -> None:
    from dnalm.embeddings import word2vec

    with atomic_directory(a.out) as tmp:
        word2vec(a.tokenized, a.windows, tmp, a.name or f"word2vec_{a.tokenized.name}", a.sentences, a.vector_size,
                 a.window, a.min_count, a.epochs, a.workers or _cores(), a.seed, a.repeats)


def _embedding_report(a: argparse.Namespace) -> None:
    from dnalm.embedding_report import embedding_report

    with atomic_directory(a.out) as tmp:
        embedding_report(a.embeddings, tmp, a.pcs, a.clusters, a.seed)


def _self_similarity(a: argparse.Namespace) -> None:
    from dnalm.contextual import self_similarity

    with atomic_directory(a.out) as tmp:
        self_similarity(a.model, a.tokenized, a.windows / "test.npy", tmp, a.per_token, a.max_windows, a.batch_size,
                        a.seed)


def _mask_predictions(a: argparse.Namespace) -> None:
    from dnalm.contextual import mask_predictions

    with atomic_directory(a.out) as tmp:
        mask_predictions(a.model, a.tokenized, a.windows / "test.npy", tmp, a.span, a.samples, a.batch_size,
                         seed=a.seed)


def _window_embeddings(a: argparse.Namespace) -> None:
    from dnalm.contextual import window_embeddings

    tracks = {}
    for spec in a.tracks:
        name, sep, path = spec.partition("=")
        path = Path(path if sep else spec)
        if not path.is_file():
            raise InputError(f"--tracks {spec}: no such BED file")
        tracks[name if sep else path.name.split(".")[0]] = path
    with atomic_directory(a.out) as tmp:
        window_embeddings(a.model, a.tokenized, tmp, tracks, a.window_tokens, a.min_tokens, a.batch_size, a.umap_max,
                          a.seed, a.resume_dir)


def _report(a: argparse.Namespace) -> None:
    from dnalm.report import report

    with atomic_directory(a.out) as tmp:
        html = report(a.results, tmp, a.versions, a.workflow_summary, a.title)
        log.info("report: %s", a.out / html.relative_to(tmp))  # where it will be, not the partial's path


def _select_vocabulary(a: argparse.Namespace) -> None:
    from dnalm.selection import select_vocabulary

    with atomic_directory(a.out) as tmp:
        select_vocabulary(a.results, tmp)


def build_parser() -> argparse.ArgumentParser:
    """The full CLI; static tests read it to check the Nextflow modules' flags."""
    parser = _Parser(prog="dnalm", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"dnalm {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, func: Callable[[argparse.Namespace], None], help: str,
                out: bool = True, model: bool = False) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(func=func)
        if out:
            p.add_argument("--out", type=Path, required=True, help="output directory (must not exist yet)")
        if model:
            p.add_argument("--device", choices=DEVICES, default="auto",
                           help="where the model runs: cuda stops unless a GPU is visible, cpu hides GPUs "
                                "(default: auto, a GPU when there is one)")
        p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
        return p

    p = command("prepare-genome", _prepare_genome,
                "clean a FASTA into N-free runs with genome statistics and a default holdout region")
    p.add_argument("--fasta", type=Path, required=True, help="FASTA or FASTA.gz (multi-record)")
    p.add_argument("--genome-id", help="name used in reports (default: FASTA file name)")
    p.add_argument("--contigs", type=_name_list, default=[], metavar="GLOBS",
                   help="keep only these contigs (comma-separated names or globs)")
    p.add_argument("--exclude-contigs", type=_name_list, default=[], metavar="GLOBS",
                   help="drop these contigs (e.g. 'chrUn*,*_random,chrM')")
    p.add_argument("--min-run", type=_positive_int, default=50,
                   help="drop N-free runs shorter than this many bp")
    p.add_argument("--holdout-fraction", type=_fraction, default=0.05,
                   help="share of sequence, from the end, written to holdout_default.bed")

    p = command("prepare-annotation", _prepare_annotation,
                "check an annotation track against the genome's contigs and write it as sorted BED")
    p.add_argument("--track", type=Path, required=True, help="BED, EPD SGA or JASPAR file (plain or gzip)")
    p.add_argument("--name", required=True, type=_identifier, help="track name, used for output files")
    p.add_argument("--format", choices=FORMATS, required=True, help="file format")
    p.add_argument("--role", choices=ROLES, required=True, help="what later steps use the track for")
    p.add_argument("--genome", type=Path, required=True, help="prepare-genome output directory")
    p.add_argument("--contig-map", type=Path,
                   help="two columns: the track's contig name, the genome's (e.g. NC_000001.11 chr1)")

    p = command("vocab-sweep", _vocab_sweep,
                "train byte-pair encoding once to max(cycles) merges; one vocabulary per cycle count")
    p.add_argument("--genome", type=Path, required=True, help="prepare-genome output directory")
    p.add_argument("--cycles", type=_int_list, required=True, help="merge counts, e.g. 100,600,5000")
    p.add_argument("--chunk-bp", type=_positive_int, default=1000,
                   help="runs are cut into chunks of this size that no merge crosses")
    p.add_argument("--sample-bp", type=_non_negative_int, default=0,
                   help="train on a seeded random sample of chunks of this many bp (default: 0 = all)")
    p.add_argument("--threads", type=_positive_int, default=_cores(),
                   help="threads that merge their share of the chunks; the merges do not depend on it "
                        "(default: the cores available)")
    _add_seed(p)

    p = command("kmer-vocab", _kmer_vocab, "build a fixed k-mer vocabulary")
    p.add_argument("--kind", choices=["kmer", "kmer-overlap", "kmer-stride"], required=True,
                   help="kmer: non-overlapping (GROVER baselines); kmer-overlap: stride 1 (DNABERT); "
                        "kmer-stride: every --stride bases (GenomeNet-BERT)")
    p.add_argument("--k", type=_positive_int, required=True, help="k-mer length (1..8)")
    p.add_argument("--stride", type=_positive_int, help="bases between k-mer starts (kmer-stride only)")

    p = command("tokenize-genome", _tokenize_genome, "encode every N-free run whole into a flat token array")
    p.add_argument("--genome", type=Path, required=True, help="prepare-genome output directory")
    p.add_argument("--vocab", type=Path, required=True, help="vocabulary directory")
    p.add_argument("--piece-bp", type=_non_negative_int, default=0,
                   help="encode long runs in pieces of this size to bound memory; same result (default: 0 = whole)")
    p.add_argument("--threads", type=_positive_int, default=_cores(),
                   help="runs encoded at the same time (default: the cores available)")

    p = command("make-windows", _make_windows,
                "sample pretraining windows (GROVER: 50%% 510 tokens, else 20..510) and split train/test")
    p.add_argument("--tokenized", type=Path, required=True, help="tokenize-genome output directory")
    _add_holdout(p)
    p.add_argument("--test-fraction", type=_fraction, default=0.2, help="share of test windows")
    p.add_argument("--max-len", type=_positive_int, default=510, help="longest window in tokens")
    p.add_argument("--min-len", type=_positive_int, default=20, help="shortest window in tokens")
    p.add_argument("--p-max", type=_fraction, default=0.5,
                   help="probability of a window of --max-len tokens")
    _add_seed(p)

    p = command("pretrain", _pretrain, "pretrain a BERT masked-token model on the windows of a tokenized genome",
                model=True)
    p.add_argument("--tokenized", type=Path, required=True, help="tokenize-genome output directory")
    p.add_argument("--windows", type=Path, required=True, help="make-windows output directory")
    p.add_argument("--checkpoint-dir", type=Path, required=True,
                   help="where checkpoints go and are resumed from (outside the task directory)")
    p.add_argument("--model-id", help="name of the model in reports (default: the --out name)")
    p.add_argument("--preset", choices=["tiny", "small", "base"], default="tiny",
                   help="model size; base = GROVER/DNABERT BERT-base")
    p.add_argument("--config", type=Path, help="JSON of BertConfig fields overriding the preset")
    p.add_argument("--max-steps", type=_positive_int, default=1000,
                   help="optimiser steps in all; a rerun with more steps continues from the checkpoints")
    p.add_argument("--batch-size", type=_positive_int, default=32, help="windows per device and step")
    p.add_argument("--learning-rate", type=_positive_float, default=4e-4,
                   help="AdamW peak learning rate, after warmup, decaying linearly to 0")
    p.add_argument("--warmup-steps", type=_non_negative_int, default=100,
                   help="steps of linear learning-rate warmup from 0")
    p.add_argument("--weight-decay", type=_fraction, default=0.01, help="AdamW decoupled weight decay")
    p.add_argument("--mlm-probability", type=_probability, default=0.15,
                   help="share of tokens masked (BERT 0.15; GROVER 0.022)")
    p.add_argument("--masking", choices=["random", "span", "span8"], default="random",
                   help="random: BERT; span: k contiguous overlapping k-mers (DNABERT; 1 token for other "
                        "vocabularies); span8: spans of 8 tokens (GenomeNet-BERT)")
    p.add_argument("--save-steps", type=_positive_int, default=500,
                   help="a checkpoint every this many steps: a killed job loses at most these")
    p.add_argument("--keep-checkpoints", type=_positive_int, default=2,
                   help="newest checkpoints kept in --checkpoint-dir")
    p.add_argument("--eval-windows", type=_non_negative_int, default=2000,
                   help="held-out windows evaluated before and after training: a seeded sample, the same for "
                        "both (0: all). 2,000 windows of 20-510 tokens hold up to 150,000 masked tokens at "
                        "15%% masking (a standard error of accuracy near 0.002) and cost about 4%% of the "
                        "training of 1,000 steps of 32 windows")
    p.add_argument("--eval-batch-size", type=_positive_int, default=64,
                   help="held-out windows per forward pass when evaluating")
    p.add_argument("--deepspeed", type=_deepspeed_config, default=None, metavar="zero2|JSON",
                   help="DeepSpeed: 'zero2' (ZeRO stage 2, dnalm's config) or a config file; empty: plain PyTorch")
    p.add_argument("--log-window-ids", action="store_true",
                   help="record each rank's window indices and final weights under --checkpoint-dir/ranks")
    _add_seed(p)

    p = command("nextkmer-data", _nextkmer_data,
                "next-k-mer samples from the holdout set: 50 nt input, the next k nt as label (GROVER)")
    p.add_argument("--genome", type=Path, required=True, help="prepare-genome output directory")
    _add_holdout(p)
    p.add_argument("--samples", type=_positive_int, default=500_000,
                   help="at most this many samples, a seeded random subset of all pieces")
    p.add_argument("--stride", type=_positive_int, default=510,
                   help="bases between piece starts: 510 cuts 510 nt pieces (GROVER); lower it for small "
                        "holdout sets")
    p.add_argument("--context", type=_positive_int, default=50, help="input length in nt")
    p.add_argument("--max-k", type=_positive_int, default=6, help="labels for k = 1..max-k")
    p.add_argument("--split", choices=["random", "block"], default="random",
                   help="random: seeded 80/20 (GROVER); block: the last 20%% in genome order is test, for "
                        "overlapping samples")
    p.add_argument("--test-fraction", type=_fraction, default=0.2, help="share of test samples")
    _add_seed(p)

    p = command("nextkmer-finetune", _nextkmer_finetune,
                "fine-tune any model (dnalm or HuggingFace, path or hub id) to predict the next k nt", model=True)
    p.add_argument("--model", required=True, help="model directory or HuggingFace hub id")
    p.add_argument("--data", type=Path, required=True, help="nextkmer-data output directory")
    p.add_argument("--k", type=_k, required=True, help="predict the next k nt: 4^k classes (1..8)")
    p.add_argument("--model-id", help="name in reports (default: from --model)")
    _add_training(p, epochs=3.0, batch_size=64, dropout=0.5, warmup_steps=0, weight_decay=0.0)
    _add_seed(p)

    p = command("finetune", _finetune,
                "fine-tune any model on a labelled task (task-* output or GUE folder); MCC, F1, AUCs per seed",
                model=True)
    p.add_argument("--model", required=True, help="model directory or HuggingFace hub id")
    p.add_argument("--data", type=Path, required=True, help="task folder: train.csv, dev.csv, test.csv")
    p.add_argument("--model-id", help="name in reports (default: from --model)")
    _add_training(p, epochs=10.0, batch_size=16, dropout=0.1, warmup_steps=50, weight_decay=0.01)
    p.add_argument("--patience", type=_non_negative_int, default=3,
                   help="stop after this many epochs without a better validation MCC; 0: no early stopping")
    p.add_argument("--seeds", type=_int_list, default=[42], help="one run per seed; mean and sd reported")

    p = command("tfidf-baseline", _tfidf_baseline,
                "TF-IDF features of tokens + random forest on a labelled task (next-k-mer or CSV folder)")
    p.add_argument("--data", type=Path, required=True, help="nextkmer-data output or a folder of train/dev/test.csv")
    p.add_argument("--vocab", type=Path, required=True, help="vocabulary directory that tokenizes the sequences")
    p.add_argument("--k", type=_k, help="next-k-mer data: predict the next k nt (1..8)")
    p.add_argument("--trees", type=_int_list, default=[100, 200, 500, 1000, 2000],
                   help="forest sizes tried; the best validation MCC (accuracy over 32 classes) is kept. Under "
                        "1,000 validation rows none is chosen: the largest up to 500 is used")
    p.add_argument("--max-leaf-nodes", type=_non_negative_int, default=0,
                   help="leaves per tree (default 0: unbounded for up to 32 classes where --memory-gb allows, "
                        "else 256)")
    p.add_argument("--max-train", type=_positive_int, default=50_000,
                   help="at most this many training samples, a seeded subset")
    p.add_argument("--tree-samples", type=_non_negative_int, default=0,
                   help="bootstrap samples per tree (default 0: all training rows for up to 32 classes, else "
                        "10,000: bounds time with many classes)")
    p.add_argument("--memory-gb", type=_positive_float, default=8.0,
                   help="forest sizes over this memory are not tried")
    p.add_argument("--valid-fraction", type=_fraction, default=0.1,
                   help="share of training rows held out to choose the forest size, where the task has no "
                        "dev split")
    p.add_argument("--threads", type=_positive_int, default=_cores(), help="trees grown at once (default: cores)")
    _add_seed(p)

    def task_command(name: str, help: str, genome: bool = True) -> argparse.ArgumentParser:
        p = command(name, _task, help + ("; writes train/dev/test.csv (80/10/10, stratified) and task.json"
                                         if genome else ""))
        if genome:
            p.add_argument("--genome", type=Path, required=True, help="prepare-genome output directory")
        p.add_argument("--train-fraction", type=_share, default=1.0,
                       help="keep this share of the training samples, stratified (label scarcity)")
        _add_seed(p)
        return p

    def tss_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--tss", type=Path, required=True, help="TSS file: BED6 with strand, or EPD SGA")
        p.add_argument("--tss-format", choices=["bed", "sga"], default="bed", help="format of --tss")

    p = task_command("task-prom300", "promoters TSS -249..+50 on their strand vs shuffled copies (GROVER Prom300)")
    tss_options(p)
    p.add_argument("--negatives", choices=["tokens", "nucleotides"], default="tokens",
                   help="tokens: shuffle the tokens of 6 of 8 chunks (GROVER, needs --vocab); nucleotides: "
                        "permute 15 of 20 equal parts (DNABERT)")
    p.add_argument("--vocab", type=Path, help="vocabulary whose tokens are shuffled (bpe or kmer)")

    p = task_command("task-promscan", "1,001 bp windows every 300 bp across 10 kb around each TSS; "
                     "label 1 where the window holds the TSS (GROVER PromScan)")
    tss_options(p)

    p = task_command("task-ctcf", "CTCF motif sites (FIMO-style scan, memelite) labelled bound where they meet a "
                     "ChIP-seq peak; 1 kb around each site")
    p.add_argument("--motif", type=Path, required=True, help="JASPAR matrix (e.g. MA0139.1)")
    p.add_argument("--peaks", type=Path, required=True, help="BED of ChIP-seq peaks")
    p.add_argument("--window", type=_positive_int, default=1000, help="bp around each site")
    p.add_argument("--p-threshold", type=_positive_float, default=1e-4, help="motif p-value cut-off")

    p = task_command("task-import", "a benchmark as a task: train/dev/test.csv and task.json (with its leaks). "
                     "Splits given as files (GUE train/[dev]/test, fold files, a saved HF DatasetDict) are kept "
                     "(dev carved from train when missing); one file (CSV, TSV, parquet, FASTA >name|label, a "
                     "saved HF Dataset) is split 80/10/10, stratified, by group", genome=False)
    p.add_argument("--source", type=Path, required=True,
                   help="a folder of split files or fold files, a saved HF dataset, or one CSV/TSV/parquet/FASTA file")
    p.add_argument("--name", help="task name in results and the report (default: a folder's parent and name, "
                                  "e.g. GUE's tf/0; a file's name)")
    p.add_argument("--sequence-column", default="sequence", help="column holding the sequences")
    p.add_argument("--label-column", default="label", help="column holding the integer class labels")
    p.add_argument("--group-column",
                   help="column whose rows stay in one split (a shuffled negative and its positive); rows that "
                        "are rearrangements of each other stay together without it")
    p.add_argument("--test-fold", type=_positive_int,
                   help="with fold files: the test fold; the next fold is dev, the others train")
    p.add_argument("--dedup", action="store_true",
                   help="remove leaks (reported in task.json either way): rows whose sequence, on either strand, "
                        "carries two labels, from every split; then dev and test rows whose sequence or reverse "
                        "complement is in train (or, for test, in dev), from dev and test, so training keeps all "
                        "its rows and is scored on sequences it never saw")

    p = command("select-vocabulary", _select_vocabulary,
                "rank pretrained models by mean next-k-mer accuracy over k; table, plot and selected.json")
    p.add_argument("--results", type=Path, nargs="+", required=True,
                   help="nextkmer-finetune and tfidf-baseline output directories")

    p = command("finetune-report", _finetune_report,
                "all fine-tuning and baseline results: tidy table, mean and sd over seeds, a chart per task")
    p.add_argument("--results", type=Path, nargs="+", required=True,
                   help="finetune and tfidf-baseline output directories")

    def analysis_inputs(p: argparse.ArgumentParser, windows: bool = True) -> None:
        p.add_argument("--model", type=Path, required=True, help="a pretrained dnalm model directory")
        p.add_argument("--tokenized", type=Path, required=True, help="tokenize-genome output of the model's vocabulary")
        if windows:
            p.add_argument("--windows", type=Path, required=True,
                           help="make-windows output: its held-out test windows are used")
        p.add_argument("--batch-size", type=_positive_int, default=16, help="windows per forward pass")
        _add_seed(p)

    p = command("token-embeddings", _token_embeddings,
                "the trained input embeddings of every token, with token characteristics (GROVER Fig. 4)")
    p.add_argument("--model", type=Path, required=True, help="a pretrained dnalm model directory")
    p.add_argument("--tokenized", type=Path, required=True, help="tokenize-genome output of the model's vocabulary")
    p.add_argument("--repeats", type=Path, help="repeat BED: adds each token's share of occurrences in repeats")
    p.add_argument("--name", help="name in reports (default: from --model)")

    p = command("word2vec", _word2vec, "gensim Word2Vec CBOW on tokenized training windows: the static baseline")
    p.add_argument("--tokenized", type=Path, required=True, help="tokenize-genome output directory")
    p.add_argument("--windows", type=Path, required=True, help="make-windows output: its training windows")
    p.add_argument("--sentences", type=_positive_int, default=100_000, help="windows sampled")
    p.add_argument("--vector-size", type=_positive_int, default=768, help="dimensions (default: 768, BERT-base)")
    p.add_argument("--window", type=_positive_int, default=5, help="context window in tokens")
    p.add_argument("--min-count", type=_positive_int, default=1, help="ignore rarer tokens")
    p.add_argument("--epochs", type=_positive_int, default=5, help="passes over the sentences")
    p.add_argument("--workers", type=_non_negative_int, default=0,
                   help="threads (default 0: the CPUs this process may use); 1 gives the same vectors for a seed "
                        "on every run, more threads race and differ slightly")
    p.add_argument("--repeats", type=Path, help="repeat BED for the token characteristics")
    p.add_argument("--name", help="name in reports (default: word2vec_<tokenized>)")
    _add_seed(p)

    p = command("embedding-report", _embedding_report,
                "PCA and MEV, PC-characteristic correlations, UMAPs and clusters of embedding sets")
    p.add_argument("--embeddings", type=Path, nargs="+", required=True, help="token-embeddings / word2vec outputs")
    p.add_argument("--pcs", type=_positive_int, default=20, help="principal components correlated")
    p.add_argument("--clusters", type=_positive_int, default=10, help="token clusters cut from the tree")
    _add_seed(p)

    p = command("self-similarity", _self_similarity,
                "per layer, mean pairwise cosine similarity of each token's contextual embeddings (GROVER Fig. 5a)",
                model=True)
    analysis_inputs(p)
    p.add_argument("--per-token", type=_positive_int, default=5000, help="occurrences used per token")
    p.add_argument("--max-windows", type=_positive_int, default=2000, help="held-out windows read")

    p = command("mask-predictions", _mask_predictions,
                "predictions at masked positions: rank of the true token, accuracy by position in the mask", model=True)
    analysis_inputs(p)
    p.add_argument("--span", type=_positive_int, default=6, help="contiguous tokens masked (default: 6, DNABERT)")
    p.add_argument("--samples", type=_positive_int, default=2000, help="held-out windows masked")

    p = command("window-embeddings", _window_embeddings,
                "[CLS] embeddings of consecutive genome windows, their UMAP and annotation overlaps (GROVER Fig. 5)",
                model=True)
    analysis_inputs(p, windows=False)
    p.add_argument("--tracks", nargs="+", action="extend", default=[], metavar="[NAME=]BED",
                   help="annotation tracks to overlap: repeats, chromHMM states, genes with strand ... (name: the "
                        "file name before its first dot, unless given)")
    p.add_argument("--window-tokens", type=_positive_int, default=510, help="tokens per window")
    p.add_argument("--min-tokens", type=_positive_int, default=50, help="shortest last window kept")
    p.add_argument("--umap-max", type=_positive_int, default=20_000,
                   help="UMAP is fitted on at most this many windows, the rest transformed")
    p.add_argument("--resume-dir", type=Path,
                   help="keep the embeddings and the count of windows done here; a rerun continues after them")

    p = command("report", _report, "the MultiQC report of a results directory (what the workflow's last step runs)")
    p.add_argument("--results", type=Path, required=True, help="the results directory (--outdir of the workflow)")
    p.add_argument("--versions", type=Path, help="software_versions.tsv of the run (process, tool, version)")
    p.add_argument("--workflow-summary", type=Path, help="workflow summary (MultiQC custom content YAML) from Nextflow")
    p.add_argument("--title", default="dnalm report", help="report title")

    p = command("launch", _launch, "start a training command on 1 process, N local processes or every node of "
                "a SLURM allocation (srun + torchrun; standard library only)", out=False)
    launch_arguments(p)  # one set of flags with `python3 -m dnalm launch`, which bin/dnalm runs for `launch`

    p = command("vocab-stats", _vocab_stats, "statistics of vocabularies over their tokenized genomes")
    p.add_argument("--tokenized", type=Path, nargs="+", required=True, help="tokenize-genome output directories")
    return parser


def _run(args: argparse.Namespace) -> int | None:
    """The step, with its progress bars closed however it ends, so an error is not printed onto a bar."""
    try:
        if "device" in args:
            select_device(args.device)
        return args.func(args)
    finally:
        close_progress()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.command, args.verbose)
    use_writable_caches()  # before numba, matplotlib or torch is imported
    prog = f"dnalm {args.command}"
    try:
        status = _run(args)
    except InputError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"{prog}: error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    return status or 0

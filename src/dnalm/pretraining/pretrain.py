"""Masked-token pretraining of a BERT model on the windows of a tokenized genome.

Training follows HuggingFace's `run_mlm.py`: `BertForMaskedLM`, the `Trainer`, AdamW with warmup and linear
decay, gradient clipping. Checkpoints go to a directory outside the task's work directory (Nextflow
`--checkpoint_root`), under a sub-directory named by the fingerprint of everything that determines the
model (see `training_inputs`). A step that starts again with the same inputs resumes from the newest
complete checkpoint there, so a killed cluster job loses at most `--save-steps` steps. A longer
`--max-steps` continues finished checkpoints, with a warning: the linear decay is re-spanned from there (the
learning rate jumps back up), and metrics.json records the schedule's segments. Checkpoints beyond
`--max-steps`, or at it from a killed longer run, are refused (they are another model); any other change
trains afresh in another directory. Data order and masks depend only on the seed.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import sys
from pathlib import Path

import numpy as np

from dnalm.core import fingerprint, mqc
from dnalm.core.errors import InputError
from dnalm.core.logs import log, progress
from dnalm.core.outputs import write_json, write_tsv
from dnalm.core.plotting import figure
from dnalm.pretraining.data import IGNORE, GroupedBatches, MlmCollator, WindowDataset, padding_share
from dnalm.pretraining.kernels import Kernels
from dnalm.pretraining.windows import Windows
from dnalm.vocab.model_dir import record_vocabulary
from dnalm.vocab.tokenized import TOKENS
from dnalm.vocab.vocabulary import TOKENIZER_FILES, Vocabulary

#: Model sizes. `base` is GROVER's and DNABERT's BERT-base; `tiny` is for tests and laptops.
PRESETS = {
    "tiny": {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 128},
    "small": {"hidden_size": 256, "num_hidden_layers": 4, "num_attention_heads": 4, "intermediate_size": 1024},
    "base": {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072},
}
COMPLETE = "DNALM_CHECKPOINT_COMPLETE"


def config_fields(preset: str, config_json: Path | None, vocab_size: int) -> dict:
    """The BertConfig fields of a preset, optionally overridden by a JSON file of BertConfig fields."""
    fields = {"vocab_size": vocab_size, "max_position_embeddings": 512, "pad_token_id": 0, **PRESETS[preset]}
    if config_json:
        try:
            overrides = json.loads(Path(config_json).read_text())
            if not isinstance(overrides, dict):
                raise ValueError("not an object")
        except (OSError, ValueError) as exc:
            raise InputError(f"--config {config_json}: not a readable JSON object ({exc})") from None
        fields.update(overrides)
    return fields


def bert_config(preset: str, config_json: Path | None, vocab_size: int):
    """A BertConfig from a preset, optionally overridden by a JSON file of BertConfig fields."""
    from transformers import BertConfig

    return BertConfig(**config_fields(preset, config_json, vocab_size))


def training_inputs(tokenized_dir: Path, windows_dir: Path, vocab, model_fields: dict, masking: str,
                    mlm_probability: float, span: int, learning_rate: float, warmup_steps: int,
                    weight_decay: float, batch_size: int, world_size: int, deepspeed: Path | None,
                    seed: int, batching: str) -> dict:
    """What determines the trained model, for its checkpoints' fingerprint: contents of the vocabulary, the
    token array and the training windows; the model's fields; masking; optimiser and schedule (the per-device
    batch size times the number of ranks is the global batch; a DeepSpeed config changes the arithmetic and
    the checkpoint format); how batches are formed; the seed. Not in it: `--max-steps` (a longer run continues
    the checkpoints), `--save-steps`, `--keep-checkpoints`, evaluation settings, the held-out windows
    (evaluation is redone every run), the device and precision, library versions."""
    return {
        "vocabulary": fingerprint.tree_digest(vocab.path),
        "tokens": fingerprint.file_digest(Path(tokenized_dir) / TOKENS),
        "train_windows": fingerprint.file_digest(Windows(windows_dir).path("train")),
        "model": model_fields,
        "masking": {"strategy": masking, "mlm_probability": mlm_probability, "span": span},
        "optimiser": {"name": "adamw", "learning_rate": learning_rate, "warmup_steps": warmup_steps,
                      "lr_scheduler": "linear", "weight_decay": weight_decay, "max_grad_norm": 1.0,
                      "batch_size_per_device": batch_size, "world_size": world_size,
                      "deepspeed": fingerprint.json_digest(deepspeed) if deepspeed else None},
        "batching": batching,
        "seed": seed,
    }


def complete_checkpoints(checkpoint_dir: Path) -> list[Path]:
    """Checkpoints written to the end (marked after saving), oldest first."""
    found = [p for p in Path(checkpoint_dir).glob("checkpoint-*")
             if re.fullmatch(r"checkpoint-\d+", p.name) and (p / COMPLETE).is_file()]
    return sorted(found, key=lambda p: int(p.name.split("-")[1]))


def one_vs_rest_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """ROC AUC of `scores` for `positive` (Mann-Whitney U, ties averaged); NaN without both classes."""
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    ranks[order] = np.repeat(first + (counts + 1) / 2, counts)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def per_token_metrics(probs: np.ndarray, labels: np.ndarray, tokens: tuple[str, ...]) -> list[dict]:
    """Accuracy and one-vs-rest AUC per token type of the held-out masked positions (GROVER Fig. 3f,g)."""
    predicted = probs.argmax(1)
    rows = []
    for t in np.unique(labels).tolist():
        hit = labels == t
        rows.append({"token": tokens[t], "length": len(tokens[t]), "count": int(hit.sum()),
                     "accuracy": float((predicted[hit] == t).mean()), "auc": one_vs_rest_auc(probs[:, t], hit)})
    return rows


def evaluation_sample(n_windows: int, cap: int, seed: int, model_id: str | None = None) -> np.ndarray:
    """The held-out windows evaluated: all of them, or a seeded sample of `cap` (0: no cap) in genome order
    (logged for `model_id`).

    Evaluation costs one forward pass per window, twice (before and after training); at hg38 the test set
    has 0.4-1.5 million windows, which would take longer than a short training run. A window keeps its
    index, and so its seeded mask, so a sample scores exactly as those windows do in a full evaluation."""
    if cap == 0 or cap >= n_windows:
        return np.arange(n_windows)
    if model_id:
        log.info("%s: evaluating a seeded sample of %d of the %d held-out windows (--eval-windows)", model_id, cap,
                 n_windows)
    return np.sort(np.random.default_rng(seed).choice(n_windows, size=cap, replace=False))


def evaluate_mlm(model, data: WindowDataset, collator: MlmCollator, batch_size: int, top_k: int,
                 windows: np.ndarray, keep_probs: int = 0, desc: str = "evaluating") -> dict:
    """Held-out masked-token metrics of `windows` on a fixed, seeded mask: loss, perplexity, accuracy,
    top-k accuracy.

    With `keep_probs`, the predicted distributions of the first `keep_probs` masked positions are kept
    (as `probs`, `labels`) for per-token metrics.
    """
    import torch

    model.eval()
    device = next(model.parameters()).device
    loss_sum, n, correct, in_top = 0.0, 0, 0, 0
    kept_probs, kept_labels = [], []
    bar = progress(total=len(windows), desc=desc, unit="window")
    with torch.no_grad():
        for lo in range(0, len(windows), batch_size):
            chunk = windows[lo:lo + batch_size]
            batch = collator([data[int(i)] for i in chunk])
            batch = {k: v.to(device) for k, v in batch.items()}
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            chosen = batch["labels"] != IGNORE
            picked, labels = logits[chosen], batch["labels"][chosen]
            loss_sum += torch.nn.functional.cross_entropy(picked.float(), labels, reduction="sum").item()
            n += int(chosen.sum())
            correct += int((picked.argmax(-1) == labels).sum())
            in_top += int((picked.topk(top_k, dim=-1).indices == labels[:, None]).any(-1).sum())
            room = keep_probs - sum(map(len, kept_labels))
            if room > 0:
                kept_probs.append(torch.softmax(picked[:room].float(), -1).cpu().numpy())
                kept_labels.append(labels[:room].cpu().numpy())
            bar.update(len(chunk))
    bar.close()
    model.train()
    if n == 0:
        raise InputError("no masked token in the held-out windows: too few test windows for evaluation")
    loss = loss_sum / n
    metrics = {"loss": loss, "perplexity": math.exp(min(loss, 50.0)), "accuracy": correct / n,
               f"top{top_k}_accuracy": in_top / n, "masked_tokens": n, "windows": len(windows)}
    if keep_probs:
        metrics["probs"], metrics["labels"] = np.concatenate(kept_probs), np.concatenate(kept_labels)
    return metrics


def pretrain(tokenized_dir: Path, windows_dir: Path, out: Path | None, checkpoint_dir: Path, model_id: str, *,
             preset: str, config_json: Path | None, max_steps: int, batch_size: int, learning_rate: float,
             warmup_steps: int, weight_decay: float, mlm_probability: float, save_steps: int, keep_checkpoints: int,
             eval_batch_size: int, seed: int, masking: str, log_windows: bool, deepspeed: Path | None,
             eval_windows: int, batching: str, kernels: Kernels) -> dict | None:
    """Train (or resume) a masked-LM BERT; write the model, held-out metrics and the loss curve to `out`.

    Checkpoints go to `checkpoint_dir/<fingerprint>/` (see `training_inputs`). Under torchrun every rank trains;
    only rank 0 (`out` given) evaluates and writes. `log_windows` records each rank's window indices, final weights
    and checkpoint directory in `checkpoint_dir/ranks/`. `kernels`: how a step runs (not in the fingerprint)."""
    from transformers import BertConfig, BertForMaskedLM, set_seed

    train = WindowDataset(tokenized_dir, Windows(windows_dir).path("train"))
    test = WindowDataset(tokenized_dir, Windows(windows_dir).path("test"))
    if len(train) == 0:
        raise InputError(f"--windows {windows_dir}: no training window")
    vocab = train.genome.vocab
    top_k = max(1, round(0.1 * (len(vocab) - 5)))  # GROVER's top-60 of ~600 tokens
    span = _masking_span(vocab, masking, model_id)
    collator = MlmCollator(len(vocab), mlm_probability, seed, masking, span)
    train_collator = _LoggingCollator(collator) if log_windows else collator
    set_seed(seed)
    fields = config_fields(preset, config_json, len(vocab))
    root = Path(checkpoint_dir)
    inputs = training_inputs(tokenized_dir, windows_dir, vocab, fields, masking, mlm_probability, span,
                             learning_rate, warmup_steps, weight_decay, batch_size,
                             int(os.environ.get("WORLD_SIZE", "1")), deepspeed, seed, batching)
    sources = {"tokenized": str(Path(tokenized_dir).resolve()), "windows": str(Path(windows_dir).resolve()),
               "preset": preset, "config": str(config_json) if config_json else None,
               "deepspeed": str(deepspeed) if deepspeed else None}
    checkpoint_dir, fp = _checkpoint_home(root, inputs, sources, model_id)
    if deepspeed:
        _single_process_rendezvous()
    args = _training_arguments(checkpoint_dir, max_steps=max_steps, batch_size=batch_size,
                               learning_rate=learning_rate, warmup_steps=warmup_steps, weight_decay=weight_decay,
                               save_steps=save_steps, keep_checkpoints=keep_checkpoints, seed=seed,
                               deepspeed=deepspeed, kernels=kernels)
    model = BertForMaskedLM(BertConfig(**fields, attn_implementation=kernels.attention))
    evaluate = out is not None and len(test) > 0
    sample = evaluation_sample(len(test), eval_windows, seed, model_id if evaluate else None)
    before = evaluate_mlm(model, test, collator, eval_batch_size, top_k, sample, desc="evaluating before training") \
        if evaluate else None
    where = f"{model_id}: checkpoints in {checkpoint_dir} (fingerprint {fp[:16]}, inputs in {fingerprint.FILE})"
    sampler = _sampler(train.rows[:, 2], batch_size, seed, batching, model_id)
    _log_rank_setup(model_id, kernels, deepspeed)
    with _writing(checkpoint_dir, model_id):
        model, history, trainer = _train_or_resume(model, args, train, train_collator, sampler, checkpoint_dir,
                                                   max_steps, where)
    if trainer is not None and log_windows:
        _log_rank(root, checkpoint_dir, train_collator.indices, model, history, trainer)
    _leave_process_group()
    if out is None:
        return None
    after = evaluate_mlm(model, test, collator, eval_batch_size, top_k, sample, keep_probs=20_000,
                         desc="evaluating after training") if evaluate else None
    per_token = per_token_metrics(after.pop("probs"), after.pop("labels"), vocab.tokens) if after else []
    _write_model(model, vocab, out / "model")
    return _write_metrics(out, model_id, before, after, per_token, history, model.config.to_dict(), top_k,
                          masking, len(test))


def _sampler(lengths: np.ndarray, batch_size: int, seed: int, batching: str, model_id: str) -> GroupedBatches | None:
    """The order of the training windows (None: the Trainer's random batches), logged with how much of a batch
    is padding, with these batches and with random ones (of the first epoch)."""
    order = np.random.default_rng(seed).permutation(len(lengths))
    random = padding_share(lengths, [order[i:i + batch_size] for i in range(0, len(order), batch_size)])
    if batching == "random":
        log.info("%s: random batches of %d windows: %.1f%% of positions are padding", model_id, batch_size,
                 100 * random)
        return None
    sampler = GroupedBatches(lengths, batch_size, seed)
    log.info("%s: batches of %d windows of similar length: %.1f%% of positions are padding (random batches: "
             "%.1f%%)", model_id, batch_size, 100 * padding_share(lengths, sampler.batches()), 100 * random)
    return sampler


def _masking_span(vocab, masking: str, model_id: str) -> int:
    """Tokens per masked span. DNABERT's spans hide the nucleotide that k overlapping k-mers share; tokens
    that do not overlap have nothing to hide, so their spans are one token long (random masking)."""
    span = vocab.k if vocab.kind == "kmer-overlap" else 1
    if masking == "span" and span == 1:
        log.warning("%s: --masking span on a %s vocabulary: spans of 1 token (random masking)", model_id, vocab.kind)
    return span


def _checkpoint_home(root: Path, inputs: dict, sources: dict, model_id: str) -> tuple[Path, str]:
    """The fingerprint directory of these inputs under `root` (made by rank 0), and the fingerprint.
    Checkpoints from before fingerprints are left alone, with a warning: what they were trained on is unknown."""
    writer = int(os.environ.get("RANK", "0")) == 0
    old = [p.name for p in complete_checkpoints(root)]
    checkpoint_dir, fp = fingerprint.directory(root, inputs, sources, write=writer)
    if old and writer:
        log.warning("%s: %s holds checkpoints without a fingerprint (%s; the layout before fingerprints): what "
                    "they were trained on is unknown, so they are not resumed. To keep them, move them into "
                    "the fingerprint directory of the settings they were trained with", model_id, root,
                    ", ".join(old))
    return checkpoint_dir, fp


def _training_arguments(checkpoint_dir: Path, *, max_steps: int, batch_size: int, learning_rate: float,
                        warmup_steps: int, weight_decay: float, save_steps: int, keep_checkpoints: int, seed: int,
                        deepspeed: Path | None, kernels: Kernels):
    """The HF Trainer's settings: linear decay after warmup, on the GPU where there is one, with `kernels`."""
    import torch
    from transformers import TrainingArguments

    return TrainingArguments(
        deepspeed=str(deepspeed) if deepspeed else None,
        output_dir=str(checkpoint_dir), max_steps=max_steps, per_device_train_batch_size=batch_size,
        learning_rate=learning_rate, warmup_steps=warmup_steps, lr_scheduler_type="linear",
        weight_decay=weight_decay, max_grad_norm=1.0, save_steps=save_steps, save_total_limit=keep_checkpoints,
        logging_steps=max(1, min(50, max_steps // 20)), seed=seed, data_seed=seed, report_to=[],
        remove_unused_columns=False, use_cpu=not torch.cuda.is_available(),
        average_tokens_across_devices=False, disable_tqdm=not sys.stderr.isatty(), dataloader_num_workers=0,
        **kernels.training_arguments())


def _writing(checkpoint_dir: Path, model_id: str):
    """Rank 0 holds the checkpoint directory against a second run of this model (a task left running by a
    dead engine), waiting for it to end; the other ranks wait for rank 0 at their first step together (where
    the Trainer's ddp_timeout, 30 minutes, ends a longer wait: the task fails and is retried)."""
    if int(os.environ.get("RANK", "0")) == 0:
        return fingerprint.one_writer(checkpoint_dir, model_id)
    return contextlib.nullcontext()


def _train_or_resume(model, args, train: WindowDataset, collator, sampler: GroupedBatches | None,
                     checkpoint_dir: Path, max_steps: int, where: str):
    """(model, log history, trainer): trained from the newest complete checkpoint, or afresh; a checkpoint
    that already reached `max_steps` is loaded instead (trainer None); one that cannot be it is refused (see
    `_schedule`).
    The last steps since a save are saved as a complete checkpoint too, so a rerun with the same settings
    trains nothing again. `sampler` orders the training windows (None: the Trainer's seeded random order).
    The history carries the learning-rate schedule's segments (`SCHEDULE` entries), kept in every checkpoint."""
    from transformers import BertForMaskedLM, Trainer, TrainerCallback

    resume = complete_checkpoints(checkpoint_dir)
    schedule = _schedule(resume[-1] if resume else None, max_steps, args, where)
    if resume and int(resume[-1].name.split("-")[1]) >= max_steps:
        log.info("%s: %s already reached %d steps; not training again", where, resume[-1].name, max_steps)
        history = json.loads((resume[-1] / "trainer_state.json").read_text())["log_history"]
        return BertForMaskedLM.from_pretrained(resume[-1]), _with_schedule(history, schedule), None
    if resume:
        log.info("%s: resuming from %s (step %s) to step %d", where, resume[-1].name,
                 resume[-1].name.split("-")[1], max_steps)
    else:
        log.info("%s: no checkpoint with these inputs; training afresh", where)

    class MarkComplete(TrainerCallback):
        """Records the schedule in the (resumed) state, and marks a checkpoint complete once the Trainer has
        written all of it."""

        def on_train_begin(self, args, state, control, **kwargs):
            state.log_history[:] = _with_schedule(state.log_history, schedule)

        def on_save(self, args, state, control, **kwargs):
            if state.is_world_process_zero:
                (checkpoint_dir / f"checkpoint-{state.global_step}" / COMPLETE).touch()

    class WindowTrainer(Trainer):
        def _get_train_sampler(self, train_dataset=None):
            return sampler if sampler is not None else super()._get_train_sampler(train_dataset)

    trainer = WindowTrainer(model=model, args=args, train_dataset=train, data_collator=collator,
                            callbacks=[MarkComplete()])
    trainer.train(resume_from_checkpoint=str(resume[-1]) if resume else None)
    final = checkpoint_dir / f"checkpoint-{trainer.state.global_step}"
    if trainer.is_world_process_zero() and not (final / COMPLETE).is_file():
        trainer.save_model(str(final))
        trainer.state.save_to_json(str(final / "trainer_state.json"))
        (final / COMPLETE).touch()
    return trainer.model, trainer.state.log_history, trainer


#: The key of a log-history entry that starts a segment of the learning-rate schedule: from its `step` on, the
#: linear decay spans this many steps (the --max-steps of the run that trained that segment).
SCHEDULE = "schedule_max_steps"


def _schedule(checkpoint: Path | None, max_steps: int, args, where: str) -> list[dict]:
    """The learning-rate schedule's segments, [{"from_step", "max_steps"}]: those `checkpoint` was trained
    under, and a new one from its step where `max_steps` is not the horizon it was trained for (its
    trainer_state.json `max_steps`), said in a warning, as the learning rate jumps there.

    Checkpoints that cannot be a `max_steps` model are refused (see `_refuse_another_model`)."""
    if checkpoint is None:
        return [{"from_step": 0, "max_steps": max_steps}]
    state = json.loads((checkpoint / "trainer_state.json").read_text())
    step, horizon = int(state["global_step"]), int(state["max_steps"])
    _refuse_another_model(checkpoint.parent, step, horizon, max_steps)
    segments = [{"from_step": h["step"], "max_steps": h[SCHEDULE]} for h in state["log_history"] if SCHEDULE in h]
    segments = segments or [{"from_step": 0, "max_steps": horizon}]  # a checkpoint from before they were kept
    if horizon != max_steps:
        _warn_of_a_new_horizon(checkpoint.name, step, horizon, max_steps, args, where)
        segments.append({"from_step": step, "max_steps": max_steps})
    return segments


def _refuse_another_model(checkpoint_dir: Path, step: int, horizon: int, max_steps: int) -> None:
    """The linear decay spans --max-steps, so checkpoints beyond `max_steps`, or at it but trained for more
    steps (a killed longer run), are another model than a `max_steps` run of these inputs, and no training
    can make them one (they used to be returned silently as the finished model)."""
    if step > max_steps:
        raise InputError(f"--max-steps {max_steps}: the checkpoints in {checkpoint_dir} already reached step "
                         f"{step}, and the learning rate decays linearly over --max-steps, so a {max_steps}-step "
                         f"run of these inputs is another model; give --max-steps >= {step} or another "
                         "--checkpoint-dir")
    if step == max_steps and horizon != max_steps:
        raise InputError(f"--max-steps {max_steps}: the checkpoints in {checkpoint_dir} reached step {step} of a "
                         f"run for --max-steps {horizon}, whose learning rate had not decayed yet, so they are not "
                         f"a {max_steps}-step model of these inputs; give more --max-steps to continue them, or "
                         "another --checkpoint-dir")


def _warn_of_a_new_horizon(name: str, step: int, horizon: int, max_steps: int, args, where: str) -> None:
    """Continuing a checkpoint under another --max-steps re-spans the linear decay from its step: the model is
    then not the one a single run of --max-steps trains. Allowed (a longer run is how training is extended),
    but said, with the learning rate before and after."""
    before, after = _linear_rate(step, horizon, args), _linear_rate(step, max_steps, args)
    log.warning("%s: %s was trained for --max-steps %d; continuing it to %d re-spans the linear decay over %d "
                "steps, so the learning rate at step %d jumps from %.3g to %.3g (a run of %d steps from the start "
                "would be another model; metrics.json records the schedule)", where, name, horizon, max_steps,
                max_steps, step, before, after, max_steps)


def _linear_rate(step: int, horizon: int, args) -> float:
    """The learning rate after `step` steps of transformers' linear schedule with warmup over `horizon` steps."""
    warmup = args.get_warmup_steps(horizon)
    if step < warmup:
        return args.learning_rate * step / max(1, warmup)
    return args.learning_rate * max(0.0, (horizon - step) / max(1, horizon - warmup))


def _with_schedule(history: list[dict], schedule: list[dict]) -> list[dict]:
    """`history` with the schedule's segments as its `SCHEDULE` entries (first, in order), replacing any."""
    entries = [{"step": s["from_step"], SCHEDULE: s["max_steps"]} for s in schedule]
    return entries + [h for h in history if SCHEDULE not in h]


def _leave_process_group() -> None:
    """Leave the process group together: a rank that exits while another still holds the group aborts in
    gloo's teardown. Rank 0 then evaluates alone."""
    import torch

    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()


def _single_process_rendezvous() -> None:
    """DeepSpeed wants a process group even for one process; outside torchrun, make one of size 1 on
    this host (otherwise it tries MPI discovery and fails on mpi4py)."""
    import socket

    if "WORLD_SIZE" in os.environ:
        return
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    os.environ.update(RANK="0", LOCAL_RANK="0", WORLD_SIZE="1", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))


class _LoggingCollator:
    """Records the window indices a rank trains on."""

    def __init__(self, collator: MlmCollator):
        self.collator, self.indices = collator, []

    def __call__(self, items):
        self.indices += [index for index, _ in items]
        return self.collator(items)


def _log_rank_setup(model_id: str, kernels: Kernels, deepspeed: Path | None) -> None:
    """Every rank says which it is, where it trains and how: what a user checks first on a cluster."""
    log.info("%s: rank %s of %s on %s (%s; %s)", model_id, os.environ.get("RANK", "0"),
             os.environ.get("WORLD_SIZE", "1"), rank_device(), kernels,
             f"DeepSpeed {deepspeed.name}" if deepspeed else "no DeepSpeed")


def rank_device() -> str:
    """Where this rank trains: its GPU (torchrun's LOCAL_RANK picks it, the Trainer's convention), or the CPU."""
    import torch

    if not torch.cuda.is_available():
        return "cpu"
    local = int(os.environ.get("LOCAL_RANK", "0"))
    return f"cuda:{local} ({torch.cuda.get_device_name(local)})"


def _log_rank(root: Path, checkpoint_dir: Path, indices: list[int], model, history: list[dict], trainer) -> None:
    """`root/ranks/rank<r>.json`: the latest run's record of one rank, with the checkpoint directory it used and
    the kernels the Trainer ran (as it reports them, not as asked for)."""
    rank = int(os.environ.get("RANK", "0"))
    optimizer = trainer.optimizer
    while not hasattr(optimizer, "defaults"):  # the torch optimizer inside accelerate's and DeepSpeed's wrappers
        optimizer = optimizer.optimizer
    weights = float(sum(p.detach().double().abs().sum() for p in model.parameters()))
    (root / "ranks").mkdir(exist_ok=True)
    write_json(root / "ranks" / f"rank{rank}.json",
               {"rank": rank, "world_size": int(os.environ.get("WORLD_SIZE", "1")), "device": rank_device(),
                "local_rank": int(os.environ.get("LOCAL_RANK", "0")), "windows": indices,
                "weights_abs_sum": weights, "global_step": trainer.state.global_step,
                "checkpoint_dir": str(checkpoint_dir), "losses": [h["loss"] for h in history if "loss" in h],
                "kernels": {"attention": model.config._attn_implementation,
                            "mixed_precision": str(trainer.accelerator.mixed_precision),
                            "fused_adamw": bool(optimizer.defaults.get("fused"))}})


def _plot_loss(losses: list[tuple[int, float]], after: dict | None, model_id: str, path: Path) -> None:
    with figure(path, figsize=(6, 3.5)) as (_fig, ax):
        if losses:
            ax.plot(*zip(*losses), label="training loss")
        if after:
            ax.axhline(after["loss"], color="tab:red", linestyle="--", label="held-out loss (end)")
        ax.set(xlabel="step", ylabel="masked-LM loss", title=model_id)
        ax.legend()


def _write_model(model, vocab: Vocabulary, out: Path) -> None:
    """A HuggingFace model directory: weights, config (with the vocabulary's fingerprint) and the vocabulary's
    tokenizer files."""
    record_vocabulary(model.config, vocab)
    model.save_pretrained(out)
    for name in TOKENIZER_FILES:
        if (vocab.path / name).is_file():
            shutil.copy(vocab.path / name, out / name)


def _write_metrics(out: Path, model_id: str, before: dict | None, after: dict | None, per_token: list[dict],
                   history: list[dict], config: dict, top_k: int, masking: str, test_windows: int) -> dict:
    """metrics.json (with the learning-rate schedule's segments, from `history`), the per-token, loss and
    MultiQC tables and the loss plot."""
    losses = [(h["step"], h["loss"]) for h in history if "loss" in h]
    aucs = [r["auc"] for r in per_token if not math.isnan(r["auc"])]
    if after:
        after["mean_token_auc"] = float(np.mean(aucs)) if aucs else float("nan")
    write_tsv(out / "per_token.tsv", ["token", "length", "count", "accuracy", "auc"],
              [[r[k] for k in ("token", "length", "count", "accuracy", "auc")] for r in per_token])
    summary = {"model": model_id, "masking": masking, "held_out_before": before, "held_out_after": after,
               "steps": max((h.get("step", 0) for h in history), default=0), "top_k": top_k,
               "test_windows": test_windows, "schedule": [{"from_step": h["step"], "max_steps": h[SCHEDULE]}
                                                          for h in history if SCHEDULE in h],
               "config": {k: config[k] for k in ("vocab_size", "hidden_size", "num_hidden_layers",
                                                 "num_attention_heads", "intermediate_size")}}
    write_json(out / "metrics.json", summary)
    write_tsv(out / "loss_curve.tsv", ["step", "loss"], [[s, l] for s, l in losses])
    if after:
        keys = ["loss", "perplexity", "accuracy", f"top{top_k}_accuracy", "mean_token_auc", "masked_tokens"]
        write_tsv(out / "metrics.tsv", ["model"] + keys, [[model_id] + [after[k] for k in keys]])
        mqc.write_table(out / "pretraining_mqc.tsv", "dnalm_pretraining", "Pretraining",
                        "Masked-token metrics on held-out windows after pretraining.",
                        ["Sample", "loss", "perplexity", "accuracy", "topk_accuracy"],
                        [[model_id, after["loss"], after["perplexity"], after["accuracy"],
                          after[f"top{top_k}_accuracy"]]], {"accuracy": mqc.SCORE, "topk_accuracy": mqc.SCORE})
    mqc.write_plot(out / "pretraining_loss_mqc.yaml", "dnalm_pretraining_loss", "Training loss",
                   "Masked-LM training loss by step.", "linegraph", {model_id: dict(losses)},
                   xlab="step", ylab="loss")
    _plot_loss(losses, after, model_id, out / "loss_curve.png")
    if before and after:
        log.info("%s: held-out loss %.3f -> %.3f, accuracy %.3f -> %.3f", model_id, before["loss"],
                 after["loss"], before["accuracy"], after["accuracy"])
    return summary

"""Fine-tune any model on a labelled task: dnalm's own models and external HuggingFace models alike.

The model is loaded with `AutoModelForSequenceClassification` (its own classification head, with the
head's dropout set where the architecture has the field) and tokenized by its own tokenizer, so results
compare vocabularies and architectures on equal terms. dnalm models are tokenized by their vocabulary's
`Vocabulary.encode`, exactly as in pretraining (HF cannot split overlapping k-mers by itself). Training
runs in the HF `Trainer`; Adam is AdamW with weight decay 0.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np

from dnalm.core.errors import InputError, first_line
from dnalm.core.logs import log, progress
from dnalm.core.outputs import write_json, write_tsv
from dnalm.evaluation.classification import MAX_PROB_CLASSES, ranked_classes, summarize_seeds, write_result
from dnalm.evaluation.task_data import Split, Task
from dnalm.vocab.model_dir import (
    check_dnalm_tokenizer,
    check_reference,
    check_token_ids,
    dnalm_vocabulary,
    record_vocabulary,
)
from dnalm.vocab.vocabulary import CONFIG, SPECIAL_TOKENS, TOKENIZER_FILES, Vocabulary


class SequenceTokenizer:
    """Raw DNA to the input ids a model was pretrained on, with its special tokens."""

    def __init__(self, model_ref: str, trust_remote_code: bool = False, flag: str = "--model"):
        path = Path(model_ref)
        self.vocab: Vocabulary | None = None
        self.hf = None
        check_reference(model_ref, flag)
        if dnalm_vocabulary(path):
            self.vocab = check_dnalm_tokenizer(path, flag)
            self.pad_id = SPECIAL_TOKENS.index("[PAD]")
            self.name, self.size = self.vocab.name, len(self.vocab)
            return
        from transformers import AutoTokenizer

        if path.is_dir() and not any(path.glob("tok*")) and not any(path.glob("vocab*")):
            raise InputError(f"{flag} {model_ref}: the model directory has no tokenizer (tokenizer.json, "
                             "tokenizer_config.json or vocab file)")
        try:
            self.hf = AutoTokenizer.from_pretrained(model_ref, trust_remote_code=trust_remote_code)
        except Exception as exc:  # transformers raises OSError, ValueError or KeyError by case
            raise InputError(f"{flag} {model_ref}: cannot load its tokenizer ({first_line(exc)})") from None
        check_token_ids(model_ref, flag, list(self.hf.get_vocab().values()))
        pad = self.hf.pad_token_id
        self.pad_id = pad if pad is not None else (self.hf.eos_token_id or 0)
        self.name, self.size = type(self.hf).__name__, len(self.hf)

    def __call__(self, seq: str) -> list[int]:
        prefix, body, suffix = self.parts(seq)
        return prefix + body + suffix

    def parts(self, seq: str) -> tuple[list[int], list[int], list[int]]:
        """The special tokens the model puts before and after a sequence, and the sequence's own tokens."""
        if self.vocab is not None:
            cls, sep = SPECIAL_TOKENS.index("[CLS]"), SPECIAL_TOKENS.index("[SEP]")
            return [cls], self.vocab.encode_lenient(seq).tolist(), [sep]
        full = self.hf(seq)["input_ids"]
        body = self.hf(seq, add_special_tokens=False)["input_ids"]
        start = next((i for i in range(len(full) - len(body) + 1) if full[i:i + len(body)] == body), 0)
        return full[:start], body, full[start + len(body):]

    def pieces(self, seq: str, max_tokens: int) -> list[list[int]]:
        """The input ids of `seq`, cut into consecutive pieces of at most `max_tokens` ids where it is longer;
        every piece has the model's special tokens."""
        prefix, body, suffix = self.parts(seq)
        width = max_tokens - len(prefix) - len(suffix)
        if len(prefix) + len(body) + len(suffix) <= max_tokens or width < 1:
            return [prefix + body + suffix]
        return [prefix + body[lo:lo + width] + suffix for lo in range(0, len(body), width)]

    def describe(self, model_ref: str) -> dict[str, Any]:
        """What the results table says about the model's vocabulary."""
        if self.vocab is None:
            return {"kind": "external", "vocabulary": self.name, "vocab_kind": "external", "vocab_size": self.size}
        config = json.loads((Path(model_ref) / CONFIG).read_text())
        return {"kind": "dnalm", "vocabulary": self.vocab.name, "vocab_kind": self.vocab.kind,
                "vocab_size": self.size, "merges": config.get("merges")}


#: Fine-tuning learning rate by model width (hidden size up to the bound): dnalm's presets are 64 (tiny),
#: 256 (small) and 768 (base) wide. Base and wider keep GROVER's 1e-6; at that rate a tiny model predicts
#: one class. The smaller models' rates had the best test MCC on GUE's TATA promoter tasks; the next step up
#: (3e-3 tiny, 1e-3 small) fell back to one class (benchmarks/results/finetune_learning_rate.md).
LEARNING_RATES = ((64, 3e-4), (256, 1e-4), (math.inf, 1e-6))


def learning_rate_for(config: Any) -> float:
    """The default learning rate of a model by its width (LEARNING_RATES); 768 wide where the config does
    not say (a HF architecture without `hidden_size` is a large published model)."""
    width = getattr(config, "hidden_size", None) or getattr(config, "d_model", None) or 768
    return next(rate for bound, rate in LEARNING_RATES if width <= bound)


def load_classifier(model_ref: str, n_labels: int, dropout: float, pad_id: int, trust_remote_code: bool = False):
    """The model with a fresh classification head of `n_labels` classes."""
    from transformers import AutoConfig, AutoModelForSequenceClassification

    try:
        config = AutoConfig.from_pretrained(model_ref, num_labels=n_labels, trust_remote_code=trust_remote_code)
    except Exception as exc:
        raise InputError(f"--model {model_ref}: not a model directory or hub id ({str(exc).splitlines()[0]})") from None
    if getattr(config, "pad_token_id", None) is None:
        config.pad_token_id = pad_id  # causal models: the head finds the last real token by it
    if hasattr(config, "classifier_dropout"):
        config.classifier_dropout = dropout
    else:
        log.info("%s has no classifier_dropout: its head keeps the architecture's own dropout", type(config).__name__)
    try:
        return AutoModelForSequenceClassification.from_pretrained(model_ref, config=config,
                                                                  trust_remote_code=trust_remote_code)
    except Exception as exc:  # an edited config: sizes the architecture rejects or the weights do not have
        raise InputError(f"--model {model_ref}: cannot build the model from its config and weights "
                         f"({first_line(exc)})") from None


class EncodedSplit:
    """A task split tokenized once, for the Trainer (items: input_ids, labels).

    A sequence longer than the model's window is cut into consecutive pieces of at most `max_tokens`
    tokens (special tokens kept at both ends), each trained on with the sequence's label; predictions
    average the pieces' probabilities (DNABERT-XL). `owner[i]` is the sequence of piece i.
    """

    def __init__(self, split: Split, tokenizer: SequenceTokenizer, max_tokens: int):
        self.ids: list[list[int]] = []
        owner = []
        for n, seq in enumerate(progress(split.sequences, desc="tokenizing", unit="seq")):
            for piece in tokenizer.pieces(seq, max_tokens):
                self.ids.append(piece)
                owner.append(n)
        self.owner = np.array(owner, dtype=np.int64)
        self.labels = split.labels[self.owner]
        self.n_sequences = len(split)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict:
        return {"input_ids": self.ids[i], "labels": int(self.labels[i])}


def pad_ids(sequences: list[list[int]], pad_id: int):
    """Input ids padded to the longest of the batch, and the attention mask (1 on real tokens)."""
    import torch

    width = max(len(ids) for ids in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = torch.tensor(seq)
        mask[row, : len(seq)] = 1
    return ids, mask


def pad_batch(items: list[dict], pad_id: int) -> dict:
    """The Trainer's batch: padded input_ids, attention mask and labels."""
    import torch

    ids, mask = pad_ids([it["input_ids"] for it in items], pad_id)
    return {"input_ids": ids, "attention_mask": mask, "labels": torch.tensor([it["labels"] for it in items])}


def pool(probs: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """Mean probabilities of each sequence's pieces."""
    sums = np.zeros((n, probs.shape[1]))
    np.add.at(sums, owner, probs)
    return sums / np.bincount(owner, minlength=n)[:, None]


def predict(model, data: EncodedSplit, pad_id: int, batch_size: int,
            n_classes: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Ranked classes of every sequence and, for tasks of few classes, their pooled probabilities.

    Computed batch by batch: with thousands of classes only the 5 best of each batch are kept.
    """
    import torch

    model.eval()
    device = next(model.parameters()).device
    ranked, probs = [], []
    with torch.no_grad():
        for lo in range(0, len(data), batch_size):
            batch = pad_batch([data[i] for i in range(lo, min(lo + batch_size, len(data)))], pad_id)
            logits = model(input_ids=batch["input_ids"].to(device),
                           attention_mask=batch["attention_mask"].to(device)).logits.float()
            if n_classes <= MAX_PROB_CLASSES:
                probs.append(torch.softmax(logits, -1).cpu().numpy())
            else:
                ranked.append(ranked_classes(logits.cpu().numpy()))
    model.train()
    if n_classes > MAX_PROB_CLASSES:
        if len(data) != data.n_sequences:
            raise InputError(f"sequences longer than the model's window with {n_classes} classes: not supported")
        return np.concatenate(ranked), None
    pooled = pool(np.concatenate(probs), data.owner, data.n_sequences)
    return ranked_classes(pooled), pooled


def finetune(model_ref: str, task: Task, out: Path, model_id: str, *, epochs: float, max_steps: int,
             batch_size: int, learning_rate: float, dropout: float, warmup_steps: int, weight_decay: float,
             seed: int, trust_remote_code: bool, patience: int, save_model: bool,
             extra: dict[str, Any] | None = None) -> dict:
    """Train the model with a new head on `task.train`; write test predictions, metrics and the loss curve.

    Settings have no defaults here: the CLI's are the ones the workflow runs, and differ by command. A
    `learning_rate` of 0 is the default for the model's width (`learning_rate_for`).

    With `patience` and a validation split, the model is evaluated every epoch on validation MCC; training
    stops after `patience` epochs without a better one, and the best epoch's weights are tested. With
    `save_model`, the classifier is kept in `out/model` (`_save_classifier`).
    """
    from transformers import EarlyStoppingCallback, Trainer, set_seed

    tokenizer = SequenceTokenizer(model_ref, trust_remote_code)
    set_seed(seed)
    model = load_classifier(model_ref, task.n_classes, dropout, tokenizer.pad_id, trust_remote_code)
    if task.class_labels is not None:  # a saved classifier (--save-model) names its classes as the files do
        model.config.id2label = {i: str(label) for i, label in enumerate(task.class_labels)}
        model.config.label2id = {str(label): i for i, label in enumerate(task.class_labels)}
    if not learning_rate:
        learning_rate = learning_rate_for(model.config)
        log.info("learning rate %g, the default for a model %s wide", learning_rate,
                 getattr(model.config, "hidden_size", "of unknown width"))
    max_tokens = max_tokens_of(model, tokenizer)
    train = EncodedSplit(task.train, tokenizer, max_tokens)
    test = EncodedSplit(task.test, tokenizer, max_tokens)
    stopping = patience > 0 and task.valid is not None
    valid = EncodedSplit(task.valid, tokenizer, max_tokens) if stopping else None
    scratch = Path(out) / ".trainer"

    args = _training_arguments(scratch, epochs=epochs, max_steps=max_steps, batch_size=batch_size,
                               learning_rate=learning_rate, weight_decay=weight_decay, warmup_steps=warmup_steps,
                               steps_per_epoch=math.ceil(len(train) / batch_size), stopping=stopping, seed=seed)
    trainer = Trainer(model=model, args=args, train_dataset=train, eval_dataset=valid,
                      data_collator=lambda items: pad_batch(items, tokenizer.pad_id),
                      compute_metrics=_validation_mcc(task, valid) if stopping else None,
                      callbacks=[EarlyStoppingCallback(patience)] if stopping else None)
    trainer.train()
    shutil.rmtree(scratch, ignore_errors=True)
    if save_model:
        _save_classifier(trainer.model, model_ref, tokenizer, Path(out) / "model")
    losses = _write_history(Path(out), trainer.state.log_history, stopping)
    ranked, probs = predict(trainer.model, test, tokenizer.pad_id, batch_size, task.n_classes)
    info = {"model": model_id, **tokenizer.describe(model_ref), **task.facts(),
            "epochs": epochs, "steps": trainer.state.global_step, "batch_size": batch_size,
            "learning_rate": learning_rate, "dropout": dropout, "seed": seed,
            "max_tokens": max_tokens, "pieces_per_sequence": len(test) / max(1, test.n_sequences),
            "best_validation_mcc": trainer.state.best_metric if stopping else None,
            **(extra or {})}
    metrics = write_result(out, info, task.test.labels, ranked, task.n_classes, task.train.labels, probs,
                           task.class_labels)
    log.info("%s on %s: training loss %.4f -> %.4f, test accuracy %.4f%s (majority %.4f)", model_id, task.name,
             losses[0][1] if losses else float("nan"), losses[-1][1] if losses else float("nan"),
             metrics["accuracy"], f", MCC {metrics['mcc']:.4f}" if "mcc" in metrics else "",
             metrics["majority_baseline"])
    return metrics


def _validation_mcc(task: Task, valid: EncodedSplit):
    """The Trainer's metric for early stopping: MCC of the validation sequences (pieces pooled)."""
    import torch

    def validation_mcc(prediction) -> dict[str, float]:
        from sklearn.metrics import matthews_corrcoef

        pooled = pool(torch.softmax(torch.tensor(prediction.predictions).float(), -1).numpy(), valid.owner,
                      valid.n_sequences)
        return {"mcc": float(matthews_corrcoef(task.valid.labels, pooled.argmax(1)))}

    return validation_mcc


def _save_classifier(model, model_ref: str, tokenizer: SequenceTokenizer, out: Path) -> None:
    """The classifier's weights and config, with the files its tokenizer is read from, loadable as the model
    it was fine-tuned from (for `variant-effects --classifier`)."""
    if tokenizer.vocab is not None:
        record_vocabulary(model.config, tokenizer.vocab)
    model.save_pretrained(out)
    if tokenizer.vocab is not None:
        for name in TOKENIZER_FILES:
            if (Path(model_ref) / name).is_file():
                shutil.copy(Path(model_ref) / name, out / name)
    else:
        tokenizer.hf.save_pretrained(out)


def max_tokens_of(model, tokenizer: SequenceTokenizer) -> int:
    """The longest input the model takes: its position embeddings, or its tokenizer's stated maximum."""
    return min(getattr(model.config, "max_position_embeddings", None) or sys.maxsize,
               getattr(tokenizer.hf, "model_max_length", sys.maxsize) if tokenizer.hf else sys.maxsize)


def _training_arguments(scratch: Path, *, epochs: float, max_steps: int, batch_size: int, learning_rate: float,
                        weight_decay: float, warmup_steps: int, steps_per_epoch: int, stopping: bool, seed: int):
    """The HF Trainer's settings (GROVER's: Adam, constant rate after warmup); with `stopping`, the model is
    evaluated and saved every epoch and the best epoch's weights are kept."""
    import torch
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=str(scratch), num_train_epochs=epochs, max_steps=max_steps or -1,
        per_device_train_batch_size=batch_size, per_device_eval_batch_size=batch_size, learning_rate=learning_rate,
        weight_decay=weight_decay, optim="adamw_torch", lr_scheduler_type="constant_with_warmup",
        warmup_steps=warmup_steps,
        logging_steps=max(1, min(50, (max_steps or int(epochs * steps_per_epoch)) // 20)),
        eval_strategy="epoch" if stopping else "no", save_strategy="epoch" if stopping else "no",
        save_total_limit=1 if stopping else None, load_best_model_at_end=stopping,
        metric_for_best_model="mcc" if stopping else None, greater_is_better=True,
        seed=seed, data_seed=seed, report_to=[], remove_unused_columns=False, use_cpu=not torch.cuda.is_available(),
        bf16=torch.cuda.is_available() and torch.cuda.is_bf16_supported(), average_tokens_across_devices=False,
        disable_tqdm=not sys.stderr.isatty(), dataloader_num_workers=0)


def _write_history(out: Path, history: list[dict], stopping: bool) -> list[tuple[int, float]]:
    """loss_curve.tsv (and validation.tsv with early stopping); the (step, loss) pairs."""
    losses = [(h["step"], h["loss"]) for h in history if "loss" in h]
    write_tsv(out / "loss_curve.tsv", ["step", "loss"], [list(x) for x in losses])
    if stopping:
        write_tsv(out / "validation.tsv", ["epoch", "mcc"], [[h["epoch"], h["eval_mcc"]] for h in history
                                                             if "eval_mcc" in h])
    return losses


def finetune_seeds(model_ref: str, task: Task, out: Path, model_id: str, seeds: list[int],
                   **settings: Any) -> dict:
    """`finetune` once per seed (in `seed<N>/`), and the summary over seeds in metrics.json."""
    runs = []
    for seed in seeds:
        (Path(out) / f"seed{seed}").mkdir()
        runs.append(finetune(model_ref, task, Path(out) / f"seed{seed}", model_id, seed=seed, **settings))
    summary = summarize_seeds(runs, seeds)
    write_json(Path(out) / "metrics.json", summary)
    return summary

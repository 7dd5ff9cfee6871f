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

from dnalm.classification import ranked_classes, write_result
from dnalm.errors import InputError
from dnalm.labelled import Split, Task
from dnalm.logs import log, progress
from dnalm.outputs import write_tsv
from dnalm.vocabulary import CONFIG, SPECIAL_TOKENS, Vocabulary


class SequenceTokenizer:
    """Raw DNA to the input ids a model was pretrained on, with its special tokens."""

    def __init__(self, model_ref: str, trust_remote_code: bool = False):
        path = Path(model_ref)
        self.vocab: Vocabulary | None = None
        self.hf = None
        if (path / CONFIG).is_file():
            self.vocab = Vocabulary.load(path)
            self.pad_id = SPECIAL_TOKENS.index("[PAD]")
            self.name, self.size = self.vocab.name, len(self.vocab)
            return
        from transformers import AutoTokenizer

        if path.is_dir() and not any(path.glob("tok*")) and not any(path.glob("vocab*")):
            raise InputError(f"--model {model_ref}: the model directory has no tokenizer (tokenizer.json, "
                             "tokenizer_config.json or vocab file)")
        try:
            self.hf = AutoTokenizer.from_pretrained(model_ref, trust_remote_code=trust_remote_code)
        except Exception as exc:  # transformers raises OSError, ValueError or KeyError by case
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(f"--model {model_ref}: cannot load its tokenizer ({first})") from None
        pad = self.hf.pad_token_id
        self.pad_id = pad if pad is not None else (self.hf.eos_token_id or 0)
        self.name, self.size = type(self.hf).__name__, len(self.hf)

    def __call__(self, seq: str) -> list[int]:
        if self.vocab is not None:
            cls, sep = SPECIAL_TOKENS.index("[CLS]"), SPECIAL_TOKENS.index("[SEP]")
            return [cls, *self.vocab.encode(seq).tolist(), sep]
        return self.hf(seq)["input_ids"]

    def describe(self, model_ref: str) -> dict[str, Any]:
        """What the results table says about the model's vocabulary."""
        if self.vocab is None:
            return {"kind": "external", "vocabulary": self.name, "vocab_kind": "external", "vocab_size": self.size}
        config = json.loads((Path(model_ref) / CONFIG).read_text())
        return {"kind": "dnalm", "vocabulary": self.vocab.name, "vocab_kind": self.vocab.kind,
                "vocab_size": self.size, "merges": config.get("merges")}


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
    return AutoModelForSequenceClassification.from_pretrained(model_ref, config=config,
                                                              trust_remote_code=trust_remote_code)


class EncodedSplit:
    """A task split tokenized once, for the Trainer (items: input_ids, labels)."""

    def __init__(self, split: Split, tokenizer: SequenceTokenizer, max_tokens: int):
        self.ids = [tokenizer(s) for s in progress(split.sequences, desc="tokenizing", unit="seq")]
        self.labels = split.labels
        longest = max(map(len, self.ids), default=0)
        if longest > max_tokens:
            raise InputError(f"sequences of up to {longest} tokens exceed the model's {max_tokens} positions")

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict:
        return {"input_ids": self.ids[i], "labels": int(self.labels[i])}


def pad_batch(items: list[dict], pad_id: int) -> dict:
    """Pad input_ids to the longest of the batch; attention mask 1 on real tokens."""
    import torch

    width = max(len(it["input_ids"]) for it in items)
    ids = torch.full((len(items), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(items), width), dtype=torch.long)
    for row, it in enumerate(items):
        ids[row, : len(it["input_ids"])] = torch.tensor(it["input_ids"])
        mask[row, : len(it["input_ids"])] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": torch.tensor([it["labels"] for it in items])}


def predict_ranked(model, data: EncodedSplit, pad_id: int, batch_size: int) -> np.ndarray:
    """The 5 best classes of every sample, computed batch by batch (memory: one batch of logits)."""
    import torch

    model.eval()
    device = next(model.parameters()).device
    ranked = []
    with torch.no_grad():
        for lo in range(0, len(data), batch_size):
            batch = pad_batch([data[i] for i in range(lo, min(lo + batch_size, len(data)))], pad_id)
            logits = model(input_ids=batch["input_ids"].to(device),
                           attention_mask=batch["attention_mask"].to(device)).logits
            ranked.append(ranked_classes(logits.float().cpu().numpy()))
    return np.concatenate(ranked)


def finetune(model_ref: str, task: Task, out: Path, model_id: str, epochs: float = 3.0, max_steps: int = 0,
             batch_size: int = 64, learning_rate: float = 1e-6, dropout: float = 0.5, warmup_steps: int = 0,
             weight_decay: float = 0.0, seed: int = 42, trust_remote_code: bool = False,
             extra: dict[str, Any] | None = None) -> dict:
    """Train the model with a new head on `task.train`; write test predictions, metrics and the loss curve."""
    import torch
    from transformers import Trainer, TrainingArguments, set_seed

    tokenizer = SequenceTokenizer(model_ref, trust_remote_code)
    set_seed(seed)
    model = load_classifier(model_ref, task.n_classes, dropout, tokenizer.pad_id, trust_remote_code)
    max_tokens = getattr(model.config, "max_position_embeddings", None) or sys.maxsize
    train = EncodedSplit(task.train, tokenizer, max_tokens)
    test = EncodedSplit(task.test, tokenizer, max_tokens)
    scratch = Path(out) / ".trainer"
    steps_per_epoch = math.ceil(len(train) / batch_size)
    args = TrainingArguments(
        output_dir=str(scratch), num_train_epochs=epochs, max_steps=max_steps or -1,
        per_device_train_batch_size=batch_size, learning_rate=learning_rate, weight_decay=weight_decay,
        optim="adamw_torch", lr_scheduler_type="constant_with_warmup", warmup_steps=warmup_steps,
        logging_steps=max(1, min(50, (max_steps or int(epochs * steps_per_epoch)) // 20)), save_strategy="no",
        seed=seed, data_seed=seed, report_to=[], remove_unused_columns=False, use_cpu=not torch.cuda.is_available(),
        bf16=torch.cuda.is_available() and torch.cuda.is_bf16_supported(), average_tokens_across_devices=False,
        disable_tqdm=not sys.stderr.isatty(), dataloader_num_workers=0)
    trainer = Trainer(model=model, args=args, train_dataset=train,
                      data_collator=lambda items: pad_batch(items, tokenizer.pad_id))
    trainer.train()
    shutil.rmtree(scratch, ignore_errors=True)
    losses = [(h["step"], h["loss"]) for h in trainer.state.log_history if "loss" in h]
    write_tsv(Path(out) / "loss_curve.tsv", ["step", "loss"], [list(x) for x in losses])
    ranked = predict_ranked(trainer.model, test, tokenizer.pad_id, batch_size)
    info = {"model": model_id, **tokenizer.describe(model_ref), "task": task.name,
            "epochs": epochs, "steps": trainer.state.global_step, "batch_size": batch_size,
            "learning_rate": learning_rate, "dropout": dropout, "seed": seed, **(extra or {})}
    metrics = write_result(out, info, task.test.labels, ranked, task.n_classes, task.train.labels)
    log.info("%s on %s: training loss %.4f -> %.4f, test accuracy %.4f (majority %.4f, random %.4f)", model_id,
             task.name, losses[0][1] if losses else float("nan"), losses[-1][1] if losses else float("nan"),
             metrics["accuracy"], metrics["majority_baseline"], metrics["random_baseline"])
    return metrics

"""Frozen-embedding probe: what a pretrained model's embeddings tell about a task without any fine-tuning.

Fine-tuning moves every weight, so its score mixes what pretraining learned with what the task teaches. A
probe keeps the model frozen: each sequence becomes one vector, from a chosen layer, pooled over the
sequence's own tokens (mean, the default) or taken at the first token ([CLS]); a logistic regression on
standardised vectors, its regularisation chosen on the validation split (dev, else the last tenth of the
training rows), is tested. Mean pooling beats [CLS] as a zero-shot readout (Nat. Commun. 2025,
s41467-025-65823-8; BEND's protocol). A sequence longer than the model's window is read in consecutive
pieces, and its vector is the mean over all its tokens (mean) or its first piece's first token (cls).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from dnalm.core.errors import InputError
from dnalm.core.logs import log, progress
from dnalm.core.outputs import write_tsv
from dnalm.evaluation.classification import MAX_PROB_CLASSES, ranked_classes, selection_score, write_result
from dnalm.evaluation.finetune import SequenceTokenizer, max_tokens_of, pad_ids
from dnalm.evaluation.task_data import Split, Task, train_and_validation
from dnalm.vocab.model_dir import load_pretrained

POOLINGS = ("mean", "cls")
#: Inverse regularisation strengths tried; the best validation score wins, ties the stronger regularisation.
C_GRID = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)


def layer_index(layer: str, n_layers: int) -> int:
    """`last`, or 0 (the embedding layer's output) to n_layers, as an index of the model's hidden states."""
    if layer == "last":
        return n_layers
    if not layer.isdigit() or int(layer) > n_layers:
        raise InputError(f"--layer {layer}: must be 'last' or between 0 and {n_layers} (the model's layers; 0 is "
                         "the embedding layer)")
    return int(layer)


def embed(model, tokenizer: SequenceTokenizer, split: Split, layer: int, pooling: str, batch_size: int) -> np.ndarray:
    """One vector per sequence (module doc)."""
    import torch

    max_tokens = max_tokens_of(model, tokenizer)
    device = next(model.parameters()).device
    pieces, owner, spans = [], [], []
    for n, seq in enumerate(split.sequences):
        prefix, body, suffix = tokenizer.parts(seq)
        if pooling == "cls" and not prefix:
            raise InputError("--pooling cls: the model's tokenizer puts no token before a sequence ([CLS]); use "
                             "--pooling mean")
        width = max(1, max_tokens - len(prefix) - len(suffix))
        for lo in range(0, max(1, len(body)), width):
            chunk = body[lo:lo + width]
            pieces.append(prefix + chunk + suffix)
            owner.append(n)
            spans.append((0, 1) if pooling == "cls" else (len(prefix), len(prefix) + len(chunk)))
            if pooling == "cls":
                break
    sums = np.zeros((len(split), model.config.hidden_size))
    counts = np.zeros(len(split))
    with torch.no_grad():
        for lo in progress(range(0, len(pieces), batch_size), desc="embedding", unit="batch"):
            batch = pieces[lo:lo + batch_size]
            ids, mask = pad_ids(batch, tokenizer.pad_id)
            states = model(input_ids=ids.to(device), attention_mask=mask.to(device),
                           output_hidden_states=True).hidden_states[layer].float().cpu().numpy()
            for row, i in enumerate(range(lo, lo + len(batch))):
                start, end = spans[i]
                sums[owner[i]] += states[row, start:end].sum(0)
                counts[owner[i]] += end - start
    return sums / np.maximum(counts, 1)[:, None]


def choose_regularisation(x_train, y_train, x_valid, y_valid, n_classes: int) -> tuple[Any, list[list[float]]]:
    """The logistic regression of the C with the best validation MCC (accuracy over 32 classes), and every
    C's score."""
    from sklearn.linear_model import LogisticRegression

    best, table = None, []
    for c in C_GRID:
        clf = LogisticRegression(C=c, max_iter=2000).fit(x_train, y_train)
        score = selection_score(y_valid, clf.predict(x_valid), n_classes)
        table.append([c, score])
        if best is None or score > best[1]:
            best = (clf, score)
    return best[0], table


def embedding_probe(model_ref: str, task: Task, out: Path, model_id: str, *, pooling: str, layer: str,
                    batch_size: int, valid_fraction: float, trust_remote_code: bool) -> dict[str, Any]:
    """Embed every split with the frozen model, fit the probe on train, choose C on validation, test."""
    import torch
    from sklearn.preprocessing import StandardScaler

    tokenizer = SequenceTokenizer(model_ref, trust_remote_code)
    model = load_pretrained("AutoModel", model_ref, "--model", trust_remote_code=trust_remote_code)
    model.to("cuda" if torch.cuda.is_available() else "cpu")
    index = layer_index(layer, model.config.num_hidden_layers)
    train, valid = train_and_validation(task, valid_fraction)
    vectors = {name: embed(model, tokenizer, split, index, pooling, batch_size)
               for name, split in (("train", train), ("valid", valid), ("test", task.test))}
    scaler = StandardScaler().fit(vectors["train"])
    x = {name: scaler.transform(v) for name, v in vectors.items()}
    probe, table = choose_regularisation(x["train"], train.labels, x["valid"], valid.labels, task.n_classes)
    write_tsv(out / "regularisation.tsv", ["C", "validation_score"], table)
    full = np.zeros((len(task.test), task.n_classes))
    full[:, probe.classes_] = probe.predict_proba(x["test"])
    info = {"model": f"probe_{model_id}", **tokenizer.describe(model_ref), "kind": "probe", **task.facts(),
            "probed_model": model_id, "pooling": pooling, "layer": index, "layers": model.config.num_hidden_layers,
            "embedding_dim": int(vectors["train"].shape[1]), "C": float(probe.C),
            "validation_score": max(score for _, score in table), "validation_samples": len(valid), "seed": None}
    metrics = write_result(out, info, task.test.labels, ranked_classes(full), task.n_classes, train.labels,
                           full if task.n_classes <= MAX_PROB_CLASSES else None, task.class_labels)
    log.info("probe of %s (%s pooling, layer %d) on %s: C %g, test accuracy %.4f%s", model_id, pooling, index,
             task.name, probe.C, metrics["accuracy"], f", MCC {metrics['mcc']:.4f}" if "mcc" in metrics else "")
    return metrics

"""A model that a command reads: its tokenizer, its weights and its head checked to belong together first.

A model directory is weights, config.json and tokenizer files that users copy, edit and mix up, and nothing
downstream notices a mix-up: a tokenizer of another vocabulary still yields ids that index the embedding
matrix, so scores come out wrong with exit status 0 (or, from a larger vocabulary, an IndexError deep in
torch); a pretrained masked-LM given where a classifier is expected gets a randomly initialised head, which
transformers only mentions in its load report. So every command reads a model through this module: the
reference is checked (`check_reference`), the tokenizer against the weights (`check_dnalm_tokenizer`,
`check_token_ids`), and the head the command needs is required to be trained (`load_pretrained`).

dnalm records the fingerprint of the vocabulary a model was trained with in its config.json
(`record_vocabulary`), so that a tokenizer of the same size but other tokens is told apart too.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from dnalm.core.errors import InputError, first_line
from dnalm.core.fingerprint import digest
from dnalm.vocab.vocabulary import CONFIG, Vocabulary

#: The config.json field in which dnalm records the fingerprint of a model's vocabulary.
VOCABULARY_FIELD = "dnalm_vocabulary"
#: What a HuggingFace hub id looks like: `org/name`, no more path than that.
HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")


def vocabulary_digest(vocab: Vocabulary) -> str:
    """What makes a vocabulary encode as it does: its kind, k, stride and its tokens in id order."""
    return digest({"kind": vocab.kind, "k": vocab.k, "stride": vocab.stride, "tokens": list(vocab.tokens)})


def record_vocabulary(config: Any, vocab: Vocabulary) -> None:
    """Mark a model's config (before `save_pretrained`) with its vocabulary's fingerprint."""
    setattr(config, VOCABULARY_FIELD, vocabulary_digest(vocab))


def is_hub_id(ref: str) -> bool:
    return not Path(ref).exists() and HUB_ID.fullmatch(ref) is not None


def check_reference(ref: str | Path, flag: str) -> None:
    """A model is a local directory with config.json, or a hub id (`org/name`) that HuggingFace resolves;
    anything else is told apart here, before a long step starts."""
    path = Path(ref)
    if is_hub_id(str(ref)):
        return
    if not path.exists():
        raise InputError(f"{flag} {ref}: no such directory, and not a HuggingFace hub id (org/name)")
    if not (path / "config.json").is_file():
        raise InputError(f"{flag} {ref}: not a model directory (no config.json)")


def _config(path: Path, flag: str) -> dict:
    try:
        return json.loads((path / "config.json").read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"{flag} {path}: config.json is not readable JSON ({first_line(exc)})") from None


def check_dnalm_tokenizer(model_dir: Path, flag: str) -> Vocabulary:
    """The dnalm vocabulary of a model directory, checked to be the one its weights were trained with: the
    fingerprint dnalm recorded, and the embedding's size in any case (models saved before the fingerprint)."""
    path = Path(model_dir)
    vocab = Vocabulary.load(path)
    config = _config(path, flag)
    size = config.get("vocab_size")
    if size is not None and size != len(vocab):
        raise InputError(f"{flag} {path}: its tokenizer files ({vocab.name}) have {len(vocab)} tokens but the "
                         f"model's embedding has {size} (config.json vocab_size): they are not the model's")
    recorded = config.get(VOCABULARY_FIELD)
    if recorded is not None and recorded != vocabulary_digest(vocab):
        raise InputError(f"{flag} {path}: its tokenizer files ({vocab.name}, {len(vocab)} tokens) are not the "
                         "vocabulary the model was trained with (its config.json records another); copy the "
                         "model's own tokenizer files back")
    return vocab


def check_token_ids(model_ref: str | Path, flag: str, ids: list[int]) -> None:
    """A HuggingFace tokenizer's ids all index the model's embedding (padded embeddings may be larger)."""
    path = Path(model_ref)
    if not (path / "config.json").is_file() or not ids:
        return  # a hub model: its own repository pairs them
    size = _config(path, flag).get("vocab_size")
    if isinstance(size, int) and max(ids) >= size:
        raise InputError(f"{flag} {model_ref}: its tokenizer has ids up to {max(ids)} but the model's embedding "
                         f"has {size} rows (config.json vocab_size): the tokenizer is not the model's")


#: The head each kind of load needs trained, as the command's error names it.
HEADS = {"AutoModelForMaskedLM": ("masked-LM head", "a pretrained masked-LM (pretrain's model/)"),
         "AutoModelForSequenceClassification": ("classification head",
                                                "a fine-tuned classifier (finetune --save-model's output)")}


def load_pretrained(auto_class: str, model_ref: str | Path, flag: str, **kwargs: Any):
    """The model loaded by a transformers auto class, in eval mode; an error where its weights lack what the
    class adds on top of the encoder (transformers would initialise it randomly and carry on)."""
    import transformers

    try:
        model, info = getattr(transformers, auto_class).from_pretrained(str(model_ref), output_loading_info=True,
                                                                        **kwargs)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:  # what transformers raises for a model of another kind
        raise InputError(f"{flag} {model_ref}: cannot load it as {auto_class} ({first_line(exc)})") from None
    missing = sorted(info.get("missing_keys") or [])
    if missing and auto_class in HEADS:
        head, wanted = HEADS[auto_class]
        raise InputError(f"{flag} {model_ref}: has no trained {head} ({', '.join(missing[:4])}"
                         f"{' ...' if len(missing) > 4 else ''} would be initialised randomly); give {wanted}")
    return model.eval()


def dnalm_vocabulary(model_ref: str | Path) -> bool:
    """Whether a model reads a dnalm vocabulary (its directory has the vocabulary's config)."""
    return (Path(model_ref) / CONFIG).is_file()

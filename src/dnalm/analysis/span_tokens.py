"""A model's tokenizer as allele scoring needs it: token ids with where each token lies in the sequence (which
tokens an allele changes), and the special tokens around a sequence, for padding and for masking.

A dnalm vocabulary knows its tokens' spans (overlapping k-mers included); a HuggingFace model needs a fast
tokenizer, whose offsets give them (DNABERT-2's BPE, character tokenizers, ...).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from dnalm.core.errors import InputError
from dnalm.vocab.model_dir import check_dnalm_tokenizer, dnalm_vocabulary
from dnalm.vocab.vocabulary import SPECIAL_TOKENS, Vocabulary


@dataclass(frozen=True)
class SpanTokenizer:
    #: ids, token starts and token ends (bp from the sequence's start) of a sequence's own tokens
    spans: Callable[[str], tuple[np.ndarray, np.ndarray, np.ndarray]]
    prefix: tuple[int, ...]
    suffix: tuple[int, ...]
    pad: int
    mask: int | None
    #: the longest input the tokenizer allows (special tokens included); the model's positions bound it too
    max_tokens: int = sys.maxsize

    def wrap(self, ids: np.ndarray) -> np.ndarray:
        """The model's input for a sequence's tokens: its special tokens around them."""
        return np.concatenate([np.asarray(self.prefix, dtype=np.int64), ids, np.asarray(self.suffix, dtype=np.int64)])


def dnalm_tokenizer(vocab: Vocabulary) -> SpanTokenizer:
    def spans(seq: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ids = np.asarray(vocab.encode(seq), dtype=np.int64)
        return (ids, *vocab.token_spans(ids))

    cls, sep, pad, mask = (SPECIAL_TOKENS.index(t) for t in ("[CLS]", "[SEP]", "[PAD]", "[MASK]"))
    return SpanTokenizer(spans, (cls,), (sep,), pad, mask)


def hf_tokenizer(model_ref: str, flag: str = "--model") -> SpanTokenizer:
    """A HuggingFace model's fast tokenizer, with the special tokens it puts around a sequence."""
    from dnalm.evaluation.finetune import SequenceTokenizer

    sequence_tokenizer = SequenceTokenizer(model_ref, flag=flag)
    tok = sequence_tokenizer.hf
    if not tok.is_fast:
        raise InputError(f"{flag} {model_ref}: its tokenizer ({type(tok).__name__}) gives no token offsets (not a "
                         "fast tokenizer); scoring alleles needs them to find the tokens a variant changes")

    def spans(seq: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        enc = tok(seq, add_special_tokens=False, return_offsets_mapping=True)
        offsets = np.asarray(enc["offset_mapping"], dtype=np.int64).reshape(-1, 2)
        return np.asarray(enc["input_ids"], dtype=np.int64), offsets[:, 0], offsets[:, 1]

    prefix, _, suffix = sequence_tokenizer.parts("ACGT")
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    return SpanTokenizer(spans, tuple(prefix), tuple(suffix), pad, tok.mask_token_id,
                         getattr(tok, "model_max_length", None) or sys.maxsize)


def span_tokenizer(model_ref: str | Path, flag: str = "--model") -> SpanTokenizer:
    """A dnalm model's vocabulary (checked to be the model's), else a HuggingFace tokenizer."""
    if dnalm_vocabulary(model_ref):
        return dnalm_tokenizer(check_dnalm_tokenizer(Path(model_ref), flag))
    return hf_tokenizer(str(model_ref), flag)

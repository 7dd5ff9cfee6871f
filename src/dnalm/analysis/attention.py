"""Where a fine-tuned classifier looks, base by base (DNABERT-viz): the attention the [CLS] token pays each token
in the last layer, summed over heads, spread back to the bases each token covers.

A base's score is the mean over the tokens that cover it, so one rule serves every vocabulary: a BPE token
gives its bases its own score, and a base covered by k overlapping k-mers gets the mean of their k scores (as
DNABERT's `get_real_score`). A sequence longer than the model's window is read in consecutive pieces of tokens,
each with its own [CLS], as fine-tuning read it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dnalm.analysis.allele_scores import _padded
from dnalm.analysis.span_tokens import SpanTokenizer
from dnalm.core.logs import progress
from dnalm.vocab.model_dir import load_pretrained


def load_classifier(model_dir: Path):
    """The classifier with eager attention: the fused kernels do not return attention weights."""
    import torch

    model = load_pretrained("AutoModelForSequenceClassification", model_dir, "--classifier",
                            attn_implementation="eager")
    return model.to("cuda" if torch.cuda.is_available() else "cpu")


def _cls_attention(model, batch: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the last layer's attention from [CLS] to each position, summed over heads; and the class
    probabilities."""
    import torch

    device = next(model.parameters()).device
    with torch.no_grad():
        out = model(input_ids=torch.from_numpy(batch).to(device), attention_mask=torch.from_numpy(mask).to(device),
                    output_attentions=True)
    attention = out.attentions[-1][:, :, 0, :].sum(1).float().cpu().numpy()
    return attention, torch.softmax(out.logits.float(), -1).cpu().numpy()


def _pieces(tok: SpanTokenizer, seq: str, width: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The sequence's tokens in pieces of at most `width`: (ids with the special tokens, token starts, ends)."""
    ids, starts, ends = tok.spans(seq)
    return [(tok.wrap(ids[lo:lo + width]), starts[lo:lo + width], ends[lo:lo + width])
            for lo in range(0, len(ids), width)]


def base_attention(model, tok: SpanTokenizer, sequences: list[str], batch_size: int,
                   positive: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Each sequence's attention per base (sums to 1 within each piece's tokens before spreading), and the
    classifier's probability of class `positive` (the mean over pieces). Sequences must be A/C/G/T only; the
    tokenizer's first special token is the [CLS] whose attention is read."""
    width = model.config.max_position_embeddings - len(tok.prefix) - len(tok.suffix)
    pieces = [(n, *piece) for n, seq in enumerate(sequences) for piece in _pieces(tok, seq, width)]
    totals = [np.zeros(len(seq)) for seq in sequences]
    counts = [np.zeros(len(seq)) for seq in sequences]
    probs, owners = [], []
    batches = _padded([ids for _, ids, _, _ in pieces], batch_size, tok.pad)
    for lo, batch, mask in progress(batches, total=-(-len(pieces) // batch_size), desc="attention", unit="batch"):
        attention, p = _cls_attention(model, batch, mask)
        for r in range(len(batch)):
            n, ids, starts, ends = pieces[lo + r]
            token = attention[r, len(tok.prefix):len(ids) - len(tok.suffix)]
            token = token / token.sum() if token.sum() > 0 else token
            for a, s, e in zip(token, starts, ends):
                totals[n][s:e] += a
                counts[n][s:e] += 1
            probs.append(p[r, positive])
            owners.append(n)
    owner = np.asarray(owners)
    mean_prob = np.array([np.mean(np.asarray(probs)[owner == n]) for n in range(len(sequences))])
    return [t / np.maximum(c, 1) for t, c in zip(totals, counts)], mean_prob


def high_attention_regions(score: np.ndarray, min_length: int) -> list[tuple[int, int]]:
    """Contiguous stretches above the sequence's mean attention, at least `min_length` bases (DNABERT's
    `find_high_attention` with its first condition)."""
    above = np.concatenate([[False], score > score.mean(), [False]])
    edges = np.flatnonzero(np.diff(above.astype(np.int8)))
    return [(int(s), int(e)) for s, e in zip(edges[::2], edges[1::2]) if e - s >= min_length]

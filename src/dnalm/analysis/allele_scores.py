"""Scores of a (REF window, ALT window) pair: zero-shot from a masked-LM (how much more or less likely the model
finds ALT than REF), and DNABERT's from a fine-tuned classifier (`classifier_scores`).

The masked-LM score of an allele is the log-likelihood the model gives the tokens where the two alleles' tokenizations
differ, all masked at once, the rest of the window as context: the masked marginal of the Nucleotide
Transformer and GPN, widened from one token to every token that changes. One base changes several tokens of
an overlapping k-mer vocabulary, and BPE can segment the bases around a variant differently, so each allele's
window is tokenized in full and the two are compared token by token: tokens equal in id and position from the
window's start, and equal in id and distance to the window's end, are shared context; what lies between
covers the same flanking bases plus the allele in each, and is scored (at least one token each, so a deletion
that removes whole tokens is scored on a neighbour too). The masked tokens' log-probabilities are summed as if
independent, the usual approximation. `llr` = LL(alt) - LL(ref), negative where ALT is less likely; each
window is scored on both strands (the reverse complement tokenized anew) and `mlm_llr` is their mean.

An indel's score includes the likelihood of the bases it adds or removes, so deletions lean positive and
insertions negative (on the bundled window's tiny model, a 5 bp deletion +7.7, a 7 bp insertion -11.2, while
SNVs have a median of -0.28): compare indels with indels of the same length, not with SNVs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dnalm.analysis.span_tokens import SpanTokenizer
from dnalm.evaluation.genome_tasks import reverse_complement


class DoesNotFit(ValueError):
    """A window of more tokens than the model has positions: which pair of the batch (`pair`) and whose window
    (`allele`, REF or ALT), since a REF window too long is --window's fault and an ALT window too long the
    allele's (a long insertion)."""

    def __init__(self, pair: int, allele: str, tokens: int, positions: int):
        super().__init__(f"a window of {tokens} tokens does not fit the model's {positions} positions")
        self.pair, self.allele, self.tokens, self.positions = pair, allele, tokens, positions


#: The key of the score dict of an allele its window does not let be scored: the reason, instead of scores.
STATUS = "status"


@dataclass(frozen=True)
class Tokens:
    """A window's token ids and where each token starts and ends (bp), counted from both ends."""

    ids: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    length: int

    @classmethod
    def of(cls, tok: SpanTokenizer, seq: str) -> "Tokens":
        return cls(*tok.spans(seq), len(seq))

    def same_from_start(self, other: "Tokens", i: int) -> bool:
        return bool(self.ids[i] == other.ids[i] and self.starts[i] == other.starts[i]
                    and self.ends[i] == other.ends[i])

    def same_from_end(self, other: "Tokens", i: int) -> bool:
        a, b = len(self.ids) - 1 - i, len(other.ids) - 1 - i
        return bool(self.ids[a] == other.ids[b] and self.length - self.ends[a] == other.length - other.ends[b]
                    and self.ends[a] - self.starts[a] == other.ends[b] - other.starts[b])


def differing(ref: Tokens, alt: Tokens) -> tuple[slice, slice]:
    """The tokens of `ref` and of `alt` that are not shared context (each at least one token)."""
    shortest = min(len(ref.ids), len(alt.ids))
    head = 0
    while head < shortest and ref.same_from_start(alt, head):
        head += 1
    tail = 0
    while tail < shortest - head and ref.same_from_end(alt, tail):
        tail += 1
    while len(ref.ids) - head - tail < 1 or len(alt.ids) - head - tail < 1:
        if tail:
            tail -= 1
        else:
            head -= 1
    return slice(head, len(ref.ids) - tail), slice(head, len(alt.ids) - tail)


def masked_rows(tok: SpanTokenizer, ref: Tokens, alt: Tokens) -> list[tuple[np.ndarray, slice]]:
    """The model inputs of one window pair (the tokens with the model's special tokens around them), and the
    positions of the differing tokens."""
    rows = []
    for tokens, part in zip((ref, alt), differing(ref, alt)):
        ids = tok.wrap(tokens.ids)
        where = slice(part.start + len(tok.prefix), part.stop + len(tok.prefix))
        rows.append((ids, where))
    return rows


def _padded(rows: list[np.ndarray], batch_size: int, pad: int):
    """Batches of rows padded with `pad`: (index of the first row, ids as a numpy array, attention mask)."""
    for lo in range(0, len(rows), batch_size):
        chunk = rows[lo:lo + batch_size]
        batch = np.full((len(chunk), max(map(len, chunk))), pad, dtype=np.int64)
        mask = np.zeros(batch.shape, dtype=np.int64)
        for r, ids in enumerate(chunk):
            batch[r, :len(ids)] = ids
            mask[r, :len(ids)] = 1  # by length: a model's pad id may be one of its real tokens
        yield lo, batch, mask


def _logits(model, batch: np.ndarray, mask: np.ndarray):
    import torch

    device = next(model.parameters()).device
    with torch.no_grad():
        return model(input_ids=torch.from_numpy(batch).to(device),
                     attention_mask=torch.from_numpy(mask).to(device)).logits.float()


def log_likelihoods(model, tok: SpanTokenizer, rows: list[tuple[np.ndarray, slice]], batch_size: int) -> np.ndarray:
    """Summed log-probability of the original tokens at the masked positions of each row."""
    import torch

    masked = []
    for ids, where in rows:
        ids = ids.copy()
        ids[where] = tok.mask
        masked.append(ids)
    out = np.empty(len(rows))
    for lo, batch, mask in _padded(masked, batch_size, tok.pad):
        logp = torch.log_softmax(_logits(model, batch, mask), -1).cpu().numpy()
        for r in range(len(batch)):
            ids, where = rows[lo + r]
            positions = np.arange(where.start, where.stop)
            out[lo + r] = float(logp[r, positions, ids[positions]].sum())
    return out


def positive_probabilities(model, rows: list[np.ndarray], batch_size: int, positive: int, pad: int) -> np.ndarray:
    """A classifier's probability of class `positive` for each row of input ids."""
    import torch

    out = np.empty(len(rows))
    for lo, batch, mask in _padded(rows, batch_size, pad):
        out[lo:lo + len(batch)] = torch.softmax(_logits(model, batch, mask), -1)[:, positive].cpu().numpy()
    return out


def window_pair(ref_window: str, offset: int, ref: str, alt: str) -> tuple[str, str]:
    """The window with REF (as read) and with ALT in its place at `offset`."""
    return ref_window, ref_window[:offset] + alt + ref_window[offset + len(ref):]


def classifier_scores(model, tok: SpanTokenizer, pairs: list[tuple[str, str]], batch_size: int, max_tokens: int,
                      positive: int) -> list[dict]:
    """DNABERT's scores from a fine-tuned classifier, each the mean of both strands: `cls_diff`, the positive
    class's probability with ALT minus with REF (negative: ALT lowers it), and `cls_log_odds`, the log-odds
    ratio logit(p_alt) - logit(p_ref); with `cls_p_ref` and `cls_p_alt`."""
    rows = []
    for i, (ref_seq, alt_seq) in enumerate(pairs):
        for k, seq in enumerate((ref_seq, alt_seq, reverse_complement(ref_seq), reverse_complement(alt_seq))):
            row = tok.wrap(tok.spans(seq)[0])
            if len(row) > max_tokens:
                raise DoesNotFit(i, ("REF", "ALT")[k % 2], len(row), max_tokens)
            rows.append(row)
    p = positive_probabilities(model, rows, batch_size, positive, tok.pad)
    p = p.reshape(len(pairs), 2, 2)  # pair, strand, allele
    logit = np.log(np.clip(p, 1e-7, 1 - 1e-7)) - np.log(np.clip(1 - p, 1e-7, 1))
    return [{"cls_diff": float((p[i, :, 1] - p[i, :, 0]).mean()),
             "cls_log_odds": float((logit[i, :, 1] - logit[i, :, 0]).mean()),
             "cls_p_ref": float(p[i, :, 0].mean()), "cls_p_alt": float(p[i, :, 1].mean())} for i in range(len(pairs))]


def score_alleles(model, tok: SpanTokenizer, pairs: list[tuple[str, str]], batch_size: int,
                  max_tokens: int) -> list[dict]:
    """`mlm_llr` (mean of both strands), `mlm_llr_forward`, `mlm_llr_reverse` and the masked token counts of
    each (REF window, ALT window) pair."""
    rows, counts = [], []
    for i, (ref_seq, alt_seq) in enumerate(pairs):
        for ref_strand, alt_strand in ((ref_seq, alt_seq), (reverse_complement(ref_seq), reverse_complement(alt_seq))):
            ref, alt = Tokens.of(tok, ref_strand), Tokens.of(tok, alt_strand)
            pair = masked_rows(tok, ref, alt)
            for (ids, _), allele in zip(pair, ("REF", "ALT")):
                if len(ids) > max_tokens:
                    raise DoesNotFit(i, allele, len(ids), max_tokens)
            rows += pair
            counts.append([w.stop - w.start for _, w in pair])
    ll = log_likelihoods(model, tok, rows, batch_size).reshape(len(pairs), 2, 2)  # pair, strand, (ref, alt)
    llr = ll[:, :, 1] - ll[:, :, 0]
    counts_ = np.asarray(counts).reshape(len(pairs), 2, 2)
    return [{"mlm_llr": float(llr[i].mean()), "mlm_llr_forward": float(llr[i, 0]),
             "mlm_llr_reverse": float(llr[i, 1]), "masked_ref_tokens": int(counts_[i, 0, 0]),
             "masked_alt_tokens": int(counts_[i, 0, 1])} for i in range(len(pairs))]

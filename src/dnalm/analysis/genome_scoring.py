"""Alleles scored where they lie in the genome: the genome streamed run by run (an N-free stretch of the
prepared genome at a time), so memory holds one run and a batch of windows, whatever the size of the genome or
the number of alleles. A window is `window` bp centred on REF, clipped to the run it lies in. Shared by
`variant-effects` (alleles from a VCF) and `saturation-mutagenesis` (every SNV of some regions).
"""

from __future__ import annotations

import bisect
import json
import os
import time
from pathlib import Path
from typing import Callable

from dnalm.analysis.allele_scores import STATUS, DoesNotFit, classifier_scores, score_alleles, window_pair
from dnalm.analysis.span_tokens import SpanTokenizer, span_tokenizer
from dnalm.analysis.vcf import Allele
from dnalm.core import fingerprint
from dnalm.core.errors import InputError
from dnalm.core.logs import log, progress
from dnalm.core.outputs import atomic_file
from dnalm.genome.prepare import RUNS_BED, RUNS_FASTA, iter_runs, read_runs_bed
from dnalm.vocab.model_dir import check_reference, load_pretrained


#: Scores a batch of (REF window, ALT window) pairs: one dict of named scores per pair.
Scorer = Callable[[list[tuple[str, str]]], list[dict]]


def _load(model_ref: Path, auto_class: str, flag: str):
    import torch

    return load_pretrained(auto_class, model_ref, flag).to("cuda" if torch.cuda.is_available() else "cpu")


def _max_tokens(model, tok: SpanTokenizer) -> int:
    return min(getattr(model.config, "max_position_embeddings", None) or tok.max_tokens, tok.max_tokens)


def masked_lm_scorer(model_ref: Path, batch_size: int) -> Scorer:
    """The masked-LM log-likelihood ratios (`allele_scores.score_alleles`) of a dnalm or HuggingFace model."""
    tok = span_tokenizer(model_ref)
    if tok.mask is None:
        raise InputError(f"--model {model_ref}: its tokenizer has no mask token; the scores need a masked-LM")
    model = _load(model_ref, "AutoModelForMaskedLM", "--model")
    return lambda pairs: score_alleles(model, tok, pairs, batch_size, _max_tokens(model, tok))


def classifier_scorer(model_dir: Path, batch_size: int, positive: int) -> Scorer:
    """DNABERT's difference score and log-odds ratio (`allele_scores.classifier_scores`) of a fine-tuned
    classifier (`finetune --save-model`, of a dnalm or a HuggingFace model), for class `positive`."""
    tok = span_tokenizer(model_dir, "--classifier")
    model = _load(model_dir, "AutoModelForSequenceClassification", "--classifier")
    if not 0 <= positive < model.config.num_labels:
        raise InputError(f"--positive-class {positive}: the classifier in {model_dir} has classes 0.."
                         f"{model.config.num_labels - 1}")
    return lambda pairs: classifier_scores(model, tok, pairs, batch_size, _max_tokens(model, tok), positive)


#: The scores and their descriptions (VCF INFO headers): the masked-LM's, and a classifier's when given.
MLM_FIELDS = {
    "mlm_llr": "masked-LM log-likelihood ratio ALT vs REF of the tokens that differ, mean of both strands",
    "mlm_llr_forward": "masked-LM log-likelihood ratio ALT vs REF, forward strand",
    "mlm_llr_reverse": "masked-LM log-likelihood ratio ALT vs REF, reverse-complement strand",
}
CLASSIFIER_FIELDS = {
    "cls_diff": "fine-tuned classifier: probability of the positive class with ALT minus with REF, mean of strands",
    "cls_log_odds": "fine-tuned classifier: log-odds ratio of the positive class, ALT vs REF, mean of strands",
    "cls_p_ref": "fine-tuned classifier: probability of the positive class with REF, mean of strands",
    "cls_p_alt": "fine-tuned classifier: probability of the positive class with ALT, mean of strands",
}


def check_models(model_dir: Path, classifier: Path | None) -> None:
    """Before reading any input: the masked-LM, and the classifier where one is given."""
    check_reference(model_dir, "--model")
    if classifier:
        check_reference(classifier, "--classifier")


def scorers(model_dir: Path, classifier: Path | None, positive: int, batch_size: int) -> tuple[list[Scorer], dict]:
    """The masked-LM's scorer, and the classifier's where one is given; the fields they fill."""
    found = [masked_lm_scorer(model_dir, batch_size)]
    if classifier:
        found.append(classifier_scorer(classifier, batch_size, positive))
    return found, {**MLM_FIELDS, **(CLASSIFIER_FIELDS if classifier else {})}


def score_with_models(genome_dir: Path, alleles: list[Allele], by_run: dict[int, list[Allele]], *,
                      model_dir: Path, classifier: Path | None, positive: int, window: int, batch_size: int,
                      resume_dir: Path | None) -> tuple[dict[tuple[int, int], dict], dict]:
    """What `variant-effects` and `saturation-mutagenesis` share once their alleles are known: the models
    loaded, the scores kept in `resume_dir` where given, the genome streamed; every allele's scores and the
    fields they fill."""
    found, fields = scorers(model_dir, classifier, positive, batch_size)
    kept = kept_scores(resume_dir, genome_dir, alleles, model_dir, classifier, positive, window,
                       batch_size) if resume_dir else None
    return score_in_genome(genome_dir, by_run, found, window=window, batch_size=batch_size, kept=kept), fields


def alleles_by_run(genome_dir: Path, alleles: list[Allele],
                   unscorable: dict[tuple[int, int], str]) -> dict[int, list[Allele]]:
    """The alleles whose REF lies inside each N-free run (by run index); the rest marked unscorable (unless
    marked already)."""
    runs: dict[str, tuple[list[int], list[tuple[int, int, int]]]] = {}
    for index, (contig, start, end) in enumerate(read_runs_bed(genome_dir)):
        starts, spans = runs.setdefault(contig, ([], []))
        starts.append(start)
        spans.append((start, end, index))
    found: dict[int, list[Allele]] = {}
    for a in alleles:
        starts, spans = runs.get(a.chrom, ([], []))
        i = bisect.bisect_right(starts, a.start) - 1
        if i >= 0 and a.start + len(a.ref) <= spans[i][1]:
            found.setdefault(spans[i][2], []).append(a)
        else:
            unscorable.setdefault((a.record, a.alt_index), "REF outside the genome's N-free runs")
    return found


class KeptScores:
    """Scores written as they are made (one JSON line per batch), so a rerun after a crash or a killed job
    scores only the rest. A line cut short by the kill is dropped; its batch is scored again."""

    FILE = "scores.jsonl"

    def __init__(self, directory: Path, sync_every: float = 60.0):
        self.path, self.sync_every, self.synced = Path(directory) / self.FILE, sync_every, time.monotonic()
        self.done: dict[tuple[int, int], dict] = {}
        if self.path.is_file():
            lines = self.path.read_text().splitlines(keepends=True)
            whole = []
            for line in lines:
                try:
                    batch = json.loads(line) if line.endswith("\n") else None
                except ValueError:
                    batch = None
                if batch is None:
                    break  # the last line, cut short
                self.done.update({(r, a): s for r, a, s in batch})
                whole.append(line)
            if len(whole) < len(lines):
                with atomic_file(self.path) as tmp:  # without the cut line, so new lines start on their own
                    tmp.write_text("".join(whole))
        self.fh = open(self.path, "a")
        if self.done:
            log.info("%d alleles already scored in %s", len(self.done), self.path)

    def add(self, batch: list[tuple[int, int, dict]]) -> None:
        self.fh.write(json.dumps(batch, default=lambda value: value.item()) + "\n")  # numpy scalars
        self.fh.flush()  # a killed process loses nothing flushed; a crashed node what was not synced
        if time.monotonic() - self.synced > self.sync_every:
            os.fsync(self.fh.fileno())
            self.synced = time.monotonic()

    def close(self) -> None:
        self.fh.close()


def kept_scores(resume_dir: Path, genome_dir: Path, alleles: list[Allele], model_dir: Path,
                classifier: Path | None, positive: int, window: int, batch_size: int) -> KeptScores:
    """The kept scores of these alleles in this genome by these models, in their fingerprint directory of
    `resume_dir`: everything a score depends on is in the fingerprint (the batch size too, as padding can move
    the last digits), so scores are only ever reused for the same inputs."""
    settings = {"model": fingerprint.model_digest(model_dir),
                "classifier": fingerprint.model_digest(classifier, "--classifier") if classifier else None,
                "positive_class": positive if classifier else None, "window": window, "batch_size": batch_size}
    inputs = {"genome": fingerprint.files_digest(Path(genome_dir), [Path(genome_dir) / RUNS_BED,
                                                                     Path(genome_dir) / RUNS_FASTA]),
              "alleles": fingerprint.digest([[a.record, a.alt_index, a.chrom, a.start, a.ref, a.alt] for a in alleles]),
              **settings}
    path, fp = fingerprint.directory(resume_dir, inputs, {"genome": str(Path(genome_dir).resolve())})
    log.info("scores kept in %s (fingerprint %s)", path, fp[:16])
    return KeptScores(path)


def score_in_genome(genome_dir: Path, by_run: dict[int, list[Allele]], scorers: list[Scorer], *, window: int,
                    batch_size: int, kept: KeptScores | None = None) -> dict[tuple[int, int], dict]:
    """Every allele's scores from every scorer, by (record, alt index), or, where its ALT window has more tokens
    than a model has positions, why not (`{STATUS: reason}`); with `kept`, those scored before are read back
    and the new ones written there as they come."""
    scores: dict[tuple[int, int], dict] = dict(kept.done) if kept else {}
    bar = progress(total=sum(map(len, by_run.values())), desc="scoring alleles", unit="allele")
    bar.update(len(scores))
    for run in iter_runs(genome_dir):
        inside = [a for a in by_run.get(run.index, []) if (a.record, a.alt_index) not in scores]
        for lo in range(0, len(inside), batch_size):
            chunk = inside[lo:lo + batch_size]
            batch = _score_batch(run, chunk, scorers, window)
            scores.update({(r, j): s for r, j, s in batch})
            if kept:
                kept.add(batch)
            bar.update(len(chunk))
    bar.close()
    if kept:
        kept.close()
    return scores


def _score_batch(run, chunk: list[Allele], scorers: list[Scorer], window: int) -> list[tuple[int, int, dict]]:
    """(record, alt index, scores) of each allele of `chunk`; an allele whose ALT window does not fit a model (a
    long insertion) gets the reason instead, and the rest are scored. A REF window that does not fit is
    --window's fault: an error, naming the record where it shows."""
    chunk, unfit = list(chunk), []
    while chunk:
        pairs = [_window(run, a, window) for a in chunk]
        try:
            scored = [scorer(pairs) for scorer in scorers]
        except DoesNotFit as exc:
            a = chunk.pop(exc.pair)
            if exc.allele == "REF":
                raise InputError(f"--window {window}: record {a.name}: {exc}; give a smaller --window") from None
            why = f"ALT window too long for the model ({exc.tokens} tokens, {exc.positions} positions)"
            unfit.append((a.record, a.alt_index, {STATUS: why}))
            continue
        return unfit + [(a.record, a.alt_index, {k: v for one in scored for k, v in one[i].items()})
                        for i, a in enumerate(chunk)]
    return unfit


def _window(run, allele: Allele, window: int) -> tuple[str, str]:
    """(REF window, ALT window) of `window` bp around REF, clipped to the run."""
    start = allele.start - run.start
    flank = max(0, (window - len(allele.ref)) // 2)
    lo, hi = max(0, start - flank), min(len(run.seq), start + len(allele.ref) + flank)
    return window_pair(run.seq[lo:hi].decode(), start - lo, allele.ref, allele.alt)

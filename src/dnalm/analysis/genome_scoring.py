"""Alleles scored where they lie in the genome: the genome streamed run by run (an N-free stretch of the
prepared genome at a time), so memory holds one run and a batch of windows, whatever the size of the genome or
the number of alleles. A window is `window` bp centred on REF, clipped to the run it lies in. Shared by
`variant-effects` (alleles from a VCF) and `saturation-mutagenesis` (every SNV of some regions).
"""

from __future__ import annotations

import bisect
from pathlib import Path

from dnalm.analysis.allele_scores import score_alleles, window_pair
from dnalm.analysis.vcf import Allele
from dnalm.core.errors import InputError
from dnalm.core.logs import progress
from dnalm.genome.prepare import iter_runs, read_runs_bed
from dnalm.vocab.vocabulary import CONFIG, Vocabulary


def check_model(model_dir: Path) -> None:
    """Before any long step: the masked-LM scores need a dnalm model (its vocabulary gives token spans)."""
    if not (Path(model_dir) / CONFIG).is_file():
        raise InputError(f"--model {model_dir}: not a dnalm model directory (no {CONFIG}); the masked-LM scores "
                         "need a dnalm model")


def masked_lm(model_dir: Path):
    """A dnalm model's vocabulary and its masked-LM head, on the GPU where there is one."""
    import torch
    from transformers import AutoModelForMaskedLM

    check_model(model_dir)
    model = AutoModelForMaskedLM.from_pretrained(model_dir).eval()
    return Vocabulary.load(Path(model_dir)), model.to("cuda" if torch.cuda.is_available() else "cpu")


def alleles_by_run(genome_dir: Path, alleles: list[Allele],
                   unscorable: dict[tuple[int, int], str]) -> dict[int, list[Allele]]:
    """The alleles whose REF lies inside each N-free run (by run index); the rest marked unscorable."""
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
            unscorable[(a.record, a.alt_index)] = "REF outside the genome's N-free runs"
    return found


def score_in_genome(genome_dir: Path, by_run: dict[int, list[Allele]], model, vocab: Vocabulary, *, window: int,
                    batch_size: int) -> dict[tuple[int, int], dict]:
    """The masked-LM scores (`allele_scores.score_alleles`) of every allele, by (record, alt index)."""
    scores: dict[tuple[int, int], dict] = {}
    bar = progress(total=sum(map(len, by_run.values())), desc="scoring alleles", unit="allele")
    for run in iter_runs(genome_dir):
        for lo in range(0, len(by_run.get(run.index, [])), batch_size):
            chunk = by_run[run.index][lo:lo + batch_size]
            pairs = [_window(run, a, window) for a in chunk]
            try:
                scored = score_alleles(model, vocab, pairs, batch_size, model.config.max_position_embeddings)
            except ValueError as exc:
                raise InputError(f"--window {window}: a window of {exc} does not fit the model's "
                                 f"{model.config.max_position_embeddings} positions; give a smaller --window") from None
            scores.update({(a.record, a.alt_index): s for a, s in zip(chunk, scored)})
            bar.update(len(chunk))
    bar.close()
    return scores


def _window(run, allele: Allele, window: int) -> tuple[str, str]:
    """(REF window, ALT window) of `window` bp around REF, clipped to the run."""
    start = allele.start - run.start
    flank = max(0, (window - len(allele.ref)) // 2)
    lo, hi = max(0, start - flank), min(len(run.seq), start + len(allele.ref) + flank)
    return window_pair(run.seq[lo:hi].decode(), start - lo, allele.ref, allele.alt)

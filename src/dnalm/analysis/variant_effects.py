"""`dnalm variant-effects`: every ALT allele of a VCF scored by a masked-LM in its genome window.

The genome is streamed run by run (an N-free stretch of the prepared genome at a time), so memory holds one
run and a batch of windows, whatever the size of the genome or the VCF. A window is `window` bp centred on
REF, clipped to the run it lies in.
"""

from __future__ import annotations

import bisect
import json
import tempfile
from pathlib import Path

import numpy as np

from dnalm.analysis.allele_scores import score_alleles, window_pair
from dnalm.analysis.vcf import Allele, check_ref, read_alleles, readable, write_tsv_table, write_vcf
from dnalm.core import mqc
from dnalm.core.errors import InputError
from dnalm.core.logs import log, progress
from dnalm.core.outputs import write_json
from dnalm.core.plotting import figure
from dnalm.genome.prepare import iter_runs, read_runs_bed
from dnalm.vocab.vocabulary import CONFIG, Vocabulary

#: The INFO fields of the scored VCF (and TSV columns), with their header descriptions.
FIELDS = {
    "mlm_llr": "dnalm masked-LM log-likelihood ratio ALT vs REF of the tokens that differ, mean of both strands",
    "mlm_llr_forward": "dnalm masked-LM log-likelihood ratio ALT vs REF, forward strand",
    "mlm_llr_reverse": "dnalm masked-LM log-likelihood ratio ALT vs REF, reverse-complement strand",
}
TSV_FIELDS = [*FIELDS, "masked_ref_tokens", "masked_alt_tokens"]


def variant_effects(model_dir: Path, genome_dir: Path, variants: Path, out: Path, *, model_id: str, window: int,
                    batch_size: int) -> dict:
    """Score every ALT allele of `variants`; write `variant_effects.tsv`, `variant_effects.vcf.gz` (+ .tbi),
    `summary.json` and the distribution of scores (`mlm_llr.png`)."""
    with tempfile.TemporaryDirectory() as scratch:
        return _variant_effects(model_dir, genome_dir, variants, readable(variants, Path(scratch)), out,
                                model_id=model_id, window=window, batch_size=batch_size)


def _variant_effects(model_dir: Path, genome_dir: Path, shown: Path, variants: Path, out: Path, *, model_id: str,
                     window: int, batch_size: int) -> dict:
    if not (Path(model_dir) / CONFIG).is_file():
        raise InputError(f"--model {model_dir}: not a dnalm model directory (no {CONFIG}); variant-effects scores "
                         "dnalm masked-LMs")
    lengths = {row["contig"]: row["length"]
               for row in json.loads((Path(genome_dir) / "genome_stats.json").read_text())["per_contig"]}
    alleles, unscorable = read_alleles(variants, set(lengths), shown)
    by_run = _alleles_by_run(genome_dir, alleles, unscorable)
    for run in iter_runs(genome_dir):  # every REF first: a VCF of another assembly fails in seconds
        for a in by_run.get(run.index, []):
            check_ref(shown, a, run.seq[a.start - run.start:a.start - run.start + len(a.ref)])
    vocab, model = _masked_lm(model_dir)
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
    out.mkdir(parents=True, exist_ok=True)
    statuses = write_tsv_table(out / "variant_effects.tsv", variants, TSV_FIELDS, scores, unscorable)
    log.info("%s: %s", shown.name, ", ".join(f"{n} {status}" for status, n in statuses.items()))
    write_vcf(out / "variant_effects.vcf.gz", variants, FIELDS, scores, lengths,
              symbolic="ALT is not a sequence" in unscorable.values())
    values = np.array([s["mlm_llr"] for s in scores.values()])
    _plot(values, model_id, out / "mlm_llr.png")
    summary = {"model": model_id, "model_dir": str(model_dir), "variants": str(shown), "window": window,
               "alleles": statuses, "mlm_llr_median": float(np.median(values)) if len(values) else None,
               "alt_less_likely": float((values < 0).mean()) if len(values) else None}
    write_json(out / "summary.json", summary)
    mqc.write_table(out / "variant_effects_mqc.tsv", "dnalm_variant_effects", "Variant effects",
                    f"Alleles of {shown.name} scored by the masked-LM (log-likelihood ratio ALT vs REF; negative: "
                    "the model finds ALT less likely). Indel scores include the bases they add or remove.",
                    ["Sample", "scored", "not scored", "median score", "ALT less likely"],
                    [[model_id, len(values), sum(statuses.values()) - len(values), summary["mlm_llr_median"],
                      summary["alt_less_likely"]]], {"ALT less likely": mqc.PERCENT})
    return summary


def _masked_lm(model_dir: Path):
    """A dnalm model's vocabulary and its masked-LM head, on the GPU where there is one."""
    import torch
    from transformers import AutoModelForMaskedLM

    model = AutoModelForMaskedLM.from_pretrained(model_dir).eval()
    return Vocabulary.load(Path(model_dir)), model.to("cuda" if torch.cuda.is_available() else "cpu")


def _alleles_by_run(genome_dir: Path, alleles: list[Allele],
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


def _window(run, allele: Allele, window: int) -> tuple[str, str]:
    """(REF window, ALT window) of `window` bp around REF, clipped to the run."""
    start = allele.start - run.start
    flank = max(0, (window - len(allele.ref)) // 2)
    lo, hi = max(0, start - flank), min(len(run.seq), start + len(allele.ref) + flank)
    return window_pair(run.seq[lo:hi].decode(), start - lo, allele.ref, allele.alt)


def _plot(values: np.ndarray, model_id: str, path: Path) -> None:
    with figure(path, figsize=(6, 3.5)) as (_fig, ax):
        if len(values):
            ax.hist(values, bins=min(50, max(10, len(values) // 5)), color="tab:blue")
        ax.axvline(0, color="grey", linestyle="--")
        ax.set(xlabel="masked-LM log-likelihood ratio, ALT vs REF", ylabel="alleles",
               title=f"{model_id}: {len(values)} alleles scored")

"""`dnalm variant-effects`: every ALT allele of a VCF scored by a masked-LM in its genome window
(`genome_scoring`)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from dnalm.analysis.allele_scores import STATUS
from dnalm.analysis.genome_scoring import alleles_by_run, check_models, score_with_models
from dnalm.analysis.vcf import (SYMBOLIC, Allele, check_ref, read_alleles, readable, scorable, write_tsv_table,
                                write_vcf)
from dnalm.core import mqc
from dnalm.core.logs import log
from dnalm.core.outputs import write_json
from dnalm.core.plotting import figure
from dnalm.genome.prepare import iter_runs, read_stats

#: TSV columns beside the scores (not in the VCF).
TOKEN_COUNTS = ["masked_ref_tokens", "masked_alt_tokens"]


def variant_effects(model_dir: Path, genome_dir: Path, variants: Path, out: Path, *, model_id: str,
                    classifier: Path | None, positive: int, window: int, batch_size: int,
                    resume_dir: Path | None = None) -> dict:
    """Score every ALT allele of `variants`; write `variant_effects.tsv`, `variant_effects.vcf.gz` (+ .tbi),
    `summary.json` and the distribution of scores (`mlm_llr.png`). With `classifier`, its scores too. Scratch
    files (a plain copy of a gzipped VCF) are kept in `out` (the CLI's partial output, removed with it after a
    kill) and removed before it is published."""
    scratch = Path(out) / ".scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        return _variant_effects(model_dir, genome_dir, variants, readable(variants, scratch), out,
                                model_id=model_id, classifier=classifier, positive=positive, window=window,
                                batch_size=batch_size, resume_dir=resume_dir)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _variant_effects(model_dir: Path, genome_dir: Path, shown: Path, variants: Path, out: Path, *, model_id: str,
                     classifier: Path | None, positive: int, window: int, batch_size: int,
                     resume_dir: Path | None) -> dict:
    check_models(model_dir, classifier)
    lengths = {row["contig"]: row["length"]
               for row in read_stats(genome_dir)["per_contig"]}
    alleles, unscorable = read_alleles(variants, set(lengths), shown, window)
    by_run = alleles_by_run(genome_dir, alleles, unscorable)
    _check_refs(genome_dir, by_run, shown)
    alleles = scorable(alleles, unscorable)
    by_run = {index: scorable(inside, unscorable) for index, inside in by_run.items()}
    scores, fields = score_with_models(genome_dir, alleles, by_run, model_dir=model_dir, classifier=classifier,
                                       positive=positive, window=window, batch_size=batch_size,
                                       resume_dir=resume_dir)
    scores = _scored(scores, unscorable)
    out.mkdir(parents=True, exist_ok=True)
    statuses = write_tsv_table(out / "variant_effects.tsv", variants, [*fields, *TOKEN_COUNTS], scores, unscorable)
    log.info("%s: %s", shown.name, ", ".join(f"{n} {status}" for status, n in statuses.items()))
    write_vcf(out / "variant_effects.vcf.gz", variants, fields, scores, lengths,
              symbolic=SYMBOLIC in unscorable.values())
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
    _top_variants(out / "top_variants_mqc.tsv", alleles, scores, fields, model_id)
    return summary


def _check_refs(genome_dir: Path, by_run: dict[int, list[Allele]], shown: Path) -> None:
    """Every REF inside the genome's runs against the genome, scored or not, before any scoring: a VCF of
    another assembly fails in seconds, whatever its ALTs."""
    for run in iter_runs(genome_dir):
        for a in by_run.get(run.index, []):
            check_ref(shown, a, run.seq[a.start - run.start:a.start - run.start + len(a.ref)])


def _scored(scores: dict[tuple[int, int], dict], unscorable: dict[tuple[int, int], str]) -> dict[tuple[int, int], dict]:
    """The alleles that were scored; those whose window did not let them be (`STATUS`) added to `unscorable`."""
    unscorable.update({key: got[STATUS] for key, got in scores.items() if STATUS in got})
    return {key: got for key, got in scores.items() if STATUS not in got}


def _top_variants(path: Path, alleles: list[Allele], scores: dict[tuple[int, int], dict], fields: dict[str, str],
                  model_id: str, n: int = 20) -> None:
    """The report's table of the `n` alleles the masked-LM finds least likely against REF, with every score."""
    shown = [f for f in fields if not f.endswith(("_forward", "_reverse"))]
    ranked = sorted((a for a in alleles if (a.record, a.alt_index) in scores),
                    key=lambda a: scores[(a.record, a.alt_index)]["mlm_llr"])[:n]
    mqc.write_table(path, "dnalm_top_variants", "Variant effects: top variants",
                    f"The {len(ranked)} alleles {model_id}'s masked-LM finds least likely against REF (most negative "
                    "log-likelihood ratio), with the classifier's scores where one was given (cls_diff: change of "
                    "the positive class's probability).",
                    ["Sample", *shown],
                    [[f"{rank:02d} {a.vid} {a.chrom}:{a.start + 1} {a.ref}>{a.alt}",  # MultiQC sorts rows by name
                      *(scores[(a.record, a.alt_index)][f] for f in shown)] for rank, a in enumerate(ranked, 1)])


def _plot(values: np.ndarray, model_id: str, path: Path) -> None:
    with figure(path, figsize=(6, 3.5)) as (_fig, ax):
        if len(values):
            ax.hist(values, bins=min(50, max(10, len(values) // 5)), color="tab:blue")
        ax.axvline(0, color="grey", linestyle="--")
        ax.set(xlabel="masked-LM log-likelihood ratio, ALT vs REF", ylabel="alleles",
               title=f"{model_id}: {len(values)} alleles scored")

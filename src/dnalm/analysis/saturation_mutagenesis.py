"""`dnalm saturation-mutagenesis`: every possible SNV of some regions, scored as `variant-effects` scores a VCF's
(masked-LM log-likelihood ratio ALT vs REF, both strands), with a mutation map per region (the kind of DNABERT
Fig. 6) and a tidy table."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dnalm.analysis.allele_scores import STATUS
from dnalm.analysis.genome_scoring import alleles_by_run, check_models, score_with_models
from dnalm.analysis.vcf import Allele
from dnalm.core.errors import InputError
from dnalm.core.logs import log
from dnalm.core.outputs import write_json, write_tsv
from dnalm.core.plotting import figure
from dnalm.evaluation.genome_tasks import fetch
from dnalm.genome.bed import read_bed

BASES = "ACGT"


def saturation_mutagenesis(model_dir: Path, genome_dir: Path, regions: Path, out: Path, *, model_id: str,
                           classifier: Path | None, positive: int, window: int, batch_size: int, max_region_bp: int,
                           maps: int, resume_dir: Path | None = None) -> dict:
    """Score the 3 SNVs of every position of every region; write `mutagenesis.tsv` (one row per SNV),
    `positions.tsv` (per position: the mean score of its 3 SNVs) and `maps/<region>_mutations.png` for the first `maps`
    regions. With `classifier`, its scores too (in the table)."""
    check_models(model_dir, classifier)
    intervals = read_bed(regions, "--regions")
    long = [f"{c}:{s}-{e}" for c, s, e in intervals if e - s > max_region_bp]
    if long:
        raise InputError(f"--regions {regions}: {long[0]} is longer than --max-region-bp {max_region_bp} "
                         f"({len(long)} such regions); 3 SNVs a base add up")
    sequences = fetch(genome_dir, intervals)
    missing = [f"{c}:{s}-{e}" for (c, s, e), seq in zip(intervals, sequences) if seq is None]
    if missing:
        raise InputError(f"--regions {regions}: {missing[0]} is not inside one N-free run of the genome (an N gap, "
                         f"a contig end or a contig the genome lacks; {len(missing)} such regions)")
    alleles = [Allele(record=p, alt_index=j, chrom=c, start=s + i, ref=seq[i], alt=alt, vid=f"{c}:{s}-{e}")
               for p, ((c, s, e), seq, i) in enumerate((iv, sq, i) for iv, sq in zip(intervals, sequences)
                                                        for i in range(len(sq)))
               for j, alt in enumerate(b for b in BASES if b != seq[i])]
    by_run = alleles_by_run(genome_dir, alleles, {})
    scores, fields = score_with_models(genome_dir, alleles, by_run, model_dir=model_dir, classifier=classifier,
                                       positive=positive, window=window, batch_size=batch_size,
                                       resume_dir=resume_dir)
    _check_fit(alleles, scores, window)
    out.mkdir(parents=True, exist_ok=True)
    write_tsv(out / "mutagenesis.tsv", ["region", "chrom", "pos", "ref", "alt", *fields],
              [[a.vid, a.chrom, a.start + 1, a.ref, a.alt, *(scores[(a.record, a.alt_index)][f] for f in fields)]
               for a in alleles])
    per_position = _per_position(alleles, scores)
    write_tsv(out / "positions.tsv", ["region", "chrom", "pos", "ref", "mean_mlm_llr", "min_mlm_llr"], per_position)
    for (c, s, e), seq in list(zip(intervals, sequences))[:maps]:
        _map(alleles, scores, f"{c}:{s}-{e}", seq, model_id, out / "maps" / f"{c}_{s}_{e}_mutations.png")
    summary = {"model": model_id, "regions": len(intervals), "snvs": len(alleles), "window": window,
               "mlm_llr_median": float(np.median([s["mlm_llr"] for s in scores.values()]))}
    write_json(out / "summary.json", summary)
    log.info("%s: %d SNVs of %d regions scored", model_id, len(alleles), len(intervals))
    return summary


def _check_fit(alleles: list[Allele], scores: dict[tuple[int, int], dict], window: int) -> None:
    """Every SNV scored: an SNV's ALT window is as long as its REF window, so one that does not fit the model
    (a BPE segmentation a token longer) is --window's to fix, and a map with a hole would look complete."""
    unfit = [a for a in alleles if STATUS in scores[(a.record, a.alt_index)]]
    if unfit:
        why = scores[(unfit[0].record, unfit[0].alt_index)][STATUS]
        raise InputError(f"--window {window}: SNV {unfit[0].name}: {why} ({len(unfit)} such SNVs); give a smaller "
                         "--window")


def _per_position(alleles: list[Allele], scores: dict[tuple[int, int], dict]) -> list[list]:
    """One row per position: its region, place, REF and the mean and lowest score of its 3 SNVs."""
    rows: dict[int, list] = {}
    for a in alleles:
        value = scores[(a.record, a.alt_index)]["mlm_llr"]
        row = rows.setdefault(a.record, [a.vid, a.chrom, a.start + 1, a.ref, []])
        row[4].append(value)
    return [[*row[:4], float(np.mean(row[4])), float(np.min(row[4]))] for row in rows.values()]


#: What each mutation map panel shows: the score, and its colour bar's meaning.
PANELS = {"mlm_llr": "masked-LM log-likelihood ratio (red: ALT less likely)",
          "cls_diff": "classifier: change of P(positive class) (red: ALT lowers it)"}


def _map(alleles: list[Allele], scores: dict[tuple[int, int], dict], region: str, seq: str, model_id: str,
         path: Path) -> None:
    """Rows A, C, G, T, one column per position: the score of that SNV (REF's own cell grey); a panel per score
    (the classifier's under the masked-LM's where one was given)."""
    from matplotlib import colormaps

    start = next(a.start for a in alleles if a.vid == region)
    panels = [f for f in PANELS if f in next(iter(scores.values()))]
    path.parent.mkdir(exist_ok=True)
    with figure(path, len(panels), 1, figsize=(min(18, max(8, 2 + 0.12 * len(seq))), 0.4 + 2.6 * len(panels)),
                squeeze=False) as (fig, axes):
        fig.suptitle(f"{model_id}: every SNV of {region} (grey: REF)", fontsize=10)
        for ax, field in zip(axes[:, 0], panels):
            grid = np.full((4, len(seq)), np.nan)
            for a in alleles:
                if a.vid == region:
                    grid[BASES.index(a.alt), a.start - start] = scores[(a.record, a.alt_index)][field]
            limit = float(np.nanmax(np.abs(grid))) or 1.0
            cmap = colormaps["RdBu"].with_extremes(bad="lightgrey")  # REF's own cells
            image = ax.imshow(grid, aspect="auto", cmap=cmap, vmin=-limit, vmax=limit, interpolation="nearest")
            ax.set_yticks(range(4), list(BASES))
            if len(seq) <= 80:
                ax.set_xticks(range(len(seq)), list(seq), fontsize=6)
            ax.set(xlabel=f"{region} (REF along the axis)" if len(seq) <= 80 else f"{region}, position",
                   title=PANELS[field])
            fig.colorbar(image, ax=ax, fraction=0.03, pad=0.01, format="%.2g")  # no offset text over the title

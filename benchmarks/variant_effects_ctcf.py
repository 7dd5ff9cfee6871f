"""Do masked-LM scores call mutations of bound CTCF sites more damaging than mutations of their flanks?

    python benchmarks/variant_effects_ctcf.py [--steps 800] [--flank 30] [--sites 40]

The bundled human window (hg19 chr22:20-21 Mb): a tiny BERT pretrained on its BPE-600 windows (`--steps`),
CTCF motif sites (JASPAR MA0139.1, FIMO-style scan at p < 1e-4) inside the window's CTCF ChIP-seq peaks,
`dnalm saturation-mutagenesis` over each site and `--flank` bp either side. Per site, the mean score of the
SNVs at the motif's positions against the mean of those in its flanks; one-sided Wilcoxon signed-rank test
over sites (motif more negative: ALT less likely there), and the same for the 6 motif positions with the
highest information content (the core). This is a measurement, not a test: the result is reported as found.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess

import numpy as np
from common import DNALM, ROOT, WORK, machine, write_results
from data_pipeline import chain

ANNOTATION = ROOT / "assets" / "test" / "annotation"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--flank", type=int, default=30)
    parser.add_argument("--sites", type=int, default=40)
    args = parser.parse_args()
    from scipy.stats import wilcoxon

    from dnalm.evaluation.genome_tasks import read_jaspar, scan_motif
    from dnalm.genome.intervals import read_merged

    tokenized, train = chain()
    genome = WORK / "pipeline" / "genome"
    base = WORK / "variant_effects_ctcf"
    model = base / "model" / "model"
    if not model.is_dir():
        shutil.rmtree(base, ignore_errors=True)
        subprocess.run(DNALM + ["pretrain", "--tokenized", str(tokenized), "--windows", str(train.parent),
                                "--checkpoint-dir", str(base / "ck"), "--max-steps", str(args.steps),
                                "--save-steps", str(args.steps), "--out", str(base / "model")], check=True)
    pwm = read_jaspar(ANNOTATION / "JASPAR2022_MA0139.1_CTCF.jaspar")
    peaks = read_merged(ANNOTATION / "hg19_chr22_20-21Mb.ctcf_peaks.bed", "--peaks")
    bound = [h for h in scan_motif(genome, pwm) if _inside(peaks, h[0], h[1], h[2])][:args.sites]
    regions = base / "regions.bed"
    regions.write_text("".join(f"{c}\t{s - args.flank}\t{e + args.flank}\n" for c, s, e, _, _ in bound))
    shutil.rmtree(base / "mutagenesis", ignore_errors=True)
    subprocess.run(DNALM + ["saturation-mutagenesis", "--model", str(model), "--genome", str(genome), "--regions",
                            str(regions), "--maps", "4", "--out", str(base / "mutagenesis")], check=True)
    positions = [line.split("\t") for line in (base / "mutagenesis" / "positions.tsv").read_text().splitlines()[1:]]
    info = 2 + (pwm * np.log2(np.maximum(pwm, 1e-9))).sum(0)  # bits per motif position
    core = set(np.argsort(info)[-6:].tolist())
    rows = []
    for c, s, e, strand, p in bound:
        scores = {int(r[2]) - 1: float(r[4]) for r in positions if r[0] == f"{c}:{s - args.flank}-{e + args.flank}"}
        motif = [scores[s + i] for i in range(e - s)]
        in_core = [scores[s + (i if strand == "+" else e - s - 1 - i)] for i in core]
        flank = [v for pos, v in scores.items() if not s <= pos < e]
        rows.append({"site": f"{c}:{s}-{e}", "strand": strand, "p": p, "motif": float(np.mean(motif)),
                     "core": float(np.mean(in_core)), "flank": float(np.mean(flank))})
    motif_d = np.array([r["motif"] - r["flank"] for r in rows])
    core_d = np.array([r["core"] - r["flank"] for r in rows])
    tests = {name: {"median_difference": float(np.median(d)), "sites_lower": int((d < 0).sum()), "sites": len(d),
                    "wilcoxon_p_one_sided": float(wilcoxon(d, alternative="less").pvalue)}
             for name, d in (("motif", motif_d), ("core", core_d))}
    result = {"machine": machine(), "steps": args.steps, "flank": args.flank, "sites": rows, "tests": tests}
    md = ["## Variant effects at bound CTCF sites (masked-LM, CPU, tiny preset)\n",
          f"{len(rows)} CTCF motif sites in ChIP-seq peaks of the bundled window, each with {args.flank} bp "
          f"flanks; a tiny BERT pretrained {args.steps} steps on the window's BPE-600 windows. Per site: mean "
          "masked-LM score (mean of the 3 SNVs per position) in the motif (or its 6 most informative positions) "
          "minus the mean in the flanks; one-sided Wilcoxon signed-rank over sites.\n",
          "| positions | median difference | sites lower than flanks | one-sided p |", "|---|---|---|---|"]
    md += [f"| {name} | {t['median_difference']:.3f} | {t['sites_lower']} of {t['sites']} | "
           f"{t['wilcoxon_p_one_sided']:.3g} |" for name, t in tests.items()]
    write_results("variant_effects_ctcf", result, "\n".join(md) + "\n")
    print(json.dumps(tests, indent=1))


def _inside(peaks: dict, contig: str, start: int, end: int) -> bool:
    from dnalm.genome.intervals import contains

    return contig in peaks and bool(contains(peaks[contig], np.array([(start + end) // 2]))[0])


if __name__ == "__main__":
    main()

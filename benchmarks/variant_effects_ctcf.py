"""Do variant scores call mutations of bound CTCF sites more damaging than mutations of their flanks?

    python benchmarks/variant_effects_ctcf.py [--steps 800] [--flank 30] [--sites 40]

The bundled human window (hg19 chr22:20-21 Mb): a tiny BERT pretrained on its BPE-600 windows (`--steps`),
and that model fine-tuned on the window's CTCF task (`task-ctcf`, 1,000 bp windows; `finetune --save-model`);
CTCF motif sites (JASPAR MA0139.1, FIMO-style scan at p < 1e-4) inside the window's CTCF ChIP-seq peaks;
`dnalm saturation-mutagenesis --classifier` over each site and `--flank` bp either side, in 1,000 bp windows.
Per site and score (masked-LM `mlm_llr`; classifier `cls_diff`, the change of the bound probability), the
mean over the SNVs at the motif's positions against the mean over those in its flanks; one-sided Wilcoxon
signed-rank test over sites (motif lower: more damaging), and the same for the 6 motif positions with the
highest information content (the core). A measurement, not a test: the result is reported as found.
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

    genome, base, model = ctcf_classifier(args.steps)
    finetuned = json.loads((base / "ft" / "metrics.json").read_text())
    pwm = read_jaspar(ANNOTATION / "JASPAR2022_MA0139.1_CTCF.jaspar")
    peaks = read_merged(ANNOTATION / "hg19_chr22_20-21Mb.ctcf_peaks.bed", "--peaks")
    bound = [h for h in scan_motif(genome, pwm) if _inside(peaks, h[0], h[1], h[2])][:args.sites]
    regions = base / "regions.bed"
    regions.write_text("".join(f"{c}\t{s - args.flank}\t{e + args.flank}\n" for c, s, e, _, _ in bound))
    shutil.rmtree(base / "mutagenesis", ignore_errors=True)
    subprocess.run(DNALM + ["saturation-mutagenesis", "--model", str(model), "--classifier",
                            str(base / "ft" / "seed42" / "model"), "--genome", str(genome), "--regions", str(regions),
                            "--window", "1000", "--maps", "4", "--out", str(base / "mutagenesis")], check=True)
    table = [dict(zip(header, line.split("\t"))) for text in [(base / "mutagenesis" / "mutagenesis.tsv").read_text()]
             for header in [text.splitlines()[0].split("\t")] for line in text.splitlines()[1:]]
    info = 2 + (pwm * np.log2(np.maximum(pwm, 1e-9))).sum(0)  # bits per motif position
    core = set(np.argsort(info)[-6:].tolist())
    tests = {}
    for score in ("mlm_llr", "cls_diff"):
        diffs = {"motif": [], "core": []}
        for c, s, e, strand, _ in bound:
            region = f"{c}:{s - args.flank}-{e + args.flank}"
            by_pos: dict[int, list[float]] = {}
            for r in table:
                if r["region"] == region:
                    by_pos.setdefault(int(r["pos"]) - 1, []).append(float(r[score]))
            mean = {pos: float(np.mean(v)) for pos, v in by_pos.items()}
            flank = np.mean([v for pos, v in mean.items() if not s <= pos < e])
            diffs["motif"].append(np.mean([mean[s + i] for i in range(e - s)]) - flank)
            diffs["core"].append(np.mean([mean[s + (i if strand == "+" else e - s - 1 - i)] for i in core]) - flank)
        for name, d in diffs.items():
            d = np.array(d)
            tests[f"{score} {name}"] = {"median_difference": float(np.median(d)), "sites_lower": int((d < 0).sum()),
                                        "sites": len(d),
                                        "wilcoxon_p_one_sided": float(wilcoxon(d, alternative="less").pvalue)}
    result = {"machine": machine(), "steps": args.steps, "flank": args.flank, "sites": len(bound),
              "classifier_test_mcc": finetuned["mcc"], "classifier_test_roc_auc": finetuned.get("roc_auc"),
              "tests": tests}
    md = ["## Variant effects at bound CTCF sites (CPU, tiny preset)\n",
          f"{len(bound)} CTCF motif sites in ChIP-seq peaks of the bundled window, each with {args.flank} bp "
          f"flanks, in 1,000 bp windows; a tiny BERT pretrained {args.steps} steps on the window's BPE-600 windows "
          f"(`mlm_llr`), and fine-tuned on its CTCF task (`cls_diff`; test MCC {finetuned['mcc']:.3f}). Per site: "
          "the mean score (over the 3 SNVs of each position) in the motif, or its 6 most informative positions, "
          "minus the mean in the flanks; one-sided Wilcoxon signed-rank over sites (lower: more damaging).\n",
          "| score, positions | median difference | sites lower than flanks | one-sided p |", "|---|---|---|---|"]
    md += [f"| {name} | {t['median_difference']:.3g} | {t['sites_lower']} of {t['sites']} | "
           f"{t['wilcoxon_p_one_sided']:.3g} |" for name, t in tests.items()]
    write_results("variant_effects_ctcf", result, "\n".join(md) + "\n")
    print(json.dumps(tests, indent=1))


def ctcf_classifier(steps: int):
    """(genome, workspace, pretrained model): a tiny BERT pretrained `steps` steps on the bundled window, and
    its CTCF task (`ctcf/`) and classifier (`ft/`, kept), made once per workspace."""
    tokenized, train = chain()
    genome = WORK / "pipeline" / "genome"
    base = WORK / "variant_effects_ctcf"
    model = base / "model" / "model"
    if not model.is_dir():
        shutil.rmtree(base, ignore_errors=True)
        subprocess.run(DNALM + ["pretrain", "--tokenized", str(tokenized), "--windows", str(train.parent),
                                "--checkpoint-dir", str(base / "ck"), "--max-steps", str(steps),
                                "--save-steps", str(steps), "--out", str(base / "model")], check=True)
    if not (base / "ft").is_dir():
        subprocess.run(DNALM + ["task-ctcf", "--genome", str(genome), "--motif",
                                str(ANNOTATION / "JASPAR2022_MA0139.1_CTCF.jaspar"), "--peaks",
                                str(ANNOTATION / "hg19_chr22_20-21Mb.ctcf_peaks.bed"), "--out", str(base / "ctcf")],
                       check=True)
        subprocess.run(DNALM + ["finetune", "--model", str(model), "--data", str(base / "ctcf"), "--save-model",
                                "--out", str(base / "ft")], check=True)
    return genome, base, model


def _inside(peaks: dict, contig: str, start: int, end: int) -> bool:
    from dnalm.genome.intervals import contains

    return contig in peaks and bool(contains(peaks[contig], np.array([(start + end) // 2]))[0])


if __name__ == "__main__":
    main()

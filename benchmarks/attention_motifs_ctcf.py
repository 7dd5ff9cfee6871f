"""Does `attention-motifs` recover CTCF (JASPAR MA0139.1) from the bundled window's CTCF classifier?

    python benchmarks/attention_motifs_ctcf.py [--steps 800]

The classifier of `variant_effects_ctcf.py` (a tiny BERT pretrained `--steps` steps on the bundled window's
BPE-600 windows, fine-tuned on its CTCF task), read by `dnalm attention-motifs` against both backgrounds: the
task's negatives (unbound CTCF motif sites) and dinucleotide-shuffled positives. Reported per background: how
the classifier separates the classes, how flat its attention is, how many k-mers are enriched, each motif's
best JASPAR match, and which motifs have a CTCF matrix (not its paralog CTCFL) among their three closest. A measurement, not a
test: the result is reported as found.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess

from common import DNALM, ROOT, machine, write_results
from variant_effects_ctcf import ctcf_classifier

JASPAR = ROOT / "assets" / "motifs" / "JASPAR2022_hg19genome.jaspar.gz"


def run(base, background: str) -> dict:
    out = base / f"motifs_{background}"
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run(DNALM + ["attention-motifs", "--classifier", str(base / "ft"), "--data", str(base / "ctcf"),
                            "--jaspar", str(JASPAR), "--background", background, "--model-id", "ctcf",
                            "--out", str(out)], check=True)
    summary = json.loads((out / "summary.json").read_text())
    with open(out / "motifs.tsv") as fh:
        motifs = list(csv.DictReader(fh, delimiter="\t"))
    with open(out / "attention_profile.tsv") as fh:
        profile = [float(r["positives"]) for r in csv.DictReader(fh, delimiter="\t")]
    closest = {m["motif"]: [m["best_match"]] + [n.rsplit(" (", 1)[0] for n in m["next_matches"].split("; ") if n]
               for m in motifs}
    ctcf = [name for name, matches in closest.items() if any(match.split()[1] == "CTCF" for match in matches)]
    return {"summary": summary, "attention_min_max": [min(profile), max(profile)], "ctcf_motifs": ctcf,
            "motifs": [{k: m[k] for k in ("motif", "consensus", "instances", "seed_q_value", "best_match",
                                          "best_match_p")} for m in motifs]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=800)
    args = parser.parse_args()
    _, base, _ = ctcf_classifier(args.steps)
    finetuned = json.loads((base / "ft" / "metrics.json").read_text())
    found = {background: run(base, background) for background in ("negatives", "shuffled")}
    result = {"machine": machine(), "steps": args.steps, "classifier_test_mcc": finetuned["mcc"],
              "classifier_test_roc_auc": finetuned.get("roc_auc"), "backgrounds": found}
    md = ["## Attention motifs of the CTCF classifier (CPU, tiny preset)\n",
          f"The bundled window's CTCF task (403 sites, 83 bound); a tiny BERT pretrained {args.steps} steps and "
          f"fine-tuned on it (test MCC {finetuned['mcc']:.3f}); `dnalm attention-motifs` with the bundled 853 "
          "JASPAR 2022 matrices.\n",
          "| background | P(bound): bound / unbound | attention along positives (min, max; 1 uniform) | enriched "
          "k-mers | motifs | with CTCF among their 3 closest | best matches |", "|---|---|---|---|---|---|---|"]
    for background, f in found.items():
        s, (lo, hi) = f["summary"], f["attention_min_max"]
        p = s["mean_positive_probability"]
        md.append(f"| {background} | {p['positives']:.3f} / {p['negatives']:.3f} | {lo:.2f}, {hi:.2f} | "
                  f"{s['enriched_kmers']} of {s['candidate_kmers']} | {s['motifs']} | {len(f['ctcf_motifs'])} | "
                  f"{'; '.join(m['best_match'] + ' (' + m['consensus'] + ')' for m in f['motifs'][:5]) or '-'} |")
    write_results("attention_motifs_ctcf", result, "\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()

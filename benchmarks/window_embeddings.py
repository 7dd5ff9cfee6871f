"""Genome-window embeddings: `dnalm window-embeddings` vs the usual HF script, one run, two genome sizes.

    python benchmarks/window_embeddings.py

A tiny BERT (BPE 600, learned on the human window) embeds consecutive 510-token windows of the human window
(0.9 Mbp) and of E. coli (4.9 Mbp) on the CPU. The peer is what a user would write with HF alone: decode
every window to text, keep all of them, tokenize with the model's `AutoTokenizer` padded to 512, and keep
every [CLS] vector in a list. Both run in child processes under GNU time (wall clock, peak RSS). dnalm's
time includes its UMAP and the result files; the peer does neither.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from common import DNALM, ROOT, WORK, machine, prepared, write_results

PEER = '''
import sys, time, numpy as np, torch
from transformers import AutoModel, AutoTokenizer
from dnalm.vocab.tokenized import TokenizedGenome
from dnalm.analysis.window_embeddings import iter_windows
model_dir, tokenized = sys.argv[1:3]
genome = TokenizedGenome.open(tokenized)
texts = [genome.vocab.decode(ids) for *_, ids in iter_windows(genome, 510, 50)]
tok = AutoTokenizer.from_pretrained(model_dir)
model = AutoModel.from_pretrained(model_dir).eval()
out = []
with torch.no_grad():
    for lo in range(0, len(texts), 16):
        batch = tok(texts[lo:lo + 16], padding="max_length", truncation=True, max_length=512, return_tensors="pt")
        out.append(model(**batch).last_hidden_state[:, 0].numpy())
print(len(np.concatenate(out)))
'''


def timed(cmd: list[str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MB, stdout) of a child process under GNU time."""
    with tempfile.NamedTemporaryFile(suffix=".txt") as report:
        proc = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", report.name, *cmd], check=True,
                              capture_output=True, text=True)
        wall, rss = Path(report.name).read_text().split()[-2:]
    return float(wall), int(rss) / 1024, proc.stdout


def main() -> None:
    base = WORK / "window_embeddings"
    human = prepared("human_window", ROOT / "assets" / "test" / "hg19_chr22_20-21Mb.fa.gz")
    ecoli = prepared("ecoli", ROOT / "assets" / "test" / "ecoli_536_NC_008253.fa.gz")
    if not (base / "model").exists():
        for cmd in (["vocab-sweep", "--genome", human, "--cycles", "600", "--out", base / "vocabs"],
                    ["tokenize-genome", "--genome", human, "--vocab", base / "vocabs" / "bpe_600", "--out", base / "tok_human"],
                    ["make-windows", "--tokenized", base / "tok_human", "--out", base / "windows"],
                    ["pretrain", "--tokenized", base / "tok_human", "--windows", base / "windows", "--checkpoint-dir",
                     base / "ck", "--max-steps", "5", "--out", base / "model"]):
            subprocess.run(DNALM + [str(c) for c in cmd], check=True, capture_output=True)
    model = base / "model" / "model"
    rows = []
    for name, genome in (("human chr22 window (0.9 Mbp)", human), ("E. coli 536 (4.9 Mbp)", ecoli)):
        tokenized = base / f"tok_{genome.name}"
        if not tokenized.exists():
            subprocess.run(DNALM + ["tokenize-genome", "--genome", str(genome), "--vocab",
                                    str(base / "vocabs" / "bpe_600"), "--out", str(tokenized)], check=True,
                           capture_output=True)
        out = base / f"out_{genome.name}"
        subprocess.run(["rm", "-rf", str(out)], check=True)
        wall, rss, _ = timed(DNALM + ["window-embeddings", "--model", str(model), "--tokenized", str(tokenized),
                                      "--out", str(out)])
        summary = json.loads((out / "window_embeddings.json").read_text())
        windows = summary["windows"]
        peer_wall, peer_rss, printed = timed([sys.executable, "-c", PEER, str(model), str(tokenized)])
        assert int(printed.split()[-1]) == windows
        rows.append({"genome": name, "windows": windows, "dnalm_s": wall, "dnalm_windows_per_s": windows / wall,
                     "dnalm_embedding_windows_per_s": summary["windows_per_second"],
                     "dnalm_rss_mb": rss, "peer_s": peer_wall, "peer_windows_per_s": windows / peer_wall,
                     "peer_rss_mb": peer_rss, "speed_ratio": peer_wall / wall, "memory_ratio": rss / peer_rss})
    lines = ["# Genome-window embeddings (tiny BERT, CPU)", "", f"Machine: {machine()}", "",
             "| genome | windows | dnalm windows/s (embedding loop) | dnalm windows/s (whole step) | peer windows/s "
             "| dnalm / peer speed (whole) | dnalm MB | peer MB |",
             "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['genome']} | {r['windows']} | {r['dnalm_embedding_windows_per_s']:.1f} | "
              f"{r['dnalm_windows_per_s']:.1f} | {r['peer_windows_per_s']:.1f} | "
              f"{r['speed_ratio']:.2f}x | {r['dnalm_rss_mb']:.0f} | {r['peer_rss_mb']:.0f} |" for r in rows]
    write_results("window_embeddings", {"machine": machine(), "rows": rows}, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

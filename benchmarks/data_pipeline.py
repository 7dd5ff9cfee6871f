"""Pretraining data pipeline: window sampling + collation + masking, dnalm vs HF's collator, one run.

    python benchmarks/data_pipeline.py [--windows 200000] [--batch 64]

Windows of the bundled human window (BPE 600) are drawn uniformly at random from the train split and
collated into masked-LM batches (torch tensors), in one process. The peer is the usual HF pipeline: the
same windows' ids through `DataCollatorForLanguageModeling` (which pads and masks per batch).
"""

from __future__ import annotations

import argparse
import subprocess
import time

import numpy as np
from common import DNALM, ROOT, WORK, machine, write_results


def chain() -> tuple:
    base = WORK / "pipeline"
    if not (base / "windows").exists():
        fasta = ROOT / "assets" / "test" / "hg19_chr22_20-21Mb.fa.gz"
        for cmd in (["prepare-genome", "--fasta", fasta, "--out", base / "genome"],
                    ["vocab-sweep", "--genome", base / "genome", "--cycles", "600", "--out", base / "vocabs"],
                    ["tokenize-genome", "--genome", base / "genome", "--vocab", base / "vocabs" / "bpe_600",
                     "--out", base / "tokenized"],
                    ["make-windows", "--tokenized", base / "tokenized", "--out", base / "windows"]):
            subprocess.run(DNALM + [str(c) for c in cmd], check=True, capture_output=True)
    return base / "tokenized", base / "windows" / "train.npy"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    from transformers import DataCollatorForLanguageModeling, PreTrainedTokenizerFast

    from dnalm.pretraining.data import MlmCollator, WindowDataset

    tokenized, train = chain()
    data = WindowDataset(tokenized, train)
    order = np.random.default_rng(0).integers(0, len(data), size=args.windows)
    batches = [order[i:i + args.batch] for i in range(0, len(order), args.batch)]
    vocab_size = len(data.genome.vocab)

    collator = MlmCollator(vocab_size, 0.15, seed=0)
    t0 = time.perf_counter()
    for batch in batches:
        collator([data[i] for i in batch])
    ours = args.windows / (time.perf_counter() - t0)

    hf_tok = PreTrainedTokenizerFast(tokenizer_file=str(tokenized / "vocab" / "tokenizer.json"), pad_token="[PAD]",
                                     mask_token="[MASK]", cls_token="[CLS]", sep_token="[SEP]", unk_token="[UNK]")
    hf = DataCollatorForLanguageModeling(hf_tok, mlm_probability=0.15)
    t0 = time.perf_counter()
    for batch in batches:
        hf([{"input_ids": [2] + data[i][1].tolist() + [3]} for i in batch])
    peer = args.windows / (time.perf_counter() - t0)

    result = {"machine": machine(), "windows": args.windows, "batch": args.batch,
              "dnalm_windows_per_s": round(ours), "hf_collator_windows_per_s": round(peer),
              "ratio": round(ours / peer, 1), "mean_window_tokens": float(data.rows[order, 2].mean())}
    md = ("## Pretraining data pipeline (one process)\n\n"
          f"Random windows of the human test window (BPE 600, mean {result['mean_window_tokens']:.0f} tokens), "
          f"batches of {args.batch}, {args.windows} windows, masked LM at 15 %.\n\n"
          "| pipeline | windows/s |\n|---|---|\n"
          f"| dnalm (memory-mapped windows, numpy collation and masking) | {result['dnalm_windows_per_s']} |\n"
          f"| HF DataCollatorForLanguageModeling on the same ids | {result['hf_collator_windows_per_s']} |\n"
          f"| ratio | {result['ratio']}x |\n")
    write_results("data_pipeline", result, md)


if __name__ == "__main__":
    main()

"""Variant scoring speed on the CPU: `dnalm variant-effects`' scoring against a plain HF loop, same model, one run.

    python benchmarks/variant_effects_speed.py [--variants 500] [--indels 10] [--steps 100] [--window 500]
        [--batch-size 32] [--repeats 3] [--block 32] [--threads N]

The bundled human window (hg19 chr22:20-21 Mb, prepared and BPE-600 tokenized as in data_pipeline.py), a tiny
BERT pretrained `--steps` steps on its windows (speed does not depend on how well it is trained), and a VCF of
`--variants` random SNVs (seeded, REF read from the prepared genome, so outside the N gap) plus `--indels` short
insertions and deletions. Timed, from the alleles in memory to their scores, with each model loaded beforehand:
dnalm's `genome_scoring.score_in_genome` with its masked-LM scorer (what `variant-effects` runs between reading the
VCF and writing its outputs: windows streamed from the genome, `--batch-size` alleles per step, their 4 rows, REF
and ALT on both strands, in padded batches), and the peer, the loop one writes with plain HF: `BertForMaskedLM`
loaded once, then per allele its REF and ALT windows (the same windows), each strand tokenized with the dnalm
vocabulary (HF cannot tokenize it), the differing tokens masked, one forward pass per allele window per strand at
batch size 1, the same score. Both run in this process at the same torch thread count, alternating every
`--block` alleles (each block streams the genome anew in both, 5 ms), `--repeats` times over all alleles; the
median and best total time of each are reported, and the median over blocks of their ratio of times, which a
slow spell of this shared machine hardly moves, as it slows both loops of a block alike. The scores of both are
compared (max |difference|), so the two do the same work. `variant_effects()` end to end (VCF read, REF check,
model load, scoring, TSV, VCF, plot) is timed once besides.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import time
from pathlib import Path

import numpy as np
from common import CORES, DNALM, WORK, machine, write_results
from data_pipeline import chain

BASE = WORK / "variant_effects_speed"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=500, help="random SNVs")
    parser.add_argument("--indels", type=int, default=10, help="short indels, half insertions, half deletions")
    parser.add_argument("--steps", type=int, default=100, help="pretraining steps of the tiny model")
    parser.add_argument("--window", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--block", type=int, default=32, help="alleles per turn of each loop when alternating")
    parser.add_argument("--threads", type=int, default=CORES)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    import torch
    from transformers import BertForMaskedLM

    from dnalm.analysis.genome_scoring import alleles_by_run, masked_lm_scorer
    from dnalm.analysis.vcf import read_alleles
    from dnalm.vocab.vocabulary import Vocabulary

    torch.set_num_threads(args.threads)
    tokenized, _ = chain()
    genome = WORK / "pipeline" / "genome"
    model_dir = pretrained(tokenized, args.steps)
    vcf = write_variants(genome, BASE / "variants.vcf", args.variants, args.indels, args.seed)
    contigs = {row["contig"] for row in json.loads((genome / "genome_stats.json").read_text())["per_contig"]}
    alleles, unscorable = read_alleles(vcf, contigs, vcf)
    by_run = alleles_by_run(genome, alleles, unscorable)
    assert not unscorable, unscorable
    scorer = masked_lm_scorer(model_dir, args.batch_size)
    vocab, peer = Vocabulary.load(model_dir), BertForMaskedLM.from_pretrained(model_dir).eval()

    def ours(runs: dict) -> dict:
        return dnalm_scores(genome, runs, scorer, args.window, args.batch_size)

    def theirs(runs: dict) -> dict:
        return peer_scores(genome, runs, peer, vocab, args.window)

    warm = {index: run_alleles[:8] for index, run_alleles in by_run.items()}  # first calls: allocator, kernels
    ours(warm), theirs(warm)
    times, scores = timed({"dnalm": ours, "hf": theirs}, blocks(by_run, args.block), args.repeats)
    difference = max_difference(scores["dnalm"], scores["hf"])
    assert difference < 1e-3, f"dnalm and the HF loop disagree by {difference}"
    end_to_end = time_end_to_end(model_dir, genome, vcf, args.window, args.batch_size)
    report(args, len(alleles), times, difference, end_to_end, model_dir, torch.__version__)


def blocks(by_run: dict, size: int) -> list[dict]:
    """The alleles in blocks of `size` (by run, as `score_in_genome` takes them), in genome order."""
    flat = [(index, a) for index, run_alleles in sorted(by_run.items()) for a in run_alleles]
    found = []
    for lo in range(0, len(flat), size):
        block: dict = {}
        for index, a in flat[lo:lo + size]:
            block.setdefault(index, []).append(a)
        found.append(block)
    return found


def timed(loops: dict, parts: list[dict], repeats: int) -> tuple[dict, dict]:
    """Seconds of each loop on each of `parts` (repeat, part), and its scores. The loops alternate part by part,
    in turn first (ABBA), so a slow spell of a shared machine (seen here: runs up to 10x slower for tens of
    seconds) falls on both rather than on one loop's whole repeat."""
    times = {name: [[0.0] * len(parts) for _ in range(repeats)] for name in loops}
    scores: dict[str, dict] = {name: {} for name in loops}
    for r in range(repeats):
        for i, part in enumerate(parts):
            for name in (list(loops) if (r + i) % 2 == 0 else list(loops)[::-1]):
                t0 = time.perf_counter()
                scores[name].update(loops[name](part))
                times[name][r][i] = time.perf_counter() - t0
    return times, scores


def pretrained(tokenized: Path, steps: int) -> Path:
    """A tiny model pretrained `steps` steps on the bundled window's windows (as variant_effects_ctcf.py does),
    cached per step count under WORK."""
    out, checkpoints = BASE / f"model_{steps}", BASE / f"checkpoints_{steps}"
    if not (out / "model").is_dir():
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(checkpoints, ignore_errors=True)
        subprocess.run(DNALM + ["pretrain", "--tokenized", str(tokenized), "--windows",
                                str(WORK / "pipeline" / "windows"), "--checkpoint-dir", str(checkpoints),
                                "--max-steps", str(steps), "--save-steps", str(steps), "--out", str(out)], check=True)
        shutil.rmtree(checkpoints, ignore_errors=True)
    return out / "model"


def write_variants(genome: Path, path: Path, snvs: int, indels: int, seed: int) -> Path:
    """A sorted VCF of random SNVs and short indels (1-5 bp), REF read from the prepared genome's N-free runs:
    every allele is scorable, so both loops score all of them."""
    from dnalm.genome.prepare import iter_runs

    runs = {run.start: run.seq.decode() for run in iter_runs(genome)}
    contig = json.loads((genome / "genome_stats.json").read_text())["per_contig"][0]
    pool = np.concatenate([np.arange(start, start + len(seq) - 10) for start, seq in runs.items()])
    rng = np.random.default_rng(seed)
    positions = sorted(rng.choice(pool, size=snvs + indels, replace=False).tolist())
    kinds = rng.permutation(["snv"] * snvs + ["ins", "del"] * (indels // 2) + ["del"] * (indels % 2))
    records = []
    for i, (pos, kind) in enumerate(zip(positions, kinds)):
        start = max(s for s in runs if s <= pos)
        seq = runs[start][pos - start:pos - start + 6]
        size = int(rng.integers(1, 6))
        if kind == "snv":
            ref, alt = seq[0], str(rng.choice([b for b in "ACGT" if b != seq[0]]))
        elif kind == "ins":
            ref, alt = seq[0], seq[0] + "".join(rng.choice(list("ACGT"), size=size))
        else:
            ref, alt = seq[:size + 1], seq[0]
        records.append(f"{contig['contig']}\t{pos + 1}\t{kind}{i}\t{ref}\t{alt}\t.\tPASS\t.")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"##fileformat=VCFv4.2\n##contig=<ID={contig['contig']},length={contig['length']}>\n"
                    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n" + "\n".join(records) + "\n")
    return path


def dnalm_scores(genome: Path, by_run: dict, scorer, window: int, batch_size: int) -> dict:
    """dnalm's scoring path: `score_in_genome`, which `variant-effects` calls, with the model already loaded."""
    from dnalm.analysis.genome_scoring import score_in_genome

    scores = score_in_genome(genome, by_run, [scorer], window=window, batch_size=batch_size)
    return {key: (s["mlm_llr_forward"], s["mlm_llr_reverse"]) for key, s in scores.items()}


def peer_scores(genome: Path, by_run: dict, model, vocab, window: int) -> dict:
    """The plain HF loop: per allele and strand, REF and ALT each tokenized and run through the model alone."""
    from dnalm.analysis.allele_scores import Tokens, differing
    from dnalm.analysis.genome_scoring import _window
    from dnalm.analysis.span_tokens import dnalm_tokenizer
    from dnalm.evaluation.genome_tasks import reverse_complement
    from dnalm.genome.prepare import iter_runs

    scores, tok = {}, dnalm_tokenizer(vocab)
    for run in iter_runs(genome):
        for allele in by_run.get(run.index, []):
            ref_seq, alt_seq = _window(run, allele, window)  # the same windows as dnalm's
            llr = []
            for ref_strand, alt_strand in ((ref_seq, alt_seq), (reverse_complement(ref_seq),
                                                                reverse_complement(alt_seq))):
                ref, alt = Tokens.of(tok, ref_strand), Tokens.of(tok, alt_strand)
                ref_part, alt_part = differing(ref, alt)
                llr.append(_hf_log_likelihood(model, vocab, alt.ids, alt_part)
                           - _hf_log_likelihood(model, vocab, ref.ids, ref_part))
            scores[(allele.record, allele.alt_index)] = tuple(llr)
    return scores


def _hf_log_likelihood(model, vocab, ids: np.ndarray, part: slice) -> float:
    """Log-likelihood of tokens `part` of one window, all masked at once: a forward pass at batch size 1."""
    import torch

    from dnalm.vocab.vocabulary import SPECIAL_TOKENS

    CLS, SEP, MASK = (SPECIAL_TOKENS.index(t) for t in ("[CLS]", "[SEP]", "[MASK]"))
    row = torch.tensor([CLS, *ids.tolist(), SEP])
    positions = torch.arange(part.start + 1, part.stop + 1)
    masked = row.clone()
    masked[positions] = MASK
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=masked[None]).logits[0].float(), -1)
    return float(logp[positions, row[positions]].sum())


def max_difference(ours: dict, theirs: dict) -> float:
    """Largest |difference| of the per-strand scores of the two loops, over every allele."""
    assert ours.keys() == theirs.keys()
    return float(max(abs(a - b) for key in ours for a, b in zip(ours[key], theirs[key])))


def time_end_to_end(model_dir: Path, genome: Path, vcf: Path, window: int, batch_size: int) -> float:
    """Seconds of `variant_effects()` in this process: what `dnalm variant-effects` does less the CLI start."""
    from dnalm.analysis.variant_effects import variant_effects

    out = BASE / "variant_effects"
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    variant_effects(model_dir, genome, vcf, out, model_id="tiny", classifier=None, positive=1, window=window,
                    batch_size=batch_size)
    return time.perf_counter() - t0


def report(args: argparse.Namespace, alleles: int, times: dict, difference: float, end_to_end: float,
           model_dir: Path, torch_version: str) -> None:
    totals = {name: [sum(parts) for parts in t] for name, t in times.items()}
    median = {name: statistics.median(t) for name, t in totals.items()}
    best = {name: min(t) for name, t in totals.items()}
    rate = {name: alleles / t for name, t in median.items()}
    best_rate = {name: alleles / t for name, t in best.items()}
    paired = [hf / ours for hf_parts, our_parts in zip(times["hf"], times["dnalm"])
              for hf, ours in zip(hf_parts, our_parts)]  # the same alleles, one right after the other
    config = json.loads((model_dir / "config.json").read_text())
    result = {"machine": machine(), "torch": torch_version, "threads": args.threads, "device": "cpu",
              "snvs": args.variants, "indels": args.indels, "alleles": alleles, "window": args.window,
              "batch_size": args.batch_size, "repeats": args.repeats, "block": args.block, "steps": args.steps,
              "model": {k: config.get(k) for k in ("hidden_size", "num_hidden_layers", "num_attention_heads",
                                                   "vocab_size", "max_position_embeddings")},
              "timed": "alleles in memory to scores, models loaded beforehand", "block_seconds": times,
              "seconds": totals, "median_seconds": median, "best_seconds": best,
              "dnalm_variants_per_s": rate["dnalm"], "hf_loop_variants_per_s": rate["hf"],
              "ratio": rate["dnalm"] / rate["hf"], "best_ratio": best_rate["dnalm"] / best_rate["hf"],
              "paired_block_ratio_median": statistics.median(paired),
              "paired_block_ratio_quartiles": [float(q) for q in np.percentile(paired, [25, 75])],
              "max_abs_score_difference": difference,
              "dnalm_end_to_end_s": end_to_end, "dnalm_end_to_end_variants_per_s": alleles / end_to_end}
    m, q = result["model"], result["paired_block_ratio_quartiles"]
    md = ("## Variant scoring speed (CPU, tiny preset)\n\n"
          f"{args.variants} random SNVs and {args.indels} short indels of the human test window, {args.window} bp "
          f"windows, masked-LM log-likelihood ratio ALT vs REF of the differing tokens on both strands; a tiny BERT "
          f"({m['num_hidden_layers']} layers, width {m['hidden_size']}, BPE 600) pretrained {args.steps} steps. "
          f"torch {torch_version}, {args.threads} threads, {machine()['cores']} cores. One process, each model "
          f"loaded beforehand, timed from alleles in memory to scores; the two loops alternate every {args.block} "
          f"alleles, {args.repeats} repeats over all alleles: median (best).\n\n"
          "| scoring | variants/s | s |\n|---|---|---|\n"
          f"| dnalm `variant-effects` scoring (`score_in_genome`, batch size {args.batch_size}) | "
          f"{rate['dnalm']:.1f} ({best_rate['dnalm']:.1f}) | {median['dnalm']:.2f} ({best['dnalm']:.2f}) |\n"
          f"| plain HF loop (`BertForMaskedLM`, one pass per allele window per strand, batch size 1) | "
          f"{rate['hf']:.1f} ({best_rate['hf']:.1f}) | {median['hf']:.2f} ({best['hf']:.2f}) |\n"
          f"| ratio dnalm / HF | {result['ratio']:.2f}x ({result['best_ratio']:.2f}x) | |\n\n"
          f"Ratio of each block's times, HF / dnalm (the same {args.block} alleles, timed one right after the other, "
          f"so robust to the machine's slow spells): median {result['paired_block_ratio_median']:.2f}x, quartiles "
          f"{q[0]:.2f}x-{q[1]:.2f}x over {len(paired)} blocks. "
          f"Max |difference| of the per-strand scores: {difference:.2e}. `variant_effects()` end to end (VCF read, "
          f"REF check, model load, scoring, TSV, VCF and plot), once: {end_to_end:.2f} s, "
          f"{result['dnalm_end_to_end_variants_per_s']:.1f} variants/s.\n")
    write_results("variant_effects_speed", result, md)


if __name__ == "__main__":
    main()

"""BPE training at genome scale: dnalm vs HuggingFace tokenizers vs SentencePiece, same input, one run.

    python benchmarks/bpe_training.py [--merges 5000] [--sizes 50,200,500]

Each tool trains on the same 1 kb chunks of the same prepared genome in its own process, with every core
(dnalm also on one thread, to show what the threads add). Reports training time, peak RSS, whether
dnalm's merges (on every thread count) equal HF's, and the growth of dnalm's cost with input size (slope,
R², projection to the 3.1 Gbp human genome).
"""

from __future__ import annotations

import argparse

from common import CORES, WORK, inputs, linear_fit, machine, run_task, write_results

HUMAN_MBP = 3100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--merges", type=int, default=5000)
    parser.add_argument("--sizes", default="50,200,500", help="Markov genome sizes (Mbp) for the growth fit")
    parser.add_argument("--peers-up-to", type=int, default=200, help="largest input (Mbp) the peers run on")
    args = parser.parse_args()
    sizes = tuple(int(s) for s in args.sizes.split(",") if s)
    rows = []
    for name, genome in inputs(sizes).items():
        bp = _genome_bp(genome)
        row = {"input": name, "mbp": round(bp / 1e6, 2)}
        ours = run_task("bpe_dnalm", genome, args.merges, CORES)
        one = run_task("bpe_dnalm", genome, args.merges, 1)
        row["dnalm"], row["dnalm_1_thread"] = _summary(ours), _summary(one)
        row["threads_agree"] = ours["merges"] == one["merges"]
        if bp / 1e6 <= args.peers_up_to:
            hf = run_task("bpe_hf", genome, args.merges)
            row["hf"] = _summary(hf)
            row["merges_identical_to_hf"] = ours["merges"] == hf["merges"] == one["merges"]
            row["first_difference"] = next((i for i, (a, b) in enumerate(zip(ours["merges"], hf["merges"]))
                                            if a != b), None)
            WORK.mkdir(parents=True, exist_ok=True)
            row["sentencepiece"] = _summary(run_task("bpe_sentencepiece", genome, args.merges, WORK))
        rows.append(row)
        print(row)
    growth = _growth([r for r in rows if r["input"].startswith("Markov")])
    data = {"machine": machine(), "merges": args.merges, "threads": CORES, "rows": rows, "growth": growth}
    write_results("bpe_training", data, _markdown(data))


def _genome_bp(genome) -> int:
    with open(genome / "runs.bed") as fh:
        return sum(int(f[2]) - int(f[1]) for f in (line.split("\t") for line in fh))


def _summary(result: dict) -> dict:
    return {"train_s": round(result["train_s"], 2), "total_s": round(result["total_s"], 2),
            "peak_rss_mb": result["peak_rss_mb"]}


def _growth(rows: list[dict]) -> dict:
    if len(rows) < 2:
        return {}
    mbp = [r["mbp"] for r in rows]
    out = {}
    for key, unit in [("total_s", "s"), ("peak_rss_mb", "MB")]:
        slope, intercept, r2 = linear_fit(mbp, [r["dnalm"][key] for r in rows])
        out[key] = {"per_mbp": round(slope, 4), "intercept": round(intercept, 2),
                    "r2": round(r2, 4), f"human_{unit}": round(slope * HUMAN_MBP + intercept, 1)}
    return out


def _markdown(data: dict) -> str:
    lines = [f"## BPE training, {data['merges']} merges, 1 kb chunks",
             "",
             f"Machine: {data['machine']['cpu']}, {data['machine']['cores']} cores, "
             f"{data['machine']['memory_gb']} GB. dnalm on {data['threads']} threads and on 1; SentencePiece on "
             f"{data['threads']} threads; HF on all cores (rayon). Times include reading the chunks.",
             "",
             "| input | Mbp | dnalm s | dnalm 1 thread s | dnalm MB | HF s | HF MB | SentencePiece s | "
             "SentencePiece MB | merges = HF | time vs SP | memory vs HF |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in data["rows"]:
        d, h, s = r["dnalm"], r.get("hf"), r.get("sentencepiece")
        cells = [r["input"], r["mbp"], d["total_s"], r["dnalm_1_thread"]["total_s"], f"{d['peak_rss_mb']:.0f}"]
        if h:
            cells += [h["total_s"], f"{h['peak_rss_mb']:.0f}", s["total_s"], f"{s['peak_rss_mb']:.0f}",
                      "yes" if r["merges_identical_to_hf"] else "no", f"{d['total_s'] / s['total_s']:.2f}",
                      f"{d['peak_rss_mb'] / h['peak_rss_mb']:.2f}"]
        else:
            cells += ["-"] * 7
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    g = data["growth"]
    if g:
        lines += ["", "Growth of dnalm's cost on the Markov genomes (least squares, total time incl. loading):", "",
                  f"- time: {g['total_s']['per_mbp']} s per Mbp (R² {g['total_s']['r2']}), projected "
                  f"{g['total_s']['human_s']} s for {HUMAN_MBP} Mbp",
                  f"- peak memory: {g['peak_rss_mb']['per_mbp']} MB per Mbp (R² {g['peak_rss_mb']['r2']}), "
                  f"projected {g['peak_rss_mb']['human_MB'] / 1024:.1f} GB for {HUMAN_MBP} Mbp"]
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()

"""Genome tokenization: dnalm's encoder vs HuggingFace `tokenizers`, same genome and vocabulary, one run.

    python benchmarks/tokenization.py [--merges 600,5000] [--sizes 200]

For each input, a BPE vocabulary is learned on it (dnalm vocab-sweep), then encoded by: dnalm (whole
runs, 1 and 2 threads), HF on whole runs (the exact reference), HF on 1 kb lines (what peers do; not
equal to whole-run encoding). dnalm's result is checked equal to HF's whole-run ids, token for token.
The `dnalm tokenize-genome` step (reading runs, encoding, writing) is timed too.
"""

from __future__ import annotations

import argparse
import subprocess

from common import DNALM, WORK, inputs, machine, run_task, write_results

HUMAN_MBP = 3100


def vocabulary(genome, merges: int):
    out = WORK / "vocabs" / f"{genome.name}_{merges}"
    if not out.exists():
        subprocess.run(DNALM + ["vocab-sweep", "--genome", str(genome), "--cycles", str(merges), "--out", str(out)],
                       check=True, capture_output=True)
    return out / f"bpe_{merges}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--merges", default="600,5000")
    parser.add_argument("--sizes", default="200", help="Markov genome sizes (Mbp)")
    parser.add_argument("--hf-up-to", type=int, default=200, help="largest input (Mbp) HF encodes")
    args = parser.parse_args()
    rows = []
    for name, genome in inputs(tuple(int(s) for s in args.sizes.split(",") if s)).items():
        for merges in (int(m) for m in args.merges.split(",")):
            vocab = vocabulary(genome, merges)
            one = run_task("encode_dnalm", genome, vocab, 1)
            two = run_task("encode_dnalm", genome, vocab, 2)
            step = run_task("tokenize_step", genome, vocab, WORK / "tokenize_step")
            mbp = one["bp"] / 1e6
            row = {"input": name, "mbp": round(mbp, 2), "merges": merges,
                   "dnalm_1_thread_mbp_s": round(mbp / one["encode_s"], 1),
                   "dnalm_2_threads_mbp_s": round(mbp / two["encode_s"], 1),
                   "dnalm_peak_rss_mb": two["peak_rss_mb"],
                   "tokenize_step_s": round(step["step_s"], 2), "tokenize_step_mbp_s": round(mbp / step["step_s"], 1),
                   "tokenize_step_peak_rss_mb": step["peak_rss_mb"]}
            if mbp <= args.hf_up_to:
                runs = run_task("encode_hf_runs", genome, vocab)
                lines = run_task("encode_hf_lines", genome, vocab)
                row.update(hf_runs_mbp_s=round(mbp / runs["encode_s"], 2), hf_runs_peak_rss_mb=runs["peak_rss_mb"],
                           hf_lines_mbp_s=round(mbp / lines["encode_s"], 2), hf_lines_peak_rss_mb=lines["peak_rss_mb"],
                           equal_to_hf_whole_runs=run_task("compare_encodings", genome, vocab)["equal"],
                           speedup_vs_hf_runs=round(runs["encode_s"] / two["encode_s"], 1))
            rows.append(row)
            print(row)
    data = {"machine": machine(), "rows": rows}
    write_results("tokenization", data, _markdown(data))


def _markdown(data: dict) -> str:
    lines = ["## Genome tokenization (BPE, whole N-free runs)", "",
             f"Machine: {data['machine']['cpu']}, {data['machine']['cores']} cores. Mbp/s of encoding "
             "(runs already in memory); the step column is the whole `dnalm tokenize-genome` (2 threads).", "",
             "| input | merges | dnalm 1 thread | dnalm 2 threads | equal to HF | HF whole runs | HF 1 kb lines | "
             "speed-up vs HF runs | dnalm MB | HF runs MB | step s | human genome (min) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in data["rows"]:
        human = HUMAN_MBP / r["tokenize_step_mbp_s"] / 60
        lines.append(f"| {r['input']} | {r['merges']} | {r['dnalm_1_thread_mbp_s']} | {r['dnalm_2_threads_mbp_s']} | "
                     f"{'yes' if r.get('equal_to_hf_whole_runs') else '-'} | {r.get('hf_runs_mbp_s', '-')} | "
                     f"{r.get('hf_lines_mbp_s', '-')} | {r.get('speedup_vs_hf_runs', '-')}x | "
                     f"{r['dnalm_peak_rss_mb']:.0f} | {r.get('hf_runs_peak_rss_mb', '-')} | {r['tokenize_step_s']} | "
                     f"{human:.1f} |")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()

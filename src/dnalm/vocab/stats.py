"""Vocabulary statistics: the numbers of GROVER's Fig. 3, one row per vocabulary.

Read from tokenized genomes, so token frequencies are counts in the genome the vocabulary describes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dnalm.core import mqc
from dnalm.core.logs import log
from dnalm.core.outputs import write_json, write_tsv
from dnalm.core.plotting import figure
from dnalm.vocab.tokenized import TokenizedGenome
from dnalm.vocab.vocabulary import SPECIAL_TOKENS, Vocabulary


def vocabulary_stats(vocab: Vocabulary, counts: np.ndarray, genome_bp: int) -> dict:
    """Composition of one vocabulary and how often its tokens occur in the genome."""
    real = [i for i, t in enumerate(vocab.tokens) if t not in SPECIAL_TOKENS]
    words = [vocab.tokens[i] for i in real]
    lengths = np.array([len(w) for w in words])
    freq = counts[real]
    per_length = {int(n): int(c) for n, c in zip(*np.unique(lengths, return_counts=True))}
    first = {b: sum(w[0] == b for w in words) / len(words) for b in "ACGT"}
    q1, median, q3 = (float(x) for x in np.percentile(freq, [25, 50, 75]))
    return {
        "vocabulary": vocab.name,
        "kind": vocab.kind,
        "tokens": len(words),
        "mean_token_length": float(lengths.mean()),
        "max_token_length": int(lengths.max()),
        "genome_tokens": int(counts.sum()),
        "genome_bp_per_token": genome_bp / max(int(counts.sum()), 1),
        "frequency_min": int(freq.min()),
        "frequency_q1": q1,
        "frequency_median": median,
        "frequency_q3": q3,
        "frequency_max": int(freq.max()),
        "unused_tokens": int((freq == 0).sum()),
        "has_CG_2mer": "CG" in words,
        "first_nucleotide": first,
        "tokens_per_length": per_length,
        "share_of_possible_kmers": {n: c / 4 ** n for n, c in per_length.items()},
    }


def vocab_stats(tokenized_dirs: list[Path], out: Path) -> list[dict]:
    """Write the statistics table, plots and MultiQC content for a set of tokenized genomes."""
    stats = []
    for d in tokenized_dirs:
        genome = TokenizedGenome.open(d)
        genome_bp = sum(end - start for _, _, start, end, _, _ in genome.runs)
        stats.append(vocabulary_stats(genome.vocab, genome.token_counts, genome_bp))
        log.info("%s: %d tokens, mean length %.2f, median genome frequency %g", stats[-1]["vocabulary"],
                 stats[-1]["tokens"], stats[-1]["mean_token_length"], stats[-1]["frequency_median"])
    stats.sort(key=_order)
    write_json(out / "vocab_stats.json", stats)
    scalar = [k for k, v in stats[0].items() if not isinstance(v, dict)]
    first = [f"first_{b}" for b in "ACGT"]
    write_tsv(out / "vocab_stats.tsv", scalar + first,
              [[s[k] for k in scalar] + [s["first_nucleotide"][b] for b in "ACGT"] for s in stats])
    table_cols = ["tokens", "mean_token_length", "max_token_length", "genome_bp_per_token",
                  "frequency_median", "frequency_min", "frequency_max", "has_CG_2mer"]
    mqc.write_table(out / "vocab_stats_mqc.tsv", "dnalm_vocab_stats", "Vocabularies",
                    "Token counts, lengths and genome frequencies of every vocabulary (GROVER Fig. 3).",
                    ["Sample"] + table_cols, [[s["vocabulary"]] + [s[c] for c in table_cols] for s in stats])
    mqc.write_plot(out / "vocab_token_lengths_mqc.yaml", "dnalm_vocab_token_lengths", "Token lengths",
                   "Number of tokens of each length (nucleotides) in each vocabulary.", "linegraph",
                   {s["vocabulary"]: s["tokens_per_length"] for s in stats}, xlab="token length (nt)",
                   ylab="tokens")
    mqc.write_plot(out / "vocab_first_nucleotide_mqc.yaml", "dnalm_vocab_first_nucleotide",
                   "First nucleotide of tokens", "Share of tokens starting with each nucleotide.", "bargraph",
                   {s["vocabulary"]: s["first_nucleotide"] for s in stats}, cpswitch=False)
    _plot_lengths(stats, out / "vocab_token_lengths.png")
    return stats


def _order(s: dict) -> tuple:
    """BPE vocabularies by merge count, then k-mer vocabularies by name."""
    name = s["vocabulary"]
    return (0, int(name.split("_")[1]), name) if s["kind"] == "bpe" else (1, 0, name)


def _plot_lengths(stats: list[dict], path: Path) -> None:
    with figure(path, figsize=(7, 4), dpi=120) as (_fig, ax):
        for s in stats:
            xs = sorted(s["tokens_per_length"])
            ax.plot(xs, [s["tokens_per_length"][x] for x in xs], marker="o", label=s["vocabulary"])
        ax.set(xlabel="token length (nt)", ylabel="tokens in vocabulary", yscale="log",
               title="Token length distribution")
        ax.legend(fontsize="small")

"""`dnalm attention-motifs`: the sequence a fine-tuned classifier relies on, as DNABERT-viz finds it.

1. Attention per base (`attention.base_attention`) for every sequence of the task; in the sequences of the
   positive class, the contiguous high-attention regions (`attention.high_attention_regions`).
2. Candidates: the k-mers (`--seed-length`) inside those regions of at least `--min-sequences` positive
   sequences; a k-mer and its reverse complement count as one (tasks read either strand).
3. Enrichment: for each candidate, the sequences that contain it anywhere, positives against the background, by
   a one-sided hypergeometric test (DNABERT's), Benjamini-Hochberg corrected; kept where q < `--alpha`. The
   background is the task's negatives (DNABERT's), or, with `--background shuffled`, a dinucleotide shuffle of
   each positive (MEME's and HOMER's kind), for tasks whose negatives carry the motif too.
4. Motifs: from the most significant k-mer down, a k-mer seeds a motif from its instances in high-attention
   regions, with those of every kept k-mer at most one mismatch away, each widened by `--flank` bases and
   oriented as the seed; the instances' base frequencies, trimmed of uninformative ends, are its matrix. A
   later k-mer whose instances mostly lie inside an earlier motif's joins that motif (a shifted view of it).
5. Each motif's closest matrices in a JASPAR collection, by TOMTOM p-value (memelite).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dnalm.analysis.attention import base_attention, high_attention_regions, load_classifier
from dnalm.analysis.motifs import (
    Motif,
    best_matches,
    consensus,
    logo,
    logos,
    pwm_of,
    read_jaspar_collection,
    trimmed,
    write_meme,
)
from dnalm.analysis.span_tokens import dnalm_tokenizer
from dnalm.core import mqc
from dnalm.core.errors import InputError
from dnalm.core.logs import log
from dnalm.core.outputs import write_json, write_tsv
from dnalm.core.plotting import figure
from dnalm.evaluation.genome_tasks import reverse_complement
from dnalm.evaluation.task_data import load_task
from dnalm.vocab.model_dir import check_dnalm_tokenizer, dnalm_vocabulary
from dnalm.vocab.vocabulary import CONFIG

SPLITS = ("train", "valid", "test")


@dataclass
class Sequences:
    """The task's A/C/G/T sequences of the chosen splits, positives first flagged."""

    seqs: list[str]
    positive: np.ndarray

    def kmer_sets(self, k: int) -> Iterator[set[str]]:
        return ({canonical(s[i:i + k]) for i in range(len(s) - k + 1)} for s in self.seqs)


#: Where each canonical k-mer lies in the high-attention regions of the positives: (sequence, start, strand),
#: strand "+" where the k-mer reads as itself, "-" where as its reverse complement. Built once, so finding a
#: k-mer's instances is a lookup, not a scan of every region.
RegionIndex = dict[str, list[tuple[int, int, str]]]


def region_index(data: Sequences, regions: list[list[tuple[int, int]]], k: int) -> RegionIndex:
    index: RegionIndex = {}
    for n in np.flatnonzero(data.positive):
        seq = data.seqs[n]
        for s, e in regions[n]:
            for i in range(s, e - k + 1):
                word = seq[i:i + k]
                key = canonical(word)
                index.setdefault(key, []).append((int(n), i, "+" if word == key else "-"))
    return index


@dataclass
class Found:
    """A motif: its seed, the k-mers it gathered, its instances (sequence, start, end) and its matrix."""

    seed: str
    kmers: list[str]
    instances: list[tuple[int, int, int]]
    pwm: np.ndarray
    covered: set[tuple[int, int]] = field(default_factory=set)


def canonical(kmer: str) -> str:
    return min(kmer, reverse_complement(kmer))


def dinucleotide_shuffle(seq: str, rng: np.random.Generator) -> str:
    """A random sequence with exactly the dinucleotide counts of `seq` (Altschul and Erickson 1985): a random
    Eulerian path through its base-to-next-base edges, whose last exits from each base form a tree rooted at the
    last base, which is what lets the walk use every edge."""
    if len(seq) < 3:
        return seq
    exits: dict[str, list[str]] = {}
    for a, b in zip(seq, seq[1:]):
        exits.setdefault(a, []).append(b)
    end = seq[-1]
    while True:
        last = {v: out[rng.integers(len(out))] for v, out in exits.items() if v != end}
        if all(_reaches(v, end, last) for v in last):
            break
    order = {}
    for v, out in exits.items():
        rest = list(out)
        if v in last:
            rest.remove(last[v])
        rng.shuffle(rest)
        order[v] = rest + ([last[v]] if v in last else [])
    walk, at = [seq[0]], seq[0]
    for _ in range(len(seq) - 1):
        at = order[at].pop(0)
        walk.append(at)
    return "".join(walk)


def _reaches(v: str, end: str, last: dict[str, str]) -> bool:
    for _ in range(len(last) + 1):
        if v == end:
            return True
        v = last[v]
    return False


def shuffled_background(data: Sequences, seed: int) -> Sequences:
    """The positives, each with a dinucleotide shuffle of itself as its negative: the background for tasks
    whose negatives share the motif searched (the CTCF task's unbound sites carry a CTCF motif too)."""
    rng = np.random.default_rng(seed)
    positives = [s for s, p in zip(data.seqs, data.positive) if p]
    return Sequences(positives + [dinucleotide_shuffle(s, rng) for s in positives],
                     np.arange(2 * len(positives)) < len(positives))


def read_sequences(data: Path, splits: list[str], positive: int, label_map: str | None = None) -> Sequences:
    """The chosen splits' sequences and whether each is of class `positive` (the classifier's class: the
    file's labels as `label_map` maps them, as fine-tuning did); sequences with other bases than A/C/G/T are
    left out (counted in the log)."""
    task = load_task(data, label_map=label_map)
    seqs, labels, skipped = [], [], 0
    for name in splits:
        split = getattr(task, name)
        if split is None:
            continue
        for seq, label in zip(split.sequences, split.labels):
            if set(seq) <= set("ACGT"):
                seqs.append(seq)
                labels.append(int(label) == positive)
            else:
                skipped += 1
    if skipped:
        log.info("%d sequences with bases other than A/C/G/T left out", skipped)
    positives = int(np.sum(labels))
    if not positives or positives == len(labels):
        raise InputError(f"--data {data}: the splits {','.join(splits)} need sequences of class {positive} and of "
                         f"other classes (found {positives} of {len(labels)})")
    return Sequences(seqs, np.asarray(labels))


def enriched_kmers(data: Sequences, index: RegionIndex, k: int, min_sequences: int) -> list[dict]:
    """Each candidate k-mer (in high-attention regions of `min_sequences` positives) with its counts and
    hypergeometric p-value and BH q-value, most significant first."""
    from scipy.stats import false_discovery_control, hypergeom

    in_regions = {kmer: len({n for n, _, _ in where}) for kmer, where in index.items()}
    candidates = {kmer for kmer, count in in_regions.items() if count >= min_sequences}
    if not candidates:
        return []
    with_pos: Counter[str] = Counter()
    with_neg: Counter[str] = Counter()
    for kmers, is_positive in zip(data.kmer_sets(k), data.positive):
        (with_pos if is_positive else with_neg).update(kmers & candidates)
    total, positives = len(data.seqs), int(data.positive.sum())
    rows = []
    for kmer in sorted(candidates):
        p = float(hypergeom.sf(with_pos[kmer] - 1, total, positives, with_pos[kmer] + with_neg[kmer]))
        rows.append({"kmer": kmer, "positives_in_regions": in_regions[kmer], "positives_with": with_pos[kmer],
                     "negatives_with": with_neg[kmer], "p_value": p})
    for row, q in zip(rows, false_discovery_control([r["p_value"] for r in rows])):
        row["q_value"] = float(q)
    return sorted(rows, key=lambda r: (r["p_value"], r["kmer"]))


def _mismatches(a: str, b: str) -> int:
    return sum(x != y for x, y in zip(a, b))


def build_motif(data: Sequences, index: RegionIndex, seed: str, kept: list[str], k: int, flank: int,
                min_bits: float) -> Found | None:
    """The motif of `seed` and the kept k-mers one mismatch from it, oriented as the seed."""
    near = [m for m in kept if min(_mismatches(m, seed), _mismatches(reverse_complement(m), seed)) <= 1]
    windows, instances = [], []
    for m in near:
        as_seed = "+" if _mismatches(m, seed) <= 1 else "-"  # which reading of m is the seed's orientation
        for n, s, strand in index[m]:
            windows.append((n, s, "+" if strand == as_seed else "-"))
    for n, s, strand in sorted(windows):
        e = s + k
        lo, hi = s - flank, e + flank
        if lo < 0 or hi > len(data.seqs[n]):
            continue
        window = data.seqs[n][lo:hi]
        instances.append((n, s, e, window if strand == "+" else reverse_complement(window)))
    if not instances:
        return None
    found = Found(seed, near, [i[:3] for i in instances], trimmed(pwm_of([i[3] for i in instances]), min_bits))
    found.covered = {(n, i) for n, s, e in found.instances for i in range(s, e)}
    return found


def discover(data: Sequences, index: RegionIndex, kmers: list[dict], *, k: int, flank: int, alpha: float,
             max_motifs: int, min_bits: float) -> list[Found]:
    """Motifs from the kept k-mers, most significant seed first (module docstring, step 4)."""
    kept = [r["kmer"] for r in kmers if r["q_value"] < alpha]
    motifs: list[Found] = []
    merged: set[str] = set()
    for kmer in kept:
        if len(motifs) >= max_motifs:
            break
        if kmer in merged:
            continue
        here = {(n, i) for n, s, _ in index[kmer] for i in range(s, s + k)}
        home = next((m for m in motifs if here and len(here & m.covered) >= len(here) / 2), None)
        if home is not None:
            home.kmers.append(kmer)
            merged.add(kmer)
            continue
        found = build_motif(data, index, kmer, [m for m in kept if m not in merged], k, flank, min_bits)
        if found is not None:
            motifs.append(found)
            merged.update(found.kmers)
    return motifs


def _check_classifier(classifier: Path, positive: int) -> None:
    from transformers import AutoConfig

    if not dnalm_vocabulary(classifier):
        raise InputError(f"--classifier {classifier}: not a dnalm classifier (no {CONFIG}); attention per base needs "
                         "a dnalm vocabulary's token spans")
    labels = AutoConfig.from_pretrained(classifier).num_labels
    if not 0 <= positive < labels:
        raise InputError(f"--positive-class {positive}: the classifier in {classifier} has classes 0..{labels - 1}")


def attention_motifs(classifier: Path, data: Path, out: Path, *, model_id: str, jaspar: Path, positive: int,
                     splits: list[str], min_region: int, seed_length: int, min_sequences: int, alpha: float,
                     flank: int, min_bits: float, max_motifs: int, background: str, seed: int,
                     batch_size: int, label_map: str | None = None) -> dict:
    """Find the motifs (module docstring) and write `kmers.tsv`, `motifs.tsv`, `motifs.meme`, a logo per motif
    (`logos/`) and all in one picture (`<model_id>_motifs.png`), `attention_profile.tsv` and
    `<model_id>_attention.png` (mean attention along the sequences, by class), the report's table
    (`motifs_mqc.tsv`) and `summary.json`."""
    _check_classifier(classifier, positive)
    targets = read_jaspar_collection(jaspar, "--jaspar")
    sequences = read_sequences(data, splits, positive, label_map)
    model = load_classifier(classifier)
    scores, probs = base_attention(model, dnalm_tokenizer(check_dnalm_tokenizer(classifier, "--classifier")),
                                   sequences.seqs, batch_size, positive)
    regions = [high_attention_regions(s, min_region) if p else [] for s, p in zip(scores, sequences.positive)]
    tested = sequences
    if background == "shuffled":
        tested = shuffled_background(sequences, seed)
        regions = [r for r, p in zip(regions, sequences.positive) if p] + [[]] * int(sequences.positive.sum())
    index = region_index(tested, regions, seed_length)
    kmers = enriched_kmers(tested, index, seed_length, min_sequences)
    found = discover(tested, index, kmers, k=seed_length, flank=flank, alpha=alpha, max_motifs=max_motifs,
                     min_bits=min_bits)
    matches = best_matches([f.pwm for f in found], targets, top=3) if found else []
    out.mkdir(parents=True, exist_ok=True)
    rows = _write_motifs(out, found, matches, kmers, model_id)
    _profile(out, scores, sequences.positive, model_id)
    summary = {"model": model_id, "sequences": len(sequences.seqs), "positives": int(sequences.positive.sum()),
               "mean_positive_probability": {"positives": float(probs[sequences.positive].mean()),
                                             "negatives": float(probs[~sequences.positive].mean())},
               "background": background, "regions": sum(map(len, regions)), "candidate_kmers": len(kmers),
               "enriched_kmers": sum(r["q_value"] < alpha for r in kmers), "motifs": len(found),
               "best_matches": [r["best_match"] for r in rows], "jaspar": str(jaspar), "jaspar_matrices": len(targets)}
    write_json(out / "summary.json", summary)
    log.info("%s: %d motifs from %d enriched of %d candidate %d-mers", model_id, len(found),
             summary["enriched_kmers"], len(kmers), seed_length)
    return summary


def _write_motifs(out: Path, found: list[Found], matches: list[list[tuple[Motif, float]]], kmers: list[dict],
                  model_id: str) -> list[dict]:
    """kmers.tsv, motifs.tsv, motifs.meme and the logos; the motifs' rows."""
    home = {kmer: f"motif{i + 1}" for i, f in enumerate(found) for kmer in f.kmers}
    write_tsv(out / "kmers.tsv", ["kmer", "positives_in_regions", "positives_with", "negatives_with", "p_value",
                                  "q_value", "motif"],
              [[r["kmer"], r["positives_in_regions"], r["positives_with"], r["negatives_with"], r["p_value"],
                r["q_value"], home.get(r["kmer"], "")] for r in kmers])
    by_kmer = {r["kmer"]: r for r in kmers}
    rows = []
    for i, (f, best) in enumerate(zip(found, matches)):
        seed = by_kmer[f.seed]
        rows.append({"motif": f"motif{i + 1}", "consensus": consensus(f.pwm), "length": f.pwm.shape[1],
                     "seed": f.seed, "kmers": len(f.kmers), "instances": len(f.instances),
                     "sequences": len({n for n, _, _ in f.instances}), "seed_positives_with": seed["positives_with"],
                     "seed_negatives_with": seed["negatives_with"], "seed_q_value": seed["q_value"],
                     "best_match": f"{best[0][0].id} {best[0][0].name}", "best_match_p": best[0][1],
                     "next_matches": "; ".join(f"{m.id} {m.name} ({p:.2g})" for m, p in best[1:])})
    header = ["motif", "consensus", "length", "seed", "kmers", "instances", "sequences", "seed_positives_with",
              "seed_negatives_with", "seed_q_value", "best_match", "best_match_p", "next_matches"]
    write_tsv(out / "motifs.tsv", header, [[r[h] for h in header] for r in rows])
    write_meme(out / "motifs.meme", [Motif(r["motif"], r["consensus"], f.pwm) for r, f in zip(rows, found)],
               [len(f.instances) for f in found])
    (out / "logos").mkdir(exist_ok=True)
    titles = [f"{r['motif']} {r['consensus']}: {r['instances']} instances; best JASPAR match {r['best_match']} "
              f"(p {r['best_match_p']:.2g})" for r in rows]
    for r, f, title in zip(rows, found, titles):
        logo(out / "logos" / f"{r['motif']}.png", f.pwm, f"{model_id} {title}")
    if found:
        logos(out / f"{model_id}_motifs.png", [f.pwm for f in found], titles)
    mqc.write_table(out / "motifs_mqc.tsv", f"dnalm_motifs_{model_id}", f"Attention motifs: {model_id}",
                    f"Motifs in the high-attention regions of {model_id}'s positive sequences, built from k-mers "
                    "enriched against the background (hypergeometric test, Benjamini-Hochberg q < alpha), with their "
                    "closest JASPAR matrix (TOMTOM p-value).",
                    ["Sample", "consensus", "instances", "sequences", "seed q-value", "best JASPAR match",
                     "match p-value"],
                    [[r["motif"], r["consensus"], r["instances"], r["sequences"], r["seed_q_value"], r["best_match"],
                      r["best_match_p"]] for r in rows] or [_none_found(kmers)])
    return rows


def _none_found(kmers: list[dict]) -> list:
    """The table's row where no motif was found (MultiQC drops a table without rows): why, in its first cell."""
    why = f"none: lowest k-mer q {min(r['q_value'] for r in kmers):.2g}" if kmers else "none: no candidate k-mer"
    return [why, "", 0, 0, "", "", ""]


def _profile(out: Path, scores: list[np.ndarray], positive: np.ndarray, model_id: str, bins: int = 100) -> None:
    """Mean attention along the sequences (in `bins` equal parts of each), positives and negatives apart: where
    in its input the model looks."""
    def binned(s: np.ndarray) -> np.ndarray:
        return np.array([part.mean() for part in np.array_split(s / s.mean(), bins)])

    profile = np.array([binned(s) for s in scores])
    pos, neg = profile[positive].mean(0), profile[~positive].mean(0)
    centre = (np.arange(bins) + 0.5) / bins
    write_tsv(out / "attention_profile.tsv", ["relative_position", "positives", "negatives"],
              [[round(float(c), 4), float(p), float(n)] for c, p, n in zip(centre, pos, neg)])
    with figure(out / f"{model_id}_attention.png", figsize=(6.5, 2.8)) as (_, ax):
        ax.plot(centre, pos, label=f"positives ({int(positive.sum())})")
        ax.plot(centre, neg, label=f"negatives ({int((~positive).sum())})")
        ax.axhline(1.0, color="grey", lw=0.6, ls=":")
        ax.set(xlabel="position along the sequence (fraction of its length)",
               ylabel="attention / uniform", title=f"{model_id}: where the classifier's [CLS] looks (last layer)")
        ax.legend(fontsize=7)

"""Fine-tuning tasks built from the genome and its annotation (GROVER Fig. 6); splits and leak checks for
every task (imported benchmarks are read by `task_import`).

Every builder writes a GUE-style folder: `train.csv`, `dev.csv`, `test.csv` with the columns
`sequence,label` plus where each sequence comes from, and `task.json` with the class balance. Splits are
80/10/10, seeded and stratified by label; samples that share a source (a promoter and its shuffled
negative, the windows around one TSS), a sequence (on either strand) or, for tasks built from the genome,
any overlapping stretch of genome (a bidirectional promoter read on both strands) stay in one split, so no
test sequence, nor a piece of it, was seen in training.

Every task, built or imported, is checked for leaks (`find_leaks`) and the counts go into `task.json`:
an imported benchmark's splits are taken as given, and its duplicates across splits would otherwise
inflate its test scores without a word.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from dnalm.core.errors import InputError
from dnalm.core.logs import log
from dnalm.core.outputs import write_json
from dnalm.genome.annotations import read_track
from dnalm.genome.prepare import iter_runs, read_runs_bed, read_stats

SPLITS = {"train": 0.8, "dev": 0.1, "test": 0.1}
_COMPLEMENT = str.maketrans("ACGT", "TGCA")


def reverse_complement(seq: str) -> str:
    return seq.translate(_COMPLEMENT)[::-1]


def read_tss(path: Path, fmt: str, genome_dir: Path) -> list[tuple[str, int, str, str]]:
    """(contig, position, strand, name) of every TSS, checked against the genome's contigs."""
    lengths = read_stats(genome_dir)["fasta_contigs"]
    tss = []
    for row in read_track(Path(path), fmt, "--tss"):
        contig, start, name = row[0], int(row[1]), row[3] if len(row) > 3 else f"tss{len(tss)}"
        strand = row[5] if len(row) > 5 else ""
        if strand not in ("+", "-"):
            raise InputError(f"--tss {path}: {contig}:{start} has no strand (column 6 must be + or -)")
        if contig not in lengths or start >= lengths[contig]:
            raise InputError(f"--tss {path}: {contig}:{start} is outside the genome")
        tss.append((contig, start, strand, name))
    return tss


def around(pos: int, strand: str, upstream: int, downstream: int) -> tuple[int, int]:
    """Genome interval [start, end) of positions -upstream..+downstream around `pos` on `strand`."""
    return (pos - upstream, pos + downstream + 1) if strand == "+" else (pos - downstream, pos + upstream + 1)


def fetch(genome_dir: Path, intervals: list[tuple[str, int, int]]) -> list[str | None]:
    """The sequence of each interval, or None where it is not inside one N-free run (a gap, a contig end)."""
    runs = read_runs_bed(genome_dir)
    by_contig: dict[str, list[tuple[int, int, int]]] = {}
    for index, (contig, start, end) in enumerate(runs):
        by_contig.setdefault(contig, []).append((start, end, index))
    wanted: dict[int, list[int]] = {}
    for i, (contig, start, end) in enumerate(intervals):
        for run_start, run_end, index in by_contig.get(contig, []):
            if run_start <= start and end <= run_end:
                wanted.setdefault(index, []).append(i)
                break
    found: list[str | None] = [None] * len(intervals)
    for run in iter_runs(genome_dir):
        for i in wanted.get(run.index, []):
            _, start, end = intervals[i]
            found[i] = run.seq[start - run.start:end - run.start].decode()
    return found


def oriented(genome_dir: Path, tss: list[tuple[str, int, str, str]], upstream: int,
             downstream: int) -> list[str | None]:
    """Sequence -upstream..+downstream of each TSS read on its strand (None: not inside one N-free run)."""
    intervals = [(c, *around(p, s, upstream, downstream)) for c, p, s, _ in tss]
    seqs = fetch(genome_dir, intervals)
    return [None if seq is None else (seq if t[2] == "+" else reverse_complement(seq)) for seq, t in zip(seqs, tss)]


def shuffle_nucleotides(seq: str, rng: np.random.Generator, parts: int = 20, shuffled: int = 15) -> str:
    """DNABERT's negatives: cut into `parts` equal pieces and permute `shuffled` of them among themselves."""
    pieces = [seq[a:b] for a, b in zip(*_bounds(len(seq), parts))]
    return _permute_some(pieces, rng, shuffled)


def shuffle_tokens(seq: str, vocab, rng: np.random.Generator, chunks: int = 8, shuffled: int = 6) -> str:
    """GROVER's negatives: tokenize, cut the tokens into `chunks` chunks, and permute the tokens of
    `shuffled` chunks among those chunks' positions."""
    tokens = [vocab.tokens[i] for i in vocab.encode(seq).tolist()]
    groups = [tokens[a:b] for a, b in zip(*_bounds(len(tokens), chunks))]
    chosen = np.sort(rng.choice(len(groups), size=min(shuffled, len(groups)), replace=False))
    for _ in range(20):
        pool = [t for g in chosen for t in groups[g]]
        pool = [pool[i] for i in rng.permutation(len(pool))]
        out = [list(g) for g in groups]
        for g in chosen:
            out[g], pool = pool[:len(groups[g])], pool[len(groups[g]):]
        result = "".join(t for g in out for t in g)
        if result != seq:
            return result
    return result


def _bounds(n: int, parts: int) -> tuple[np.ndarray, np.ndarray]:
    edges = np.linspace(0, n, parts + 1).round().astype(int)
    return edges[:-1], edges[1:]


def _permute_some(pieces: list[str], rng: np.random.Generator, shuffled: int) -> str:
    original = "".join(pieces)
    for _ in range(20):  # a permutation may give the sequence back (repeats, identity): draw again
        chosen = np.sort(rng.choice(len(pieces), size=shuffled, replace=False))
        out = list(pieces)
        for target, source in zip(chosen, rng.permutation(chosen)):
            out[target] = pieces[source]
        if "".join(out) != original:
            return "".join(out)
    return "".join(out)


def canonical(seq: str) -> str:
    """One key for a sequence and its reverse complement: a model sees both strands as one molecule."""
    return min(seq, reverse_complement(seq))


def pair_key(seq: str, parts: int = 20, min_piece: int = 3) -> str | None:
    """One key for a sequence and every rearrangement of its `parts` equal pieces: the negatives of
    DeePromoter, DNABERT and GENA-LM's promoter sets (and dnalm's nucleotide shuffles) are such
    rearrangements of a positive, so a negative and its positive share a key. None for sequences too short
    for pieces of `min_piece` bases, whose keys would match unrelated sequences."""
    if len(seq) < parts * min_piece:
        return None
    starts, ends = _bounds(len(seq), parts)
    return "|".join(sorted(seq[a:b] for a, b in zip(starts.tolist(), ends.tolist())))


def overlap_clusters(regions: list[tuple[str, int, int]]) -> list[int]:
    """A cluster number per genome interval [start, end): intervals that overlap, directly or through others,
    on either strand, share one. A sweep over the intervals sorted per contig."""
    cluster = [0] * len(regions)
    current, contig, reach = -1, None, 0
    for i in sorted(range(len(regions)), key=lambda i: regions[i]):
        c, start, end = regions[i]
        if c != contig or start >= reach:
            current, contig, reach = current + 1, c, end
        reach = max(reach, end)
        cluster[i] = current
    return cluster


def _union(groups: list[Any], links: list[list[Any]]) -> list[Any]:
    """The merged group of each sample: groups are merged when their samples share any link key."""
    parent: dict[Any, Any] = {}

    def root(g: Any) -> Any:
        while parent.setdefault(g, g) != g:
            parent[g] = parent[parent[g]]
            g = parent[g]
        return g

    for g, keys in zip(groups, links):
        for key in keys:
            parent[root(("link", key))] = root(("group", g))
    return [root(("group", g)) for g in groups]


def assign_splits(groups: list[Any], labels: list[Any], sequences: list[str], seed: int,
                  regions: list[tuple[str, int, int]] | None = None,
                  fractions: dict[str, float] = SPLITS) -> list[str]:
    """A split of samples (80/10/10 by default), whole groups at a time, stratified by the groups' label sets.

    Groups that share a sequence (or its reverse complement) or a `pair_key` (a shuffled negative and its
    positive) are merged first, and so are groups whose genome `regions` overlap, so no sequence, nor a
    stretch of genome, nor a negative's positive, appears in two splits.
    """
    links = [[("sequence", canonical(seq))] + ([("pair", key)] if (key := pair_key(seq)) else [])
             for seq in sequences]
    if regions is not None:
        for keys, cluster in zip(links, overlap_clusters(regions)):
            keys.append(("region", cluster))
    members: dict[Any, list[int]] = {}
    for i, g in enumerate(_union(groups, links)):
        members.setdefault(g, []).append(i)
    strata: dict[tuple, list[Any]] = {}
    for g, idx in members.items():
        strata.setdefault(tuple(sorted(Counter(str(labels[i]) for i in idx))), []).append(g)
    rng = np.random.default_rng(seed)
    split = [""] * len(groups)
    for key in sorted(strata):
        roots = strata[key]
        order = rng.permutation(len(roots))
        cuts = np.cumsum([fractions[name] for name in fractions]) * len(roots)
        for rank, j in enumerate(order.tolist()):
            name = list(fractions)[int(np.searchsorted(cuts.round(), rank, side="right"))]
            for i in members[roots[j]]:
                split[i] = name
    return split


def split_task(out: Path, name: str, rows: list[dict[str, Any]], groups: list[Any], seed: int,
               train_fraction: float = 1.0, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Split `rows` (each with sequence and label) by group, then write the task."""
    split = assign_splits(groups, [r["label"] for r in rows], [r["sequence"] for r in rows], seed, regions(rows))
    return write_task(out, name, rows, split, seed, train_fraction, extra)


def regions(rows: list[dict[str, Any]]) -> list[tuple[str, int, int]] | None:
    """The genome interval of each row of a task built from the genome (None for a task without one)."""
    if not rows or not {"contig", "start", "end"} <= set(rows[0]):
        return None
    return [(r["contig"], int(r["start"]), int(r["end"])) for r in rows]


def write_task(out: Path, name: str, rows: list[dict[str, Any]], split: list[str], seed: int,
               train_fraction: float = 1.0, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Subsample training, write train/dev/test.csv and task.json with the leaks of what was written."""
    labels = [r["label"] for r in rows]
    if len({str(x) for x in labels}) < 2:
        raise InputError(f"{name}: every sample has label {labels[0] if labels else None!r}; a task needs two classes")
    keep = _subsample_train(split, labels, train_fraction, seed)
    columns = ["sequence", "label"] + [c for c in rows[0] if c not in ("sequence", "label")]
    written = {part: [r for i, r in enumerate(rows) if split[i] == part and keep[i]] for part in SPLITS}
    counts: dict[str, dict[str, int]] = {}
    for part, chosen in written.items():
        with open(Path(out) / f"{part}.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns)
            writer.writeheader()
            writer.writerows(chosen)
        counts[part] = dict(sorted(Counter(str(r["label"]) for r in chosen).items()))
    leaks = leak_report(written)
    summary = {"task": name, "samples": {p: sum(c.values()) for p, c in counts.items()}, "class_balance": counts,
               "train_fraction": train_fraction, "seed": seed, **(extra or {}), "leaks": leaks}
    write_json(Path(out) / "task.json", summary)
    log.info("%s: %s samples (train/dev/test), classes %s", name,
             "/".join(str(v) for v in summary["samples"].values()), counts["train"])
    _warn_leaks(name, leaks)
    return summary


def _subsample_train(split: list[str], labels: list[Any], fraction: float, seed: int) -> list[bool]:
    """Keep a seeded, label-stratified `fraction` of the training samples (at least one per class)."""
    keep = [True] * len(split)
    if fraction >= 1:
        return keep
    rng = np.random.default_rng(seed + 1)
    for label in sorted(set(map(str, labels))):
        idx = [i for i, s in enumerate(split) if s == "train" and str(labels[i]) == label]
        n = max(1, round(fraction * len(idx)))
        dropped = set(np.array(idx)[rng.permutation(len(idx))[n:]].tolist())
        for i in dropped:
            keep[i] = False
    return keep


#: Leaks across splits (rows of dev or test matched in an earlier split) and label conflicts (anywhere).
LEAK_KINDS = ("exact_duplicates", "reverse_complement_duplicates", "paired_across_splits", "conflicting_labels")
CROSS_SPLIT = LEAK_KINDS[:3]
_EXAMPLES = 3  # examples per kind of leak in task.json


def find_leaks(parts: dict[str, list[dict[str, Any]]]) -> dict[str, list[tuple[str, int, str, int]]]:
    """Every leak of a split task, as (split, row, matching split, matching row), rows counted from 0.

    A dev row leaks when its sequence (exact) or reverse complement is in train; a test row when it is in
    train or dev: the model was trained, or chosen, on it. A dev or test row is also paired across splits
    when another sequence of its group (a `group` column) or a rearrangement of it (`pair_key`: a shuffled
    negative and its positive) is in an earlier split: a model can score by telling the twins apart. A row
    has a conflicting label when its sequence, on either strand, also carries another label, in any split:
    no model can get both right.
    """
    leaks: dict[str, list[tuple[str, int, str, int]]] = {kind: [] for kind in LEAK_KINDS}
    seen: dict[str, tuple[str, int]] = {}  # sequence -> its first row, earliest split first
    twins: dict[tuple[str, str], tuple[str, int, str]] = {}  # pair or group key -> its first row, its sequence
    labelled: dict[str, dict[str, tuple[str, int]]] = {}  # canonical sequence -> label -> its first row
    for part, rows in parts.items():
        for i, row in enumerate(rows):
            seq = row["sequence"]
            for kind, key in (("exact_duplicates", seq), ("reverse_complement_duplicates", reverse_complement(seq))):
                if key in seen:  # holds earlier splits only
                    leaks[kind].append((part, i, *seen[key]))
                    break
            else:
                twin = next((twins[k] for k in _twin_keys(row) if k in twins and twins[k][2] != canonical(seq)), None)
                if twin is not None:
                    leaks["paired_across_splits"].append((part, i, *twin[:2]))
            labelled.setdefault(canonical(seq), {}).setdefault(str(row["label"]), (part, i))
        for i, row in enumerate(rows):
            seen.setdefault(row["sequence"], (part, i))
            for key in _twin_keys(row):
                twins.setdefault(key, (part, i, canonical(row["sequence"])))
    for part, rows in parts.items():
        for i, row in enumerate(rows):
            by_label = labelled[canonical(row["sequence"])]
            other = next((first for label, first in by_label.items() if label != str(row["label"])), None)
            if other is not None:
                leaks["conflicting_labels"].append((part, i, *other))
    return leaks


def _twin_keys(row: dict[str, Any]) -> list[tuple[str, str]]:
    keys = [("group", str(row["group"]))] if row.get("group") not in (None, "") else []
    pair = pair_key(row["sequence"])
    return keys + ([("pair", pair)] if pair else [])


def leak_report(parts: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Leak counts and a few examples (file:line as written) for task.json; for a task built from the genome,
    also the stretches of genome that sit in two splits, which the split rules out."""
    leaks = find_leaks(parts)
    rows = [r for part in parts.values() for r in part]
    conflicting = {canonical(parts[p][i]["sequence"]) for p, i, _, _ in leaks["conflicting_labels"]}
    report: dict[str, Any] = {kind: len(found) for kind, found in leaks.items()}
    report["conflicting_sequences"] = len(conflicting)
    report["duplicates_within_splits"] = sum(len(part) - len({r["sequence"] for r in part}) for part in parts.values())
    where = regions(rows)
    if where is not None:
        split = [p for p, part in parts.items() for _ in part]
        clusters: dict[int, set[str]] = {}
        for cluster, part in zip(overlap_clusters(where), split):
            clusters.setdefault(cluster, set()).add(part)
        report["overlapping_regions_across_splits"] = sum(len(s) > 1 for s in clusters.values())
        assert report["overlapping_regions_across_splits"] == 0, "overlapping genome regions in two splits"
    report["examples"] = {kind: [f"{p}.csv:{i + 2} = {q}.csv:{j + 2} {parts[p][i]['sequence'][:30]}"
                                 for p, i, q, j in found[:_EXAMPLES]]
                          for kind, found in leaks.items() if found}
    return report


def _warn_leaks(name: str, leaks: dict[str, Any]) -> None:
    found = {kind: leaks[kind] for kind in LEAK_KINDS if leaks[kind]}
    if found:
        log.warning("%s: leaks: %s (rows; examples in task.json 'leaks')", name,
                    ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in found.items()))


def prom300(genome_dir: Path, tss_file: Path, tss_format: str, out: Path, *, negatives: str,
            vocab_dir: Path | None, seed: int, train_fraction: float) -> dict:
    """Promoters TSS -249..+50 on their strand (label 1) and one shuffled copy of each (label 0)."""
    from dnalm.vocab.vocabulary import Vocabulary

    vocab = None
    if negatives == "tokens":
        if vocab_dir is None:
            raise InputError("--negatives tokens needs --vocab (the vocabulary whose tokens are shuffled)")
        vocab = Vocabulary.load(vocab_dir)
        if vocab.kind not in ("bpe", "kmer"):
            raise InputError(f"--vocab {vocab_dir}: token shuffling needs non-overlapping tokens (bpe or kmer), "
                             f"not {vocab.kind}")
    tss = read_tss(tss_file, tss_format, genome_dir)
    seqs = oriented(genome_dir, tss, 249, 50)
    rng = np.random.default_rng(seed)
    rows, groups, skipped = [], [], 0
    for (contig, pos, strand, name), seq in zip(tss, seqs):
        if seq is None:
            skipped += 1
            continue
        negative = shuffle_tokens(seq, vocab, rng) if vocab else shuffle_nucleotides(seq, rng)
        start, end = around(pos, strand, 249, 50)
        for sequence, label in ((seq, 1), (negative, 0)):
            rows.append({"sequence": sequence, "label": label, "contig": contig, "start": start, "end": end,
                         "strand": strand, "name": name})
            groups.append(f"{contig}:{pos}{strand}")
    if skipped:
        log.info("prom300: %d TSS skipped (their 300 bp leave the contig or meet N)", skipped)
    return split_task(out, "prom300", rows, groups, seed, train_fraction,
                      {"negatives": negatives, "tss": len(tss), "tss_skipped": skipped})


def promscan(genome_dir: Path, tss_file: Path, tss_format: str, out: Path, *, seed: int, train_fraction: float,
             region: int = 10_000, window: int = 1001, step: int = 300) -> dict:
    """1,001 bp windows every 300 bp across 10 kb around each TSS, on its strand; label 1 on the central TSS."""
    tss = read_tss(tss_file, tss_format, genome_dir)
    half = region // 2
    seqs = oriented(genome_dir, tss, half, region - half - 1)
    rows, groups, skipped = [], [], 0
    for (contig, pos, strand, name), seq in zip(tss, seqs):
        if seq is None:
            skipped += 1
            continue
        for offset in range(0, region - window + 1, step):
            label = int(offset <= half < offset + window)  # the TSS sits at index `half` of the region
            lo, hi = around(pos, strand, half - offset, offset + window - 1 - half)
            rows.append({"sequence": seq[offset:offset + window], "label": label, "contig": contig, "start": lo,
                         "end": hi, "strand": strand, "name": name, "offset": offset - half})
            groups.append(f"{contig}:{pos}{strand}")
    if skipped:
        log.info("promscan: %d TSS skipped (their %d bp region leaves the contig or meets N)", skipped, region)
    positives = sum(r["label"] for r in rows)
    return split_task(out, "promscan", rows, groups, seed, train_fraction,
                      {"tss": len(tss), "tss_skipped": skipped, "positive_share": positives / max(1, len(rows))})


def dedup_splits(parts: dict[str, list[dict[str, Any]]]) -> tuple[dict[str, list[dict[str, Any]]], dict[str, Any]]:
    """The splits without leaks, and how many rows went for which reason.

    Rows whose sequence (on either strand) carries two labels go from every split: no label of theirs is
    right. Then a dev or test row matched in an earlier split (`find_leaks`) goes from dev or test, not the
    earlier row: training keeps all it learns from, and the scores are measured on sequences it never saw.
    """
    conflicts = find_leaks(parts)["conflicting_labels"]
    kept = _without(parts, {(p, i) for p, i, _, _ in conflicts})
    leaks = find_leaks(kept)
    kept = _without(kept, {(p, i) for kind in CROSS_SPLIT for p, i, _, _ in leaks[kind]})
    removed: dict[str, Any] = {"conflicting_labels": len(conflicts), **{kind: len(leaks[kind]) for kind in CROSS_SPLIT},
                               "per_split": {p: len(parts[p]) - len(kept[p]) for p in parts}}
    log.info("dedup: removed %d rows with conflicting labels, %d exact and %d reverse-complement duplicates and "
             "%d rows paired across splits", len(conflicts), *(len(leaks[kind]) for kind in CROSS_SPLIT))
    return kept, removed


def _without(parts: dict[str, list[dict[str, Any]]], drop: set[tuple[str, int]]) -> dict[str, list[dict[str, Any]]]:
    return {p: [r for i, r in enumerate(rows) if (p, i) not in drop] for p, rows in parts.items()}


def read_jaspar(path: Path) -> np.ndarray:
    """A JASPAR count matrix as base probabilities, shape (4, motif length), rows A, C, G, T."""
    from dnalm.genome.annotations import check_jaspar

    check_jaspar(Path(path))
    rows = []
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(">"):
            continue
        fields = line.lstrip("ACGT").replace("[", " ").replace("]", " ").split()
        rows.append([float(x) for x in fields])
    counts = np.array(rows)
    return counts / counts.sum(axis=0, keepdims=True)


def scan_motif(genome_dir: Path, pwm: np.ndarray, threshold: float = 1e-4) -> list[tuple[str, int, int, str, float]]:
    """FIMO-style motif hits (contig, start, end, strand, p-value) over every N-free run, with memelite.

    Scores are log-odds against the genome's base composition: the matrix is divided by the genome's base
    frequencies before memelite takes log2(p / 0.25). memelite's p-values assume uniform bases.
    """
    from memelite import fimo

    gc = read_stats(genome_dir)["genome"]["gc"]
    background = np.array([(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2])[:, None]
    adjusted = pwm * 0.25 / background
    code = np.full(256, 4, dtype=np.int64)
    for i, base in enumerate(b"ACGT"):
        code[base] = i
    hits = []
    for run in iter_runs(genome_dir):
        idx = code[np.frombuffer(run.seq, dtype=np.uint8)]
        onehot = np.zeros((1, 4, len(idx)), dtype=np.int8)
        onehot[0, idx, np.arange(len(idx))] = 1
        table = fimo({"motif": adjusted}, onehot, threshold=threshold)[0]
        found = [(run.contig, run.start + int(start), run.start + int(end), str(strand), float(p))
                 for start, end, strand, p in zip(table["start"], table["end"], table["strand"], table["p-value"])]
        hits += sorted(found, key=lambda h: (h[1], h[3]))  # memelite lists forward, then reverse hits
    return hits


def ctcf(genome_dir: Path, motif: Path, peaks: Path, out: Path, *, seed: int, train_fraction: float, window: int,
         threshold: float) -> dict:
    """Motif sites scanned genome-wide; label 1 (bound) where the site intersects a ChIP-seq peak.

    Each sample is the `window` bp around the site's centre, read on the site's strand.
    """
    import pybedtools

    hits = scan_motif(genome_dir, read_jaspar(motif), threshold)
    if not hits:
        raise InputError(f"--motif {motif}: no site with p < {threshold} in the genome")
    sites = pybedtools.BedTool([(c, s, e, f"site{i}", 0, strand) for i, (c, s, e, strand, _) in enumerate(hits)])
    bound = {f.name for f in sites.intersect(pybedtools.BedTool(str(peaks)), u=True)}
    half = window // 2
    intervals = [(c, (s + e) // 2 - half, (s + e) // 2 - half + window) for c, s, e, _, _ in hits]
    seqs = fetch(genome_dir, intervals)
    rows, groups, skipped = [], [], 0
    for i, ((contig, lo, hi), (_, s, e, strand, p), seq) in enumerate(zip(intervals, hits, seqs)):
        if seq is None:
            skipped += 1
            continue
        rows.append({"sequence": seq if strand == "+" else reverse_complement(seq),
                     "label": int(f"site{i}" in bound), "contig": contig, "start": lo, "end": hi, "strand": strand,
                     "motif_start": s, "motif_end": e, "p_value": p})
        groups.append(i)  # overlapping windows share sequence: split_task keeps them in one split
    pybedtools.cleanup()
    if skipped:
        log.info("ctcf: %d sites skipped (their %d bp window leaves the contig or meets N)", skipped, window)
    return split_task(out, "ctcf", rows, groups, seed, train_fraction,
                      {"sites": len(hits), "bound": len(bound), "sites_skipped": skipped, "p_threshold": threshold})

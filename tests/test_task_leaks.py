"""Leaks between a task's splits: genome tasks keep overlapping regions in one split, every task reports
duplicates and label conflicts in task.json, and `task-import --dedup` removes exactly the leaking rows."""

from __future__ import annotations

import json
from collections import Counter

from helpers import LAMBDA_SEQ, MOTIF, PEAKS, SPLITS, TSS, dnalm, read_splits, write_task


def rc(seq: str) -> str:
    return seq.translate(str.maketrans("ACGT", "TGCA"))[::-1]


def cross_split_pairs(parts: dict[str, list[dict[str, str]]]) -> list[tuple[dict, dict]]:
    """Every pair of rows in two splits whose genome intervals overlap (the test's own quadratic check)."""
    rows = [dict(r, split=s) for s, part in parts.items() for r in part]
    return [(a, b) for i, a in enumerate(rows) for b in rows[i + 1:]
            if a["split"] != b["split"] and a["contig"] == b["contig"]
            and int(a["start"]) < int(b["end"]) and int(b["start"]) < int(a["end"])]


def prom300_window(pos: int, strand: str) -> tuple[int, int]:
    """-249..+50 around a TSS, on its strand, as a genome interval [start, end)."""
    return (pos - 249, pos + 51) if strand == "+" else (pos - 50, pos + 250)


def overlapping_tss_pairs() -> list[tuple[list[str], list[str]]]:
    """Pairs of TSS of the bundled BED whose Prom300 windows overlap."""
    tss = [line.split("\t") for line in TSS.read_text().splitlines()]
    windows = [prom300_window(int(f[1]), f[5]) for f in tss]
    return [(tss[i], tss[j]) for i in range(len(tss)) for j in range(i + 1, len(tss))
            if tss[i][0] == tss[j][0] and windows[i][0] < windows[j][1] and windows[j][0] < windows[i][1]]


def leak_counts(parts: dict[str, list[dict[str, str]]]) -> dict[str, int]:
    """Cross-split duplicates and label conflicts, counted independently of dnalm: a dev row seen in train,
    a test row seen in train or dev (exact, else as reverse complement); rows whose sequence on either
    strand carries two labels."""
    counts = Counter()
    earlier: set[str] = set()
    for split in SPLITS:
        for r in parts[split]:
            if split != "train" and r["sequence"] in earlier:
                counts["exact_duplicates"] += 1
            elif split != "train" and rc(r["sequence"]) in earlier:
                counts["reverse_complement_duplicates"] += 1
        earlier |= {r["sequence"] for r in parts[split]}
    labels: dict[str, set[str]] = {}
    for r in (r for part in parts.values() for r in part):
        labels.setdefault(min(r["sequence"], rc(r["sequence"])), set()).add(r["label"])
    conflicting = {seq for seq, found in labels.items() if len(found) > 1}
    counts["conflicting_labels"] = sum(min(r["sequence"], rc(r["sequence"])) in conflicting
                                       for part in parts.values() for r in part)
    counts["conflicting_sequences"] = len(conflicting)
    return {k: counts[k] for k in ("exact_duplicates", "reverse_complement_duplicates", "conflicting_labels",
                                   "conflicting_sequences")}


def test_overlapping_promoters_never_cross_splits(human_genome, tmp_path):
    """The bidirectional promoters of the window (two TSS on opposite strands, overlapping windows) and every
    other overlapping pair stay in one split, whatever the seed."""
    pairs = overlapping_tss_pairs()
    assert any(a[5] != b[5] for a, b in pairs), pairs  # at least one bidirectional promoter
    crossing = []
    for seed in (1, 2, 3, 42):
        task = tmp_path / f"prom300_{seed}"
        dnalm("task-prom300", "--genome", human_genome, "--tss", TSS, "--negatives", "nucleotides",
              "--seed", seed, "--out", task)
        parts = read_splits(task)
        split_of = {(int(r["start"]), r["strand"]): s for s, part in parts.items() for r in part if r["label"] == "1"}
        crossing += [(seed, a[3], b[3]) for a, b in pairs if split_of[(prom300_window(int(a[1]), a[5])[0], a[5])]
                     != split_of[(prom300_window(int(b[1]), b[5])[0], b[5])]]
        crossing += [(seed, a["name"], b["name"]) for a, b in cross_split_pairs(parts)]
    assert crossing == []
    for seed in (1, 2, 3, 42):
        leaks = json.loads((tmp_path / f"prom300_{seed}" / "task.json").read_text())["leaks"]
        assert leaks["overlapping_regions_across_splits"] == 0


def test_promscan_and_ctcf_keep_overlapping_windows_in_one_split_and_report_leaks(human_genome, tmp_path):
    dnalm("task-promscan", "--genome", human_genome, "--tss", TSS, "--out", tmp_path / "promscan")
    dnalm("task-ctcf", "--genome", human_genome, "--motif", MOTIF, "--peaks", PEAKS, "--out", tmp_path / "ctcf")
    for name in ("promscan", "ctcf"):
        parts = read_splits(tmp_path / name)
        summary = json.loads((tmp_path / name / "task.json").read_text())
        assert all(parts.values()) and cross_split_pairs(parts) == [], name
        assert summary["leaks"]["overlapping_regions_across_splits"] == 0
        assert {k: summary["leaks"][k] for k in leak_counts(parts)} == leak_counts(parts), name


def _chunks(n: int, length: int = 100) -> list[str]:
    """`n` distinct pieces of lambda phage, none the reverse complement of another."""
    chunks = [LAMBDA_SEQ[i * length:(i + 1) * length] for i in range(n)]
    assert len({min(c, rc(c)) for c in chunks}) == n
    return chunks


def test_an_imported_task_reports_its_leaks_and_keeps_them(tmp_path):
    """A reverse-complement duplicate across splits and a conflicting-label pair are reported, not removed."""
    c = _chunks(18)
    train = [(c[i], i % 2) for i in range(10)]
    planted_dev = [(rc(c[1]), 1)]  # train's c1, other strand, same label
    planted_test = [(c[2], 0), (rc(c[3]), 0)]  # train's c2 again; c3 (label 1) on the other strand, label 0
    parts = {"train": train, "dev": [(c[i], i % 2) for i in range(10, 14)] + planted_dev,
             "test": [(c[i], i % 2) for i in range(14, 18)] + planted_test}
    source = write_task(tmp_path / "crafted", parts)
    proc = dnalm("task-import", "--source", source, "--out", tmp_path / "task")
    summary = json.loads((tmp_path / "task" / "task.json").read_text())
    assert summary["samples"] == {s: len(rows) for s, rows in parts.items()}  # nothing removed
    leaks = summary["leaks"]
    assert leaks["exact_duplicates"] == 1 and leaks["reverse_complement_duplicates"] == 2
    assert leaks["conflicting_labels"] == 2 and leaks["conflicting_sequences"] == 1
    assert leaks["duplicates_within_splits"] == 0 and "overlapping_regions_across_splits" not in leaks
    assert leaks["examples"]["reverse_complement_duplicates"][0].startswith("dev.csv:6 = train.csv:3 ")
    assert {k: leaks[k] for k in leak_counts(read_splits(tmp_path / "task"))} == \
        leak_counts(read_splits(tmp_path / "task"))
    assert "leaks: 1 exact duplicates, 2 reverse complement duplicates, 2 conflicting labels" in proc.stderr


def test_dedup_removes_exactly_the_planted_leaks(tmp_path):
    c = _chunks(31)
    train = [(c[i], i % 2) for i in range(20)] + [(c[8], 0)]  # c8 twice in train: stays (not a leak)
    dev_leaks = [(c[0], 0), (c[5], 1)]  # train rows again
    test_leaks = [(rc(c[6]), 0), (c[20], 0), (rc(c[7]), 0)]  # train's c6 reversed; dev's c20; c7 relabelled
    conflicting_train = (c[7], 1)  # goes from train too: its sequence carries two labels
    dev = [(c[i], i % 2) for i in range(20, 25)]
    test = [(c[i], i % 2) for i in range(25, 31)]
    parts = {"train": train, "dev": dev[:2] + dev_leaks + dev[2:], "test": test_leaks[:1] + test + test_leaks[1:]}
    source = write_task(tmp_path / "gue", parts)

    dnalm("task-import", "--source", source, "--out", tmp_path / "kept")
    kept = json.loads((tmp_path / "kept" / "task.json").read_text())
    assert kept["samples"] == {s: len(rows) for s, rows in parts.items()} and kept["dedup"] is False
    assert kept["leaks"]["exact_duplicates"] == 2 + 1 and kept["leaks"]["reverse_complement_duplicates"] == 2

    dnalm("task-import", "--source", source, "--dedup", "--out", tmp_path / "dedup")
    summary = json.loads((tmp_path / "dedup" / "task.json").read_text())
    out = read_splits(tmp_path / "dedup")
    removed = {s: Counter(parts[s]) - Counter((r["sequence"], int(r["label"])) for r in out[s]) for s in SPLITS}
    assert removed == {"train": Counter([conflicting_train]), "dev": Counter(dev_leaks), "test": Counter(test_leaks)}
    assert summary["samples"] == {s: len(parts[s]) - sum(removed[s].values()) for s in SPLITS}
    assert summary["dedup_removed"] == {"conflicting_labels": 2, "exact_duplicates": 3,
                                        "reverse_complement_duplicates": 1, "paired_across_splits": 0,
                                        "per_split": {s: sum(removed[s].values()) for s in SPLITS}}
    assert leak_counts(out) == dict.fromkeys(leak_counts(out), 0)
    assert {k: summary["leaks"][k] for k in leak_counts(out)} == leak_counts(out)
    assert summary["leaks"]["duplicates_within_splits"] == 1

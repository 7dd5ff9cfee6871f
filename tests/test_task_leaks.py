"""Leaks between a task's splits: genome tasks keep overlapping regions in one split."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from conftest import ASSETS, dnalm

TSS = ASSETS / "annotation" / "hg19_chr22_20-21Mb.tss.bed"
PEAKS = ASSETS / "annotation" / "hg19_chr22_20-21Mb.ctcf_peaks.bed"
MOTIF = ASSETS / "annotation" / "JASPAR2022_MA0139.1_CTCF.jaspar"
SPLITS = ("train", "dev", "test")


def read_splits(task: Path) -> dict[str, list[dict[str, str]]]:
    parts = {}
    for split in SPLITS:
        with open(task / f"{split}.csv", newline="") as fh:
            parts[split] = list(csv.DictReader(fh))
    return parts


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


def test_promscan_and_ctcf_keep_overlapping_windows_in_one_split(human_genome, tmp_path):
    dnalm("task-promscan", "--genome", human_genome, "--tss", TSS, "--out", tmp_path / "promscan")
    dnalm("task-ctcf", "--genome", human_genome, "--motif", MOTIF, "--peaks", PEAKS, "--out", tmp_path / "ctcf")
    for name in ("promscan", "ctcf"):
        parts = read_splits(tmp_path / name)
        assert all(parts.values()) and cross_split_pairs(parts) == [], name

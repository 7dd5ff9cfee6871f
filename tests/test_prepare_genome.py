"""prepare-genome on real genomes: N blocks, runs, statistics, soft-masking, contig selection."""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter

from helpers import CHR17, HUMAN, LAMBDA_SEQ, dnalm, read_fasta_plain


def _runs(genome_dir):
    with gzip.open(genome_dir / "runs.fa.gz", "rt") as fh:
        lines = fh.read().split("\n")
    return dict(zip([h[1:] for h in lines[0::2] if h], lines[1::2]))


def test_human_window_has_one_100kb_gap_and_two_runs(human_genome):
    gaps = [line.split("\t") for line in (human_genome / "gaps.bed").read_text().splitlines()]
    assert [(int(e) - int(s)) for _, s, e in gaps] == [100_000]
    runs = _runs(human_genome)
    assert len(runs) == 2
    seq = read_fasta_plain(HUMAN)["chr22_20M_21M"]
    for name, run in runs.items():
        start, end = map(int, re.search(r":(\d+)-(\d+)$", name).groups())
        assert run == seq[start:end]
        assert set(run) <= set("ACGT")
    assert int(gaps[0][1]) == len(next(iter(runs.values())))


def test_human_window_statistics_equal_an_independent_count(human_genome):
    seq = read_fasta_plain(HUMAN)["chr22_20M_21M"].upper()
    bases = Counter(seq)
    pairs = Counter(seq[i:i + 2] for i in range(len(seq) - 1))
    pairs = {p: c for p, c in pairs.items() if set(p) <= set("ACGT")}
    acgt = sum(bases[b] for b in "ACGT")
    stats = json.loads((human_genome / "genome_stats.json").read_text())["genome"]
    assert stats["length"] == len(seq) == 1_000_000
    assert stats["n"] == len(seq) - acgt == 100_000
    assert stats["gap_blocks"] == 1 and stats["runs_kept"] == 2
    assert {b: stats[b] for b in "ACGT"} == {b: bases[b] for b in "ACGT"}
    assert abs(stats["gc"] - (bases["G"] + bases["C"]) / acgt) < 1e-12
    total = sum(pairs.values())
    for p, c in pairs.items():
        assert abs(stats[p] - c / total) < 1e-12, p
    expected_oe = pairs["CG"] * acgt / (bases["C"] * bases["G"])
    assert abs(stats["cpg_observed_expected"] - expected_oe) < 1e-12
    mqc = (human_genome / "genome_stats_mqc.tsv").read_text()
    assert "plot_type: 'table'" in mqc and "hg19_chr22_20-21Mb" in mqc


def test_soft_masked_chr17_is_upper_cased_without_loss(tmp_path):
    raw = read_fasta_plain(CHR17)["chr17"]
    assert any(c.islower() for c in raw)
    out = tmp_path / "chr17"
    proc = dnalm("prepare-genome", "--fasta", CHR17, "--out", out, "--min-run", "1")
    runs = _runs(out)
    upper = raw.upper()
    covered = 0
    for name, run in runs.items():
        start, end = map(int, re.search(r":(\d+)-(\d+)$", name).groups())
        assert run == upper[start:end]
        covered += end - start
    stats = json.loads((out / "genome_stats.json").read_text())["genome"]
    assert stats["length"] == len(raw) == 40_000
    assert covered + stats["n"] == len(raw)
    assert stats["soft_masked_fraction"] == sum(c.islower() for c in raw) / len(raw)
    assert "soft-masked" in proc.stderr


def test_valid_oddities_are_accepted_and_logged(tmp_path):
    a, b = LAMBDA_SEQ[:3000], LAMBDA_SEQ[3000:6000]
    text = (">first some description text\r\n" + a[:1500].lower() + "\r\n" + a[1500:] + "\r\n"
            ">onlyN\r\n" + "N" * 500 + "\r\n"
            ">second\n" + b[:1000] + "RYKM" + b[1000:] + "\n")
    fasta = tmp_path / "odd.fa"
    fasta.write_bytes(text.encode())
    out = tmp_path / "odd"
    proc = dnalm("prepare-genome", "--fasta", fasta, "--out", out)
    assert "onlyN has no A/C/G/T" in proc.stderr
    runs = _runs(out)
    assert runs == {"first:0-3000": a.upper(), "second:0-1000": b[:1000], "second:1004-3004": b[1000:]}
    stats = {r["contig"]: r for r in json.loads((out / "genome_stats.json").read_text())["per_contig"]}
    assert stats["onlyN"]["runs"] == 0 and stats["second"]["n"] == 4


def test_contig_selection_with_globs(tmp_path):
    fasta = tmp_path / "multi.fa"
    fasta.write_text("".join(f">{name}\n{LAMBDA_SEQ[i * 1000:(i + 1) * 1000]}\n"
                             for i, name in enumerate(["chr1", "chr2", "chrUn_x", "chr3_random", "chrM"])))
    out = tmp_path / "sel"
    dnalm("prepare-genome", "--fasta", fasta, "--out", out, "--exclude-contigs", "chrUn*,*_random,chrM")
    assert [line.split("\t")[0] for line in (out / "runs.bed").read_text().splitlines()] == ["chr1", "chr2"]
    out2 = tmp_path / "sel2"
    dnalm("prepare-genome", "--fasta", fasta, "--out", out2, "--contigs", "chr2,chrM")
    assert [line.split("\t")[0] for line in (out2 / "runs.bed").read_text().splitlines()] == ["chr2", "chrM"]


def test_default_holdout_is_the_last_five_percent(human_genome):
    rows = [line.split("\t") for line in (human_genome / "holdout_default.bed").read_text().splitlines()]
    assert rows == [["chr22_20M_21M", str(1_000_000 - 45_000), "1000000"]]

"""Annotation tracks are checked against the genome's contigs and normalised to sorted BED."""

from __future__ import annotations

import json

import pytest
from helpers import LAMBDA_SEQ, MOTIF, SHARED, TSS, dnalm, dnalm_fails


def _as_sga(bed_lines, contig):
    """The bundled GENCODE TSS in EPD's SGA layout (chrom, feature, 1-based position, strand, count, name)."""
    rows = []
    for line in bed_lines:
        chrom, start, _end, name, _score, strand = line.split("\t")[:6]
        rows.append(f"{contig}\tTSS\t{int(start) + 1}\t{strand}\t1\t{name}_1")
    return "\n".join(rows) + "\n"


def test_mismatched_contig_names_fail_unless_mapped(tmp_path, human_genome):
    lines = TSS.read_text().splitlines()
    sga = tmp_path / "tss.sga"
    sga.write_text(_as_sga(lines, "NC_000022.10"))
    error = dnalm_fails("prepare-annotation", "--track", sga, "--name", "tss", "--format", "sga", "--role", "tss",
                        "--genome", human_genome, "--out", tmp_path / "bad")
    assert "NC_000022.10" in error and "--contig-map" in error and str(sga) in error
    mapping = tmp_path / "map.tsv"
    mapping.write_text("NC_000022.10\tchr22_20M_21M\n")
    dnalm("prepare-annotation", "--track", sga, "--name", "tss", "--format", "sga", "--role", "tss",
          "--genome", human_genome, "--contig-map", mapping, "--out", tmp_path / "ok")
    rows = [line.split("\t") for line in (tmp_path / "ok" / "tss.bed").read_text().splitlines()]
    original = sorted((int(f[1]), int(f[2]), f[5]) for f in (line.split("\t") for line in lines))
    assert sorted((int(r[1]), int(r[2]), r[5]) for r in rows) == original
    assert all(r[0] == "chr22_20M_21M" for r in rows)


def test_real_epd_promoters_on_refseq_accessions_are_refused(tmp_path, human_genome):
    epd = SHARED / "annotation" / "Hs_EPDnew_006_hg38.sga"
    if not epd.is_file():
        pytest.skip(f"{epd} not present (GitHub-derived data is not bundled)")
    assert "NC_000001.11" in dnalm_fails("prepare-annotation", "--track", epd, "--name", "epd", "--format", "sga",
                                         "--role", "tss", "--genome", human_genome, "--out", tmp_path / "epd",
                                         logs=True)  # not run here (no data): as before, log lines may come first


def test_intervals_beyond_the_contig_mean_another_assembly(tmp_path, human_genome):
    track = tmp_path / "far.bed"
    track.write_text("chr22_20M_21M\t999000\t1000500\tx\n")
    assert "another assembly" in dnalm_fails("prepare-annotation", "--track", track, "--name", "far", "--format",
                                             "bed", "--role", "other", "--genome", human_genome, "--out",
                                             tmp_path / "far")


def test_tracks_on_excluded_contigs_are_dropped_and_counted(tmp_path):
    fasta = tmp_path / "two.fa"
    fasta.write_text(f">chrA\n{LAMBDA_SEQ[:5000]}\n>chrM\n{LAMBDA_SEQ[5000:8000]}\n")
    dnalm("prepare-genome", "--fasta", fasta, "--exclude-contigs", "chrM", "--out", tmp_path / "g")
    track = tmp_path / "t.bed"
    track.write_text("chrM\t10\t20\tm\nchrA\t300\t400\tb\nchrA\t100\t200\ta\n")
    dnalm("prepare-annotation", "--track", track, "--name", "t", "--format", "bed", "--role", "other",
          "--genome", tmp_path / "g", "--out", tmp_path / "a")
    assert (tmp_path / "a" / "t.bed").read_text() == "chrA\t100\t200\ta\nchrA\t300\t400\tb\n"
    summary = json.loads((tmp_path / "a" / "annotation.json").read_text())
    assert summary["intervals"] == 2 and summary["dropped"] == 1


@pytest.mark.parametrize("args, message", [
    (["--format", "gff"], "invalid choice: 'gff'"),
    (["--role", "enhancers"], "invalid choice: 'enhancers'"),
    (["--name", "a b"], "--name"),
])
def test_bad_track_options(args, message, tmp_path, human_genome):
    base = {"--format": "bed", "--role": "tss", "--name": "tss"}
    base.update(dict(zip(args[::2], args[1::2])))
    flat = [x for kv in base.items() for x in kv]
    assert message in dnalm_fails("prepare-annotation", "--track", TSS, *flat, "--genome", human_genome,
                                  "--out", tmp_path / "o")


def test_jaspar_matrix_is_validated(tmp_path, human_genome):
    dnalm("prepare-annotation", "--track", MOTIF, "--name",
          "ctcf", "--format", "jaspar", "--role", "motif", "--genome", human_genome, "--out", tmp_path / "m")
    assert json.loads((tmp_path / "m" / "annotation.json").read_text())["motif_length"] == 19
    broken = tmp_path / "broken.jaspar"
    broken.write_text(">x\n1 2 3\n4 5\n6 7 8\n9 1 2\n")
    assert "equal length" in dnalm_fails("prepare-annotation", "--track", broken, "--name", "x", "--format", "jaspar",
                                         "--role", "motif", "--genome", human_genome, "--out", tmp_path / "x")

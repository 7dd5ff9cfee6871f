"""Genome preparation: clean contigs, N-free runs, statistics.

Everything downstream (vocabularies, tokenization, windows, next-k-mer data) reads the N-free runs this
step writes, never the raw FASTA, so contig selection and N handling are decided once, here.
"""

from __future__ import annotations

import fnmatch
import gzip
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from dnalm.core import mqc
from dnalm.core.errors import InputError
from dnalm.core.logs import log, progress
from dnalm.core.outputs import write_json, write_tsv
from dnalm.genome.fasta import read_fasta

BASES = "ACGT"
DINUCLEOTIDES = [a + b for a in BASES for b in BASES]
_CODE = np.full(256, 4, dtype=np.uint8)
for _i, _b in enumerate(BASES):
    _CODE[ord(_b)] = _i
_BLOCK = 1 << 24

# The pipeline names a --fasta genome by the same rule (genomeId in subworkflows/local/utils_dnalm_pipeline),
# and both accept only ids that can name files and stand on a command line unquoted (safeId there)
FASTA_SUFFIX = re.compile(r"(?i)\.(fa|fasta|fna|fas)(\.gz)?$|\.gz$")
GENOME_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")

RUNS_FASTA = "runs.fa.gz"
RUNS_BED = "runs.bed"


@dataclass
class ContigStats:
    """Composition of one contig (or of the whole genome, summed)."""

    name: str
    length: int = 0
    soft_masked: int = 0
    base_counts: np.ndarray = field(default_factory=lambda: np.zeros(4, dtype=np.int64))
    dinucleotide_counts: np.ndarray = field(default_factory=lambda: np.zeros(16, dtype=np.int64))
    gap_blocks: int = 0
    runs: int = 0
    runs_kept: int = 0
    bp_kept: int = 0

    def add(self, other: "ContigStats") -> None:
        for name in ("length", "soft_masked", "gap_blocks", "runs", "runs_kept", "bp_kept"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.base_counts += other.base_counts
        self.dinucleotide_counts += other.dinucleotide_counts

    def row(self) -> dict[str, float | int | str]:
        acgt = int(self.base_counts.sum())
        c, g = int(self.base_counts[1]), int(self.base_counts[2])
        pairs = max(int(self.dinucleotide_counts.sum()), 1)
        cg = int(self.dinucleotide_counts[DINUCLEOTIDES.index("CG")])
        out: dict[str, float | int | str] = {
            "contig": self.name,
            "length": self.length,
            "acgt": acgt,
            "n": self.length - acgt,
            "n_fraction": (self.length - acgt) / self.length if self.length else 0.0,
            "gap_blocks": self.gap_blocks,
            "gc": (c + g) / acgt if acgt else 0.0,
            "soft_masked_fraction": self.soft_masked / self.length if self.length else 0.0,
            "runs": self.runs,
            "runs_kept": self.runs_kept,
            "bp_kept": self.bp_kept,
            # Observed/expected CpG (Gardiner-Garden & Frommer 1987) over A/C/G/T positions.
            "cpg_observed_expected": cg * acgt / (c * g) if c and g else 0.0,
        }
        for i, base in enumerate(BASES):
            out[base] = int(self.base_counts[i])
        for i, dinuc in enumerate(DINUCLEOTIDES):
            out[dinuc] = int(self.dinucleotide_counts[i]) / pairs
        return out


@dataclass
class Run:
    """An N-free stretch of one contig, in BED coordinates (0-based, end exclusive)."""

    index: int
    contig: str
    start: int
    end: int
    seq: bytes

    @property
    def name(self) -> str:
        return f"{self.contig}:{self.start}-{self.end}"


def genome_id_from_name(name: str) -> str:
    """The genome id of a FASTA file name: GRCh38.p14.fa.gz -> GRCh38.p14."""
    return FASTA_SUFFIX.sub("", name, count=1)


def check_genome_id(genome_id: str) -> str:
    if not GENOME_ID.fullmatch(genome_id):
        raise InputError(f"--genome-id {genome_id!r}: use letters, digits, '_', '.' or '-' (starting with a letter "
                         f"or digit); it names outputs and report sections")
    return genome_id


def acgt_runs(seq: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Start and end offsets of the maximal runs of A/C/G/T in an upper-case sequence."""
    is_acgt = _CODE[np.frombuffer(seq, dtype=np.uint8)] < 4
    edges = np.diff(is_acgt.astype(np.int8), prepend=np.int8(0), append=np.int8(0))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def composition(seq: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Counts of A, C, G, T and of the 16 dinucleotides whose two letters are both A/C/G/T."""
    bases = np.zeros(4, dtype=np.int64)
    dinucs = np.zeros(16, dtype=np.int64)
    codes = _CODE[np.frombuffer(seq, dtype=np.uint8)]
    for lo in range(0, len(codes), _BLOCK):
        block = codes[lo:lo + _BLOCK + 1]
        bases += np.bincount(block[: _BLOCK], minlength=5)[:4]
        pair = block[:-1] * np.uint8(5) + block[1:]
        counts = np.bincount(pair, minlength=25)
        dinucs += counts.reshape(5, 5)[:4, :4].ravel()
    return bases, dinucs


def _matches(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def prepare_genome(fasta: Path, out: Path, genome_id: str, contigs: list[str], exclude: list[str],
                   min_run: int, holdout_fraction: float) -> dict:
    """Read a FASTA, write N-free runs, gaps, statistics and the default holdout set into `out`."""
    total = ContigStats(name="genome")
    per_contig: list[ContigStats] = []
    fasta_contigs: dict[str, int] = {}
    used_patterns: set[str] = set()
    runs_bed: list[tuple[str, int, int]] = []
    gaps_bed: list[tuple[str, int, int]] = []
    size = os.path.getsize(fasta)
    bar = progress(total=size, desc="reading FASTA", unit="B", unit_scale=True)
    with gzip.open(out / RUNS_FASTA, "wb", compresslevel=3) as runs_fa:
        for record in read_fasta(fasta, on_read=bar.update):
            fasta_contigs[record.name] = len(record.seq)
            if contigs and not _matches(record.name, contigs):
                continue
            used_patterns.update(p for p in contigs if fnmatch.fnmatchcase(record.name, p))
            if _matches(record.name, exclude):
                log.info("excluding contig %s (--exclude-contigs)", record.name)
                continue
            stats = _contig_runs(record, min_run, runs_fa, runs_bed, gaps_bed)
            per_contig.append(stats)
            total.add(stats)
    bar.close()
    missing = [p for p in contigs if p not in used_patterns]
    if missing:
        raise InputError(f"--contigs: no contig in {fasta} matches {', '.join(missing)}")
    if not per_contig:
        raise InputError(f"{fasta}: no contig left after --contigs/--exclude-contigs")
    if total.bp_kept == 0:
        raise InputError(f"{fasta}: the selected contigs have no A/C/G/T run of at least --min-run "
                         f"{min_run} bp")
    _write_bed(out / RUNS_BED, [(c, s, e, f"{c}:{s}-{e}") for c, s, e in runs_bed])
    _write_bed(out / "gaps.bed", gaps_bed)
    holdout = default_holdout(runs_bed, holdout_fraction)
    _write_bed(out / "holdout_default.bed", holdout)
    return _write_stats(out, genome_id, fasta, per_contig, total, min_run, holdout, fasta_contigs)


def _contig_runs(record, min_run: int, runs_fa, runs_bed: list, gaps_bed: list) -> ContigStats:
    """One contig: its composition, its gaps (every stretch of non-ACGT) into `gaps_bed`, and its N-free runs
    of `min_run` bp or more into the runs FASTA and `runs_bed`."""
    stats = ContigStats(name=record.name, length=len(record.seq), soft_masked=record.soft_masked)
    stats.base_counts, stats.dinucleotide_counts = composition(record.seq)
    starts, ends = acgt_runs(record.seq)
    stats.runs = len(starts)
    gap_starts = np.concatenate([[0], ends])
    gap_ends = np.concatenate([starts, [len(record.seq)]])
    for gs, ge in zip(gap_starts.tolist(), gap_ends.tolist()):
        if ge > gs:
            gaps_bed.append((record.name, gs, ge))
            stats.gap_blocks += 1
    if stats.runs == 0:
        log.warning("contig %s has no A/C/G/T (only N or other codes): skipped", record.name)
    for s, e in zip(starts.tolist(), ends.tolist()):
        if e - s < min_run:
            continue
        runs_fa.write(b">%s:%d-%d\n%s\n" % (record.name.encode(), s, e, record.seq[s:e]))
        runs_bed.append((record.name, s, e))
        stats.runs_kept += 1
        stats.bp_kept += e - s
    if stats.soft_masked:
        log.info("contig %s: %d soft-masked (lower-case) bases upper-cased", record.name, stats.soft_masked)
    iupac = stats.length - int(stats.base_counts.sum())
    if iupac:
        log.info("contig %s: %d non-ACGT positions in %d gap blocks", record.name, iupac, stats.gap_blocks)
    return stats


def default_holdout(runs: list[tuple[str, int, int]], fraction: float) -> list[tuple[str, int, int]]:
    """The last `fraction` of the runs' bases, in file order: the holdout set for any unnamed genome.

    Named human genomes hold out chr21 as GROVER did; for any other FASTA this keeps the benchmark data
    out of pretraining without knowing the genome's contigs.
    """
    want = round(sum(e - s for _, s, e in runs) * fraction)
    regions: list[tuple[str, int, int]] = []
    for contig, start, end in reversed(runs):
        if want <= 0:
            break
        take = min(want, end - start)
        regions.append((contig, end - take, end))
        want -= take
    return regions[::-1]


def _write_bed(path: Path, rows: list[tuple]) -> None:
    with open(path, "w") as fh:
        for row in rows:
            fh.write("\t".join(map(str, row)) + "\n")


def _write_stats(out: Path, genome_id: str, fasta: Path, per_contig: list[ContigStats],
                 total: ContigStats, min_run: int, holdout: list[tuple[str, int, int]],
                 fasta_contigs: dict[str, int]) -> dict:
    rows = [s.row() for s in per_contig]
    genome_row = total.row()
    header = list(genome_row)
    write_tsv(out / "genome_stats.tsv", header, [[r[h] for h in header] for r in rows + [genome_row]])
    summary = {
        "genome_id": genome_id,
        "fasta": str(fasta),
        "min_run": min_run,
        "contigs": len(per_contig),
        "holdout_default_bp": sum(e - s for _, s, e in holdout),
        "genome": genome_row,
        "per_contig": rows,
        # Every record of the FASTA, selected or not, so annotations can be checked against the assembly.
        "fasta_contigs": fasta_contigs,
    }
    write_json(out / "genome_stats.json", summary)
    columns = ["length", "n_fraction", "gap_blocks", "gc", "cpg_observed_expected", "soft_masked_fraction",
               "runs_kept", "bp_kept"]
    mqc.write_table(out / "genome_stats_mqc.tsv", "dnalm_genome", "Genome",
                    "Composition of the prepared genome (all selected contigs): N-free runs feed every later step.",
                    ["Sample"] + columns, [[genome_id] + [genome_row[c] for c in columns]])
    mqc.write_plot(out / "genome_dinucleotides_mqc.yaml", "dnalm_genome_dinucleotides",
                   "Dinucleotide frequencies", "Share of each dinucleotide among adjacent A/C/G/T pairs.",
                   "bargraph", {genome_id: {d: genome_row[d] for d in DINUCLEOTIDES}}, cpswitch=False)
    log.info("%s: %d contigs, %d bp, %d N-free runs kept (%d bp), GC %.3f", genome_id, len(per_contig),
             total.length, total.runs_kept, total.bp_kept, genome_row["gc"])
    return summary


def read_stats(genome_dir: Path) -> dict:
    """genome_stats.json of a prepared genome: contigs, their lengths and the genome's base composition."""
    path = Path(genome_dir) / "genome_stats.json"
    if not path.is_file():
        raise InputError(f"--genome {genome_dir}: not a prepared genome (no {path.name}); run prepare-genome")
    return json.loads(path.read_text())


def read_runs_bed(genome_dir: Path) -> list[tuple[str, int, int]]:
    """The (contig, start, end) of every kept run, in file order."""
    path = Path(genome_dir) / RUNS_BED
    if not path.is_file():
        raise InputError(f"--genome {genome_dir}: not a prepared genome (no {RUNS_BED}); run prepare-genome")
    with open(path) as fh:
        return [(f[0], int(f[1]), int(f[2])) for f in (line.split("\t") for line in fh)]


def iter_runs(genome_dir: Path) -> Iterator[Run]:
    """Stream the N-free runs of a prepared genome, in file order."""
    bed = read_runs_bed(genome_dir)
    with gzip.open(Path(genome_dir) / RUNS_FASTA, "rb") as fh:
        for index, (contig, start, end) in enumerate(bed):
            fh.readline()
            seq = fh.readline().rstrip(b"\n")
            if len(seq) != end - start:
                raise InputError(f"--genome {genome_dir}: {RUNS_FASTA} does not match {RUNS_BED} at run {index}")
            yield Run(index=index, contig=contig, start=start, end=end, seq=seq)

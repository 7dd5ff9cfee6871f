"""Annotation tracks: checked against the genome's contigs once, then used by every analysis step.

Annotations come from other sources than the FASTA and often name contigs differently (`NC_000001.11`
vs `chr1`) or belong to another assembly. Each track is normalised here into a sorted, tab-separated BED
on the genome's contig names, so a mismatch is one clear error at the start of a run instead of an empty
overlap days later.
"""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

from dnalm.core.errors import InputError
from dnalm.core.logs import log
from dnalm.core.outputs import write_json
from dnalm.genome.bed import data_lines

FORMATS = ("bed", "sga", "jaspar")
ROLES = ("repeats", "chromhmm", "genes", "tss", "ctcf_peaks", "motif", "cpg", "other")


def read_contig_map(path: Path | None) -> dict[str, str]:
    """Two columns, whitespace-separated: the annotation's contig name, the genome's contig name."""
    if path is None:
        return {}
    mapping = {}
    for lineno, fields in data_lines(path, "--contig-map"):
        if len(fields) < 2:
            raise InputError(f"--contig-map {path}: line {lineno}: needs two columns (from, to)")
        mapping[fields[0]] = fields[1]
    return mapping


def read_track(path: Path, fmt: str, flag: str = "--track") -> list[list[str]]:
    """BED rows (chrom, start, end, extra columns...) of a BED or EPD SGA file, as strings."""
    rows = []
    for lineno, f in data_lines(path, flag):
        try:
            if fmt == "bed":
                start, end = int(f[1]), int(f[2])
                row = [f[0], str(start), str(end)] + f[3:]
            else:  # SGA: chrom, feature, position (1-based), strand, count, name
                pos = int(f[2])
                start, end = pos - 1, pos
                row = [f[0], str(start), str(end), f[5] if len(f) > 5 else f[1], f[4], f[3]]
        except (IndexError, ValueError):
            columns = "chrom start end" if fmt == "bed" else "chrom feature position strand count name"
            raise InputError(f"{flag} {path}: line {lineno}: not {fmt.upper()} ({columns})") from None
        if not 0 <= start < end:
            raise InputError(f"{flag} {path}: line {lineno}: start must be >= 0 and < end")
        rows.append(row)
    if not rows:
        raise InputError(f"{flag} {path}: no intervals")
    return rows


def check_jaspar(path: Path) -> int:
    """Validate a JASPAR matrix (rows `A [ ... ]`, or four unlabelled rows in A, C, G, T order)."""
    rows: list[list[float]] = []
    labels: list[str] = []
    for _, fields in data_lines(path, "--track"):
        if fields[0].startswith(">"):
            continue
        if fields[0] in ("A", "C", "G", "T"):
            labels.append(fields[0])
            fields = fields[1:]
        try:
            rows.append([float(x) for x in " ".join(fields).replace("[", " ").replace("]", " ").split()])
        except ValueError:
            raise InputError(f"--track {path}: not a JASPAR matrix (row {len(rows) + 1})") from None
    if len(rows) != 4 or (labels and labels != list("ACGT")) or len({len(r) for r in rows}) != 1 or not rows[0]:
        raise InputError(f"--track {path}: a JASPAR matrix needs four rows (A, C, G, T) of equal length")
    return len(rows[0])


def prepare_annotation(track: Path, name: str, fmt: str, role: str, genome_dir: Path, contig_map: Path | None,
                       out: Path) -> dict:
    """Normalise one annotation track onto the genome's contig names and check it fits the assembly."""
    from dnalm.genome.prepare import read_stats  # numpy: not at import, the CLI's parser reads this module

    stats = read_stats(genome_dir)
    fasta_contigs: dict[str, int] = stats["fasta_contigs"]
    kept_contigs = {row["contig"] for row in stats["per_contig"]}
    summary: dict = {"name": name, "format": fmt, "role": role, "source": str(track)}
    if fmt == "jaspar":
        summary["motif_length"] = check_jaspar(track)
        shutil.copy(track, out / f"{name}.jaspar")
        write_json(out / "annotation.json", summary)
        return summary
    mapping = read_contig_map(contig_map)
    rows = read_track(track, fmt)
    for row in rows:
        row[0] = mapping.get(row[0], row[0])
    contigs = Counter(row[0] for row in rows)
    unknown = [c for c in contigs if c not in fasta_contigs]
    if unknown:
        hint = "; give --contig-map" if not mapping else "; extend --contig-map"
        raise InputError(f"--track {track}: contig names not in the genome FASTA: {', '.join(sorted(unknown)[:3])}"
                         f"{' ...' if len(unknown) > 3 else ''} (genome has e.g. "
                         f"{', '.join(list(fasta_contigs)[:3])}){hint}")
    for row in rows:
        if int(row[2]) > fasta_contigs[row[0]]:
            raise InputError(f"--track {track}: interval {row[0]}:{row[1]}-{row[2]} ends beyond the contig "
                             f"({fasta_contigs[row[0]]} bp): is the track from another assembly?")
    kept = [row for row in rows if row[0] in kept_contigs]
    if len(kept) < len(rows):
        log.info("%s: %d intervals on contigs excluded from the genome dropped", name, len(rows) - len(kept))
    order = {c: i for i, c in enumerate(fasta_contigs)}
    kept.sort(key=lambda r: (order[r[0]], int(r[1]), int(r[2])))
    with open(out / f"{name}.bed", "w") as fh:
        for row in kept:
            fh.write("\t".join(row) + "\n")
    summary.update(intervals=len(kept), dropped=len(rows) - len(kept), contigs=len({r[0] for r in kept}),
                   bp=sum(int(r[2]) - int(r[1]) for r in kept), renamed=bool(mapping))
    write_json(out / "annotation.json", summary)
    log.info("%s (%s): %d intervals on %d contigs", name, role, len(kept), summary["contigs"])
    return summary

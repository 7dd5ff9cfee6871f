"""Variants read from a VCF and checked against the prepared genome; the scores written back as a VCF.

pysam (htslib, what bcftools is built on) reads and writes, so the output reads back in bcftools without
warnings. What each kind of record becomes:
- a contig the genome lacks: an error naming the record (chr1 against 1: the VCF needs renaming first);
- a REF that differs from the genome: an error naming the record (the VCF is for another assembly), whatever
  its ALTs (symbolic or not): each A/C/G/T base of every REF inside an N-free run is checked;
- several ALT alleles: each scored on its own (one TSV row each; INFO fields with one value per ALT);
- SNVs, MNVs and indels: scored;
- what cannot be scored as asked: an ALT that is not a sequence (`<DEL>`, `*`, breakends, missing), a REF or
  ALT with bases other than A/C/G/T (IUPAC codes, N), an ALT equal to REF, a REF or ALT not shorter than
  `--window` (no room for context: a long deletion would be scored on its own bases), a repeat of an
  earlier record's allele (same CHROM, POS, REF, ALT: scored once, the repeat names the first), a REF outside
  the genome's N-free runs (in a gap), or an ALT window of more tokens than the model has positions: kept in
  both outputs without a score, the reason in the TSV, a count in the log. htslib writes the END it reads a
  symbolic allele with (POS + len(REF) - 1) into INFO, so such records gain END where they had none, and
  the header declares END if it did not.
"""

from __future__ import annotations

import gzip
import re
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dnalm.core.errors import InputError
from dnalm.core.outputs import write_tsv

ACGT = re.compile(r"[ACGT]+")


@dataclass(frozen=True)
class Allele:
    """One ALT allele of one VCF record (`record`, `alt_index`: where in the VCF; `vid`: its ID); `start` is REF's
    first base, 0-based. Saturation mutagenesis makes them too: `record` is then the position's index and `vid`
    its region."""

    record: int
    alt_index: int
    chrom: str
    start: int
    ref: str
    alt: str
    vid: str

    @property
    def name(self) -> str:
        return f"{self.chrom}:{self.start + 1} {self.ref}>{self.alt}"


def readable(path: Path, scratch: Path) -> Path:
    """`path`, or a plain copy in `scratch` where it is gzip- rather than bgzip-compressed (htslib reads
    plain and bgzipped VCFs only)."""
    with open(path, "rb") as fh:
        head = fh.read(14)
    if head[:2] != b"\x1f\x8b" or (len(head) == 14 and head[3] & 4 and head[12:14] == b"BC"):
        return path
    plain = Path(scratch) / "variants.vcf"
    try:
        with gzip.open(path) as src, open(plain, "wb") as dst:
            shutil.copyfileobj(src, dst)
    except (OSError, EOFError) as exc:
        raise InputError(f"--variants {path}: not a readable gzip file ({exc})") from None
    return plain


def read_alleles(path: Path, contigs: set[str], shown: Path,
                 window: int | None = None) -> tuple[list[Allele], dict[tuple[int, int], str]]:
    """Every ALT allele of the VCF at `path` (`shown` in messages), those that cannot be scored as asked too (so
    that every REF is checked), and why those are not scored (by (record, alt index)). `window`: the bp each
    allele is scored in (None: no limit)."""
    import pysam

    unscorable: dict[tuple[int, int], str] = {}
    alleles: list[Allele] = []
    first: dict[tuple[str, int, str, str], Allele] = {}
    pysam.set_verbosity(0)  # htslib's warnings (contigs missing from the header): the checks here say more
    try:
        vcf = pysam.VariantFile(str(path))
    except (OSError, ValueError, NotImplementedError) as exc:
        raise InputError(f"--variants {shown}: not a readable VCF ({exc})") from None
    with vcf:
        for i, rec in enumerate(vcf):
            if rec.chrom not in contigs:
                raise InputError(f"--variants {shown}: record {rec.chrom}:{rec.pos} is on contig {rec.chrom!r}, which "
                                 f"the genome lacks (it has {', '.join(sorted(contigs)[:5])}"
                                 f"{', ...' if len(contigs) > 5 else ''})")
            ref = rec.ref.upper()
            for j, alt in enumerate(rec.alts or (None,)):
                reason = _unscorable(ref, alt, window)
                allele = Allele(i, j, rec.chrom, rec.start, ref, (alt or ".") if reason == SYMBOLIC else alt.upper(),
                                rec.id or ".")
                reason = reason or _repeat(allele, first)
                if reason:
                    unscorable[(i, j)] = reason
                alleles.append(allele)
    return alleles, unscorable


def scorable(alleles: list[Allele], unscorable: dict[tuple[int, int], str]) -> list[Allele]:
    """The alleles with no reason not to be scored."""
    return [a for a in alleles if (a.record, a.alt_index) not in unscorable]


#: Why a symbolic ALT (<DEL>, a breakend, `*`) is not scored; such a VCF's output declares END.
SYMBOLIC = "ALT is not a sequence"


def _unscorable(ref: str, alt: str | None, window: int | None) -> str | None:
    """Why an allele cannot be scored as asked, from its own REF and ALT; None where it can."""
    if alt is None or alt in (".", "*") or alt.startswith("<") or "[" in alt or "]" in alt:
        return SYMBOLIC
    if not ACGT.fullmatch(ref) or not ACGT.fullmatch(alt.upper()):
        return "bases other than A/C/G/T"
    if alt.upper() == ref:
        return "ALT equals REF (not a variant)"
    for name, seq in (("REF", ref), ("ALT", alt)):
        if window is not None and len(seq) >= window:
            return f"{name} not shorter than --window ({len(seq)} bp, --window {window}: no room for context)"
    return None


def _repeat(allele: Allele, first: dict[tuple[str, int, str, str], Allele]) -> str | None:
    """Why an allele seen before (same CHROM, POS, REF, ALT) is not scored again, naming the first; None, and
    `allele` remembered, where it is new."""
    seen = first.setdefault((allele.chrom, allele.start, allele.ref, allele.alt), allele)
    return None if seen is allele else f"duplicate (of record {seen.record + 1} of the VCF, ID {seen.vid})"


def check_ref(path: Path, allele: Allele, genome_bases: bytes) -> None:
    """The genome's bases where the allele's REF lies must be REF's, wherever REF has a base (A/C/G/T; not an
    N or an IUPAC code, whose allele is not scored), whatever the ALT."""
    genome = genome_bases.decode()
    if any(r in "ACGT" and r != g for r, g in zip(allele.ref, genome)):
        raise InputError(f"--variants {path}: record {allele.name}: REF {allele.ref} does not match the genome "
                         f"({genome}); is the VCF for another assembly?")


def _qual(qual: float | None) -> str:
    """QUAL as htslib holds it (a 32-bit float), in the fewest digits that read back as that float: the VCF's
    own text where it fits, never the 6 significant digits a float cell gets (1307274.62 is not 1.30727e+06)."""
    return "." if qual is None else np.format_float_positional(np.float32(qual), trim="-")


def write_tsv_table(path: Path, source: Path, fields: list[str], scores: dict[tuple[int, int], dict],
                    unscorable: dict[tuple[int, int], str]) -> dict[str, int]:
    """One row per ALT allele: the VCF's CHROM POS ID REF ALT QUAL FILTER, the scores, and `status`; the
    number of rows of each kind of status (its text before ` (`, the allele's own details: a thousand
    duplicates are one count in the log and summary, not a thousand)."""
    import pysam

    rows = []
    with pysam.VariantFile(str(source)) as vcf:
        for i, rec in enumerate(vcf):
            for j, alt in enumerate(rec.alts or (".",)):
                got = scores.get((i, j), {})
                status = "scored" if (i, j) in scores else unscorable.get((i, j), "not scored")
                rows.append([rec.chrom, rec.pos, rec.id or ".", rec.ref, alt,
                             _qual(rec.qual), ";".join(rec.filter.keys()) or ".",
                             *[got.get(f, "") for f in fields], status])
    write_tsv(path, ["CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", *fields, "status"], rows)
    return dict(Counter(r[-1].split(" (")[0] for r in rows).most_common())


def write_vcf(path: Path, source: Path, fields: dict[str, str], scores: dict[tuple[int, int], dict],
              contig_lengths: dict[str, int], symbolic: bool) -> None:
    """The input VCF with each score as an INFO field (one value per ALT, `.` where not scored), sorted by
    contig and position, bgzipped and tabix-indexed. `symbolic`: some ALT is symbolic (htslib adds END)."""
    import pysam

    with pysam.VariantFile(str(source)) as vcf:
        header = vcf.header
        for contig, length in contig_lengths.items():
            if contig not in header.contigs:
                header.contigs.add(contig, length=length)
        if symbolic and "END" not in header.info:
            header.info.add("END", 1, "Integer", "End position of the variant described in this record")
        for name, description in fields.items():
            header.info.add(name, "A", "Float", description)
        records = list(enumerate(vcf))
    records.sort(key=lambda item: (item[1].rid, item[1].pos, item[0]))
    with pysam.VariantFile(str(path), "wz", header=header) as out:
        for i, rec in records:
            for name in fields:
                values = [scores.get((i, j), {}).get(name) for j in range(len(rec.alts or ()))]
                if any(v is not None for v in values):
                    rec.info[name] = tuple(values)
            out.write(rec)
    pysam.tabix_index(str(path), preset="vcf", force=True)

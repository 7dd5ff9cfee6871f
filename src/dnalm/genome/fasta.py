"""Strict, streaming FASTA reading.

Genomes arrive from many sources (UCSC, Ensembl, NCBI, assemblers), so the reader accepts what is valid
(gzip or plain, any line width, CRLF, soft-masked lower case, IUPAC codes, description text after the
name) and rejects with one line what would silently corrupt a model (binary or truncated files, sequence
before a header, duplicate names, characters that are not nucleotide codes).
"""

from __future__ import annotations

import gzip
import io
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from dnalm.core.errors import InputError

#: IUPAC nucleotide codes (and U), either case. Everything else in a sequence line is an error.
NUCLEOTIDE_CODES = b"ACGTUNRYKMSWBDHVacgtunrykmswbdhv"
_WHITESPACE = b" \t\r\n"


@dataclass
class Record:
    """One FASTA record: `seq` is upper case; `soft_masked` counts the lower-case letters it had."""

    name: str
    description: str
    seq: bytes
    soft_masked: int


class _CountingReader(io.RawIOBase):
    """Counts bytes read from the file on disk, so progress works for gzip input too."""

    def __init__(self, raw: BinaryIO, on_read: Callable[[int], None] | None):
        self.raw, self.on_read = raw, on_read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        n = self.raw.readinto(buffer)
        if self.on_read and n:
            self.on_read(n)
        return n


def _open(path: Path, on_read: Callable[[int], None] | None) -> BinaryIO:
    raw = open(path, "rb")
    magic = raw.read(2)
    raw.seek(0)
    counted = io.BufferedReader(_CountingReader(raw, on_read), buffer_size=1 << 20)
    if magic == b"\x1f\x8b":
        return io.BufferedReader(gzip.GzipFile(fileobj=counted), buffer_size=1 << 20)  # type: ignore[return-value]
    return counted  # type: ignore[return-value]


def read_fasta(path: Path, on_read: Callable[[int], None] | None = None) -> Iterator[Record]:
    """Yield the records of a FASTA or FASTA.gz file, validated, one whole contig at a time."""
    try:
        with _open(path, on_read) as fh:
            yield from _parse(path, fh)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise InputError(f"{path}: corrupt or truncated gzip file ({exc})") from None


def _parse(path: Path, fh: BinaryIO) -> Iterator[Record]:
    seen: set[str] = set()
    name: str | None = None
    description = ""
    chunks: list[bytes] = []
    lineno = 0
    for lineno, line in enumerate(fh, start=1):
        if lineno == 1 and b"\x00" in line:
            raise InputError(f"{path}: binary content, not a FASTA file")
        if line.startswith(b">"):
            if name is not None:
                yield _record(name, description, chunks)
            name, description = _header(path, line, lineno)
            if name in seen:
                raise InputError(f"{path}: line {lineno}: duplicate contig name '{name}'")
            seen.add(name)
            chunks = []
            continue
        stripped = line.strip(_WHITESPACE)
        if not stripped:
            continue
        if name is None:
            raise InputError(f"{path}: line {lineno}: sequence before the first '>' header; not a FASTA file")
        bad = stripped.translate(None, NUCLEOTIDE_CODES)
        if bad:
            raise InputError(f"{path}: line {lineno}: contig '{name}' has a character that is not a "
                             f"nucleotide code: {_show(bad[:1])}")
        chunks.append(stripped)
    if name is None:
        raise InputError(f"{path}: empty: no FASTA record found" if lineno == 0 else
                         f"{path}: no '>' header found; not a FASTA file")
    yield _record(name, description, chunks)


def _header(path: Path, line: bytes, lineno: int) -> tuple[str, str]:
    try:
        text = line[1:].decode("ascii").strip()
    except UnicodeDecodeError:
        raise InputError(f"{path}: line {lineno}: header is not ASCII text; not a FASTA file") from None
    parts = text.split(None, 1)
    if not parts:
        raise InputError(f"{path}: line {lineno}: header without a contig name")
    return parts[0], parts[1] if len(parts) > 1 else ""


_LOWER = bytes(range(ord("a"), ord("z") + 1))


def _record(name: str, description: str, chunks: list[bytes]) -> Record:
    raw = b"".join(chunks)
    soft_masked = len(raw) - len(raw.translate(None, _LOWER))
    return Record(name=name, description=description, seq=raw.upper(), soft_masked=soft_masked)


def _show(char: bytes) -> str:
    c = char[0]
    return repr(chr(c)) if 32 < c < 127 else f"byte 0x{c:02x}"

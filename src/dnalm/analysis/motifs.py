"""Position weight matrices: read from a JASPAR collection, built from aligned instances, written in MEME's
text format, matched with TOMTOM (memelite) and drawn as sequence logos.

Matrices are base probabilities of shape (4, length), rows A, C, G, T, the layout memelite takes.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dnalm.core.errors import InputError
from dnalm.core.plotting import figure

BASES = "ACGT"
COLOURS = {"A": "#109648", "C": "#255C99", "G": "#F7B32B", "T": "#D62839"}


@dataclass(frozen=True)
class Motif:
    id: str
    name: str
    pwm: np.ndarray


def _text(path: Path) -> str:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as fh:
        return fh.read()


def read_jaspar_collection(path: Path, flag: str = "--motifs") -> list[Motif]:
    """Every matrix of a JASPAR file (`>ID NAME` then four rows A, C, G, T, bracketed or not), plain or gzip: the
    format of JASPAR's bulk downloads."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{flag} {path}: no such file")
    motifs, header, rows = [], None, []
    for number, line in enumerate(_text(path).splitlines() + [">"], 1):
        line = line.strip()
        if not line.startswith(">"):
            if line:
                rows.append(line.lstrip("ACGT \t").replace("[", " ").replace("]", " ").split())
            continue
        if header is not None:
            motifs.append(_motif(header, rows, path, flag, number))
        header, rows = line[1:].split(), []
    if not motifs:
        raise InputError(f"{flag} {path}: no JASPAR matrix (a '>ID NAME' line, then rows A, C, G, T)")
    return motifs


def _motif(header: list[str], rows: list[list[str]], path: Path, flag: str, line: int) -> Motif:
    if not header or len(rows) != 4 or len({len(r) for r in rows}) != 1:
        raise InputError(f"{flag} {path}: the matrix ending at line {line} is not a '>ID NAME' line and four rows "
                         "(A, C, G, T) of equal length")
    try:
        counts = np.array(rows, dtype=float)
    except ValueError:
        raise InputError(f"{flag} {path}: a non-number in the matrix ending at line {line}") from None
    name = header[1].removeprefix(header[0] + ".") if len(header) > 1 else header[0]  # JASPAR: `>ID ID.NAME`
    return Motif(header[0], name, counts / np.maximum(counts.sum(0, keepdims=True), 1e-9))


def pwm_of(instances: list[str], pseudocount: float = 0.1) -> np.ndarray:
    """Base probabilities of equally long, aligned instances (a pseudocount per base)."""
    counts = np.full((4, len(instances[0])), pseudocount)
    for seq in instances:
        for i, b in enumerate(seq):
            if b in BASES:
                counts[BASES.index(b), i] += 1
    return counts / counts.sum(0, keepdims=True)


def information(pwm: np.ndarray) -> np.ndarray:
    """Bits per position against uniform bases."""
    return 2 + (pwm * np.log2(np.clip(pwm, 1e-9, 1))).sum(0)


def trimmed(pwm: np.ndarray, min_bits: float) -> np.ndarray:
    """Without the uninformative positions at either end (at least one position is kept)."""
    keep = np.flatnonzero(information(pwm) >= min_bits)
    return pwm[:, keep[0]:keep[-1] + 1] if len(keep) else pwm[:, :1]


def consensus(pwm: np.ndarray) -> str:
    return "".join(BASES[i] for i in pwm.argmax(0))


def write_meme(path: Path, motifs: list[Motif], sites: list[int]) -> None:
    """MEME's minimal motif format, read by the MEME suite (tomtom, fimo) and by memelite."""
    lines = ["MEME version 4", "", "ALPHABET= ACGT", "", "strands: + -", "",
             "Background letter frequencies", "A 0.25 C 0.25 G 0.25 T 0.25", ""]
    for motif, n in zip(motifs, sites):
        lines += [f"MOTIF {motif.id} {motif.name}", "",
                  f"letter-probability matrix: alength= 4 w= {motif.pwm.shape[1]} nsites= {n} E= 0"]
        lines += [" ".join(f"{p:.4f}" for p in column) for column in motif.pwm.T]
        lines.append("")
    path.write_text("\n".join(lines) + "\n")


def best_matches(queries: list[np.ndarray], targets: list[Motif], top: int) -> list[list[tuple[Motif, float]]]:
    """For each query, its `top` closest targets by TOMTOM p-value (both strands), closest first."""
    from memelite import tomtom

    p_values = tomtom(queries, [t.pwm for t in targets], n_jobs=1)[0]
    return [[(targets[j], float(row[j])) for j in np.argsort(row, kind="stable")[:top]] for row in p_values]


def draw_logo(ax, pwm: np.ndarray) -> None:
    """A sequence logo: at each position the letters stacked by probability, the stack as tall as the bits."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.patches import PathPatch
    from matplotlib.textpath import TextPath
    from matplotlib.transforms import Affine2D

    font = FontProperties(family="DejaVu Sans", weight="bold")
    for x, (column, bits) in enumerate(zip(pwm.T, information(pwm))):
        y = 0.0
        for i in np.argsort(column):
            height = column[i] * bits
            if height <= 1e-3:
                continue
            letter = TextPath((0, 0), BASES[i], size=1, prop=font)
            box = letter.get_extents()
            shape = Affine2D().translate(-box.x0, -box.y0).scale(0.9 / box.width, height / box.height)
            ax.add_patch(PathPatch(shape.translate(x + 0.05, y).transform_path(letter), color=COLOURS[BASES[i]],
                                   lw=0))
            y += height
    ax.set(xlim=(0, pwm.shape[1]), ylim=(0, 2), ylabel="bits")
    ax.set_xticks(np.arange(pwm.shape[1]) + 0.5, [str(i + 1) for i in range(pwm.shape[1])], fontsize=6)


def logo(path: Path, pwm: np.ndarray, title: str) -> None:
    with figure(path, figsize=(max(3.0, 0.35 * pwm.shape[1] + 1), 2.0)) as (_, ax):
        draw_logo(ax, pwm)
        ax.set_title(title, fontsize=8)


def logos(path: Path, pwms: list[np.ndarray], titles: list[str]) -> None:
    """Several logos, one above the other, on one scale of positions."""
    width = max(p.shape[1] for p in pwms)
    with figure(path, len(pwms), 1, figsize=(max(4.0, 0.35 * width + 1), 1.7 * len(pwms)), squeeze=False) as (_, axes):
        for ax, pwm, title in zip(axes[:, 0], pwms, titles):
            draw_logo(ax, pwm)
            ax.set_xlim(0, width)
            ax.set_title(title, fontsize=8)

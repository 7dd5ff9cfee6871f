"""[CLS] embeddings of consecutive genome windows, their UMAP and annotation overlaps (GROVER Fig. 5)"""

from __future__ import annotations

import argparse
from pathlib import Path

from dnalm.cli.options import POSITIVE_INT, add_analysis_inputs, analysis_inputs
from dnalm.core.errors import InputError


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_analysis_inputs(p)
    p.add_argument("--tracks", nargs="+", action="extend", default=[], metavar="[NAME=]BED",
                   help="annotation tracks to overlap: repeats, chromHMM states, genes with strand ... (name: the "
                        "file name before its first dot, unless given)")
    p.add_argument("--window-tokens", type=POSITIVE_INT, default=510, help="tokens per window")
    p.add_argument("--min-tokens", type=POSITIVE_INT, default=50, help="shortest last window kept")
    p.add_argument("--umap-max", type=POSITIVE_INT, default=20_000,
                   help="UMAP is fitted on at most this many windows, the rest transformed")
    p.add_argument("--resume-dir", type=Path,
                   help="keep the embeddings and the count of windows done here; a rerun continues after them")


def named_tracks(specs: list[str]) -> dict[str, Path]:
    """`NAME=BED` or `BED` (named for the file, before its first dot), each an existing file."""
    tracks = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        path = Path(path if sep else spec)
        if not path.is_file():
            raise InputError(f"--tracks {spec}: no such BED file")
        tracks[name if sep else path.name.split(".")[0]] = path
    return tracks


def run(args: argparse.Namespace, out: Path) -> None:
    from dnalm.analysis.window_embeddings import window_embeddings

    window_embeddings(out=out, tracks=named_tracks(args.tracks), length=args.window_tokens, min_len=args.min_tokens,
                      umap_max=args.umap_max, resume_dir=args.resume_dir, **analysis_inputs(args))

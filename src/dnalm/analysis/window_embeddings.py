"""Embeddings of consecutive genome windows (GROVER Fig. 5b-d): the [CLS] vector of each window, their UMAP,
and each window's overlap with annotation tracks; resumable, since a genome is millions of windows.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from itertools import islice
from pathlib import Path
from typing import Iterator

import numpy as np

from dnalm.analysis.model import load_model
from dnalm.core import fingerprint, mqc
from dnalm.core.errors import InputError
from dnalm.core.logs import log, progress
from dnalm.core.outputs import atomic_file, write_json, write_tsv
from dnalm.genome.intervals import window_overlaps
from dnalm.pretraining.data import collate
from dnalm.vocab.tokenized import INDEX, SPAN_BLOCK, TOKENS, TokenizedGenome


def iter_windows(genome: TokenizedGenome, length: int, min_len: int) -> Iterator[tuple[str, int, int, np.ndarray]]:
    """Consecutive non-overlapping windows of `length` tokens along every run (a last shorter one kept when
    it has `min_len` tokens): (contig, start, end, ids)."""
    block = length * max(1, SPAN_BLOCK // length)  # whole windows in each block of the run
    for run, contig, start, _end, _first, _n in genome.runs:
        for _lo, ids, starts, ends in genome.run_spans(run, block):
            for lo in range(0, len(ids), length):
                hi = min(lo + length, len(ids))
                if hi - lo >= min_len:
                    yield contig, start + int(starts[lo]), start + int(ends[hi - 1]), ids[lo:hi]


def window_embeddings(model_dir: Path, tokenized_dir: Path, out: Path, tracks: dict[str, Path], *, length: int,
                      min_len: int, batch_size: int, umap_max: int, seed: int, resume_dir: Path | None,
                      save_every: float = 60.0) -> dict:
    """[CLS] embeddings of the last layer for consecutive windows across the genome, their UMAP, and every
    track's overlap (GROVER Fig. 5b-d). Windows stream through the model; with `resume_dir`, the embeddings
    are written into `resume_dir/<fingerprint>/` (see `embedding_inputs`) with the count of windows done,
    saved every `save_every` seconds, and a restarted run with the same model, tokenized genome and window
    settings continues after them."""
    genome = TokenizedGenome.open(tokenized_dir)
    model = load_model(model_dir, genome)
    _check_window_fits(model, length)
    with open(out / "windows.bed", "w") as fh:
        for i, (contig, s, e, _) in enumerate(iter_windows(genome, length, min_len)):
            fh.write(f"{contig}\t{s}\t{e}\t{i}\n")
    n_windows = sum(1 for _ in open(out / "windows.bed"))
    if n_windows < 2:
        raise InputError(f"--tokenized {tokenized_dir}: {n_windows} window of {min_len}+ tokens; too few to map")
    kept = (KeptEmbeddings(_resume_path(Path(resume_dir), model_dir, tokenized_dir, length, min_len, batch_size),
                           (n_windows, model.config.hidden_size), save_every) if resume_dir else None)
    first = kept.done // batch_size if kept else 0
    began = time.perf_counter()
    embeddings = _embed(model, iter_windows(genome, length, min_len), n_windows, batch_size, first, kept,
                        out / "window_embeddings.npy")
    embed_seconds = time.perf_counter() - began
    xy = _window_umap(embeddings, umap_max, seed)
    columns, colourings = _track_columns(out / "windows.bed", tracks)
    write_tsv(out / "windows.tsv", ["contig", "start", "end", "umap1", "umap2"] + list(columns),
              _window_rows(out / "windows.bed", xy, columns))
    from dnalm.analysis.embedding_report import plot_panels

    plot_panels(xy, colourings or {"window": np.zeros(n_windows)}, "UMAP of window embeddings ([CLS], last layer)",
                out / "window_umap.png")
    computed = n_windows - first * batch_size
    summary = {"windows": n_windows, "window_tokens": length, "windows_computed": computed,
               "windows_per_second": computed / embed_seconds if computed else None, "tracks": sorted(tracks),
               "umap_fit_on": min(umap_max, n_windows)}
    write_json(out / "window_embeddings.json", summary)
    mqc.write_table(out / "window_embeddings_mqc.tsv", "dnalm_window_embeddings", "Genome windows",
                    "Windows embedded and the mean share of their bases in each annotation track.",
                    ["Sample", "windows"] + [c for c in columns if c.endswith("_overlap")],
                    [["windows", n_windows] + [float(np.mean(columns[c])) for c in columns if c.endswith("_overlap")]],
                    {c: mqc.PERCENT for c in columns if c.endswith("_overlap")})
    log.info("%d windows embedded; tracks: %s", n_windows, ", ".join(sorted(tracks)) or "none")
    return summary


def _embed(model, windows: Iterator, n_windows: int, batch_size: int, first: int, kept: KeptEmbeddings | None,
           path: Path) -> np.ndarray:
    """The [CLS] vector of the last layer of every window, from batch `first` on, into `kept`'s array (then
    linked to `path`) or a new one at `path`: memory-mapped, as a genome's windows outgrow memory."""
    import torch

    embeddings = kept.array if kept else np.lib.format.open_memmap(path, mode="w+", dtype=np.float32,
                                                                   shape=(n_windows, model.config.hidden_size))
    device = next(model.parameters()).device
    batches = islice(_batched(windows, batch_size), first, None)
    with torch.no_grad():
        for b, batch in enumerate(progress(batches, total=-(-n_windows // batch_size) - first, desc="windows",
                                           unit="batch"), start=first):
            ids, mask = collate([w for *_, w in batch])
            embeddings[b * batch_size: b * batch_size + len(batch)] = model(
                input_ids=torch.tensor(ids, device=device),
                attention_mask=torch.tensor(mask, device=device)).last_hidden_state[:, 0].float().cpu().numpy()
            if kept:
                kept.record(b * batch_size + len(batch))
    if kept:
        kept.record(n_windows, final=True)
        _link_or_copy(kept.array_path, path)
    embeddings.flush()
    return embeddings


def _track_columns(bed: Path, tracks: dict[str, Path]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per track, windows.tsv's columns (share of bases; the dominant name where the names are a few
    states, not gene names; the strand where it varies) and the UMAP colourings of the same."""
    columns: dict[str, np.ndarray] = {}
    colourings: dict[str, np.ndarray] = {}
    for name, (share, dominant, strand) in zip(tracks, window_overlaps(bed, list(tracks.values()))):
        columns[f"{name}_overlap"] = share
        colourings[f"{name} overlap"] = share
        kinds = set(dominant.tolist())
        if 1 < len(kinds) <= 20 and not all(_numeric(d) for d in kinds):
            columns[f"{name}_dominant"] = dominant
            colourings[f"{name} (dominant)"] = dominant.astype(str)
        if len(set(strand.tolist())) > 1:
            columns[f"{name}_strand"] = strand
            colourings[f"{name} strand"] = strand.astype(str)
    return columns, colourings


def _window_rows(bed: Path, xy: np.ndarray, columns: dict[str, np.ndarray], chunk: int = 100_000) -> Iterator[list]:
    """Rows of windows.tsv (coordinates, UMAP position, track columns), made `chunk` windows at a time."""
    with open(bed) as windows:
        for lo in range(0, len(xy), chunk):
            for line, (x, y), *rest in zip(islice(windows, chunk), xy[lo:lo + chunk].tolist(),
                                           *(c[lo:lo + chunk].tolist() for c in columns.values())):
                yield line.split("\t")[:3] + [x, y, *rest]


def _check_window_fits(model, length: int) -> None:
    """A window and its [CLS] and [SEP] must fit the model's position embeddings."""
    positions = getattr(model.config, "max_position_embeddings", None)
    if positions is not None and length + 2 > positions:
        raise InputError(f"--window-tokens {length}: the model reads at most {positions - 2} tokens per window "
                         f"(max_position_embeddings {positions}, less [CLS] and [SEP])")


def embedding_inputs(model_dir: Path, tokenized_dir: Path, length: int, min_len: int, batch_size: int) -> dict:
    """What the kept embeddings depend on, for their fingerprint: the model's weight files and config.json
    (every file of the directory when it has no weight file we know), the token array and run index of the
    tokenized genome, the window settings and the batch size (windows are counted done in whole batches,
    each padded to its longest window). Not in it: the device, library versions, tracks and UMAP settings
    (computed afresh)."""
    tokenized_dir = Path(tokenized_dir)
    return {"model": fingerprint.model_digest(model_dir),
            "tokens": fingerprint.file_digest(tokenized_dir / TOKENS),
            "runs": fingerprint.file_digest(tokenized_dir / INDEX),
            "window_tokens": length, "min_tokens": min_len, "batch_size": batch_size}


def _resume_path(resume_dir: Path, model_dir: Path, tokenized_dir: Path, length: int, min_len: int,
                 batch_size: int) -> Path:
    """The fingerprint sub-directory of `resume_dir` for these inputs."""
    inputs = embedding_inputs(model_dir, tokenized_dir, length, min_len, batch_size)
    sources = {"model": str(Path(model_dir).resolve()), "tokenized": str(Path(tokenized_dir).resolve())}
    path, fp = fingerprint.directory(resume_dir, inputs, sources)
    log.info("window embeddings: kept in %s (fingerprint %s)", path, fp[:16])
    old = len(list(resume_dir.glob("batch*.npy"))) + len(list(path.glob("batch*.npy")))
    if old:
        log.warning("%d batch files of an older dnalm in %s are not reused; they may be deleted", old, resume_dir)
    return path


class KeptEmbeddings:
    """The embeddings of a run that may be interrupted: one memory-mapped array and the count of windows
    done (`done.json`), which is written, atomically, only after the array rows before it are flushed. Two
    files per model and genome, where one file per batch made 88,000 at hg38."""

    def __init__(self, path: Path, shape: tuple[int, int], every: float):
        self.array_path, self.done_path = path / "window_embeddings.npy", path / "done.json"
        self.every, self.saved_at, self.done = every, time.perf_counter(), 0
        try:
            array = np.load(self.array_path, mmap_mode="r+")
            done = int(json.loads(self.done_path.read_text())["windows"])
            if array.shape == shape and array.dtype == np.float32 and 0 < done <= shape[0]:
                self.array, self.done = array, done
        except (OSError, ValueError, KeyError, TypeError):
            pass
        if not self.done:
            self.done_path.unlink(missing_ok=True)
            self.array = np.lib.format.open_memmap(self.array_path, mode="w+", dtype=np.float32, shape=shape)
        log.info("window embeddings: %s", f"resuming after {self.done} of {shape[0]} windows" if self.done else
                 "none kept for this model and genome: computing afresh")

    def record(self, done: int, final: bool = False) -> None:
        """Note that the first `done` windows are in the array (saved every `every` seconds, and at the end)."""
        if final or time.perf_counter() - self.saved_at >= self.every:
            self.array.flush()
            with atomic_file(self.done_path) as tmp:
                write_json(tmp, {"windows": done})
            self.saved_at = time.perf_counter()


def _link_or_copy(source: Path, target: Path) -> None:
    """`target` as a hard link to `source` where one file system holds both (no second copy of many GB)."""
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _numeric(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return text == "none"


def _batched(items, size: int):
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _window_umap(embeddings: np.ndarray, umap_max: int, seed: int) -> np.ndarray:
    """UMAP fitted on a seeded subsample of at most `umap_max` windows; the rest transformed in chunks."""
    from dnalm.analysis.embedding_report import umap_coordinates

    n = len(embeddings)
    rng = np.random.default_rng(seed)
    fit = np.sort(rng.choice(n, size=min(umap_max, n), replace=False))
    reducer, fitted = umap_coordinates(np.asarray(embeddings[fit]), seed)
    xy = np.zeros((n, 2), dtype=np.float32)
    xy[fit] = fitted
    rest = np.setdiff1d(np.arange(n), fit)
    for lo in range(0, len(rest), 50_000):
        part = rest[lo:lo + 50_000]
        xy[part] = reducer.transform(np.asarray(embeddings[part]))
    return xy

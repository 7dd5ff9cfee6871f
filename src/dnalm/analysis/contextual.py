"""What the model does with context (GROVER Fig. 5; DNABERT study Fig. 2): per-layer self-similarity of
tokens, predictions at masked positions, and embeddings of genome windows against annotation tracks.
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

from dnalm.core import fingerprint, mqc
from dnalm.core.errors import InputError
from dnalm.core.logs import log, progress
from dnalm.core.outputs import atomic_file, write_json, write_tsv
from dnalm.core.plotting import figure
from dnalm.genome.intervals import window_overlaps
from dnalm.pretraining.data import CLS, MASK, PAD, SEP, WindowDataset, collate
from dnalm.vocab.tokenized import INDEX, SPAN_BLOCK, TOKENS, TokenizedGenome

#: Files of a model directory that hold its weights (HF's names and shards); with config.json they are
#: what the embeddings of a model depend on.
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack", ".index.json")


def _model(model_dir: Path, genome: TokenizedGenome, masked_lm: bool = False):
    """The model, checked first to read the tokens of `genome`."""
    import torch
    from transformers import AutoModel, AutoModelForMaskedLM

    genome.check_model(model_dir)
    cls = AutoModelForMaskedLM if masked_lm else AutoModel
    model = cls.from_pretrained(model_dir).eval()
    return model.to("cuda" if torch.cuda.is_available() else "cpu")


class SelfSimilarity:
    """Running sums of unit vectors per layer and token: the mean pairwise cosine similarity of n vectors
    u_1..u_n is (|sum u|^2 - n) / (n (n - 1)), so no pair is ever materialised."""

    def __init__(self, layers: int, vocab_size: int, dim: int, per_token: int):
        self.sums = np.zeros((layers, vocab_size, dim), dtype=np.float64)
        self.counts = np.zeros(vocab_size, dtype=np.int64)
        self.per_token = per_token

    def add(self, ids: np.ndarray, states: np.ndarray) -> None:
        """`states`: (layers, n, dim) vectors of the n tokens `ids`; tokens past `per_token` are ignored."""
        order = np.argsort(ids, kind="stable")
        ids, states = ids[order], states[:, order]
        rank = np.arange(len(ids)) - np.searchsorted(ids, ids)  # occurrence number within this batch
        keep = self.counts[ids] + rank < self.per_token
        ids, states = ids[keep], states[:, keep]
        units = states / np.maximum(np.linalg.norm(states, axis=-1, keepdims=True), 1e-12)
        for layer in range(len(units)):
            np.add.at(self.sums[layer], ids, units[layer])
        self.counts += np.bincount(ids, minlength=len(self.counts))

    def values(self) -> np.ndarray:
        """(layers, vocab) mean pairwise cosine similarity; NaN for tokens seen fewer than twice."""
        n = self.counts.astype(float)
        squared = (self.sums ** 2).sum(-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n >= 2, (squared - n) / (n * (n - 1)), np.nan)


def self_similarity(model_dir: Path, tokenized_dir: Path, windows_file: Path, out: Path, per_token: int = 5000,
                    max_windows: int = 2000, batch_size: int = 16, seed: int = 42) -> dict:
    """Mean pairwise cosine similarity of each token type's contextual embeddings in every layer (GROVER Fig. 5a)."""
    import torch

    data = WindowDataset(tokenized_dir, windows_file)
    vocab = data.genome.vocab
    model = _model(model_dir, data.genome)
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(len(data), size=min(max_windows, len(data)), replace=False))
    config = model.config
    acc = SelfSimilarity(config.num_hidden_layers + 1, len(vocab), config.hidden_size, per_token)
    device = next(model.parameters()).device
    with torch.no_grad():
        for lo in progress(range(0, len(chosen), batch_size), desc="windows", unit="batch"):
            ids, mask = collate([data[int(i)][1] for i in chosen[lo:lo + batch_size]])
            states = model(input_ids=torch.tensor(ids, device=device), attention_mask=torch.tensor(mask, device=device),
                           output_hidden_states=True).hidden_states
            real = (ids != PAD) & (ids != CLS) & (ids != SEP)
            acc.add(ids[real], np.stack([s.float().cpu().numpy()[real] for s in states]))
    values = acc.values()
    seen = np.flatnonzero(acc.counts >= 2)
    layers = [f"layer{l}" for l in range(values.shape[0])]
    write_tsv(out / "self_similarity.tsv", ["token", "occurrences"] + layers,
              [[vocab.tokens[t], int(acc.counts[t])] + values[:, t].tolist() for t in seen])
    mean = np.nanmean(values[:, seen], axis=1)
    write_tsv(out / "self_similarity_by_layer.tsv", ["layer", "mean", "median"],
              [[l, float(mean[l]), float(np.nanmedian(values[l, seen]))] for l in range(len(mean))])
    _heatmap(values[:, seen].T, [vocab.tokens[t] for t in seen], out / "self_similarity.png")
    mqc.write_plot(out / "self_similarity_mqc.yaml", "dnalm_self_similarity", "Self-similarity by layer",
                   "Mean pairwise cosine similarity of a token's contextual embeddings, averaged over tokens "
                   "(GROVER Fig. 5a): lower means more context-specific.", "linegraph",
                   {"mean over tokens": {l: float(mean[l]) for l in range(len(mean))}}, xlab="layer",
                   ylab="self-similarity")
    summary = {"tokens": int(len(seen)), "windows": int(len(chosen)), "per_token": per_token,
               "mean_by_layer": mean.tolist()}
    write_json(out / "self_similarity.json", summary)
    log.info("self-similarity of %d tokens over %d windows: layer 1 %.3f, last layer %.3f", len(seen), len(chosen),
             mean[1], mean[-1])
    return summary


def _heatmap(matrix: np.ndarray, labels: list[str], path: Path) -> None:
    """Rows clustered (average linkage) so tokens that behave alike sit together."""
    from scipy.cluster.hierarchy import leaves_list, linkage

    filled = np.nan_to_num(matrix, nan=0.0)
    order = leaves_list(linkage(filled, method="average")) if len(filled) > 2 else np.arange(len(filled))
    with figure(path, figsize=(2 + 0.3 * matrix.shape[1], 4 + min(len(labels), 400) * 0.01)) as (fig, ax):
        image = ax.imshow(filled[order], aspect="auto", cmap="magma", vmin=0, vmax=1, interpolation="nearest")
        ax.set(xlabel="layer", ylabel=f"{len(labels)} tokens (clustered)", yticks=[])
        fig.colorbar(image, ax=ax, label="self-similarity")


def mask_predictions(model_dir: Path, tokenized_dir: Path, windows_file: Path, out: Path, span: int = 6,
                     samples: int = 2000, batch_size: int = 16, top: int = 10, seed: int = 42) -> dict:
    """Mask `span` contiguous tokens in sampled windows; rank of the true token and accuracy by position in
    the mask (DNABERT study Fig. 2A-B), and the predicted distribution of every masked position (top `top`)."""
    import torch

    data = WindowDataset(tokenized_dir, windows_file)
    vocab = data.genome.vocab
    model = _model(model_dir, data.genome, masked_lm=True)
    device = next(model.parameters()).device
    rng = np.random.default_rng(seed)
    usable = np.flatnonzero(data.rows[:, 2] >= span)
    if len(usable) == 0:
        raise InputError(f"{windows_file}: no window of {span} tokens or more")
    chosen = rng.choice(usable, size=min(samples, len(usable)), replace=False)
    ranks, positions, kept = [], [], []
    with torch.no_grad():
        for lo in progress(range(0, len(chosen), batch_size), desc="masked windows", unit="batch"):
            windows = [data[int(i)][1] for i in chosen[lo:lo + batch_size]]
            ids, mask = collate(windows)
            starts = np.array([1 + rng.integers(0, len(w) - span + 1) for w in windows])
            cols = starts[:, None] + np.arange(span)
            rows = np.arange(len(windows))[:, None].repeat(span, 1)
            truth = ids[rows, cols].copy()
            ids[rows, cols] = MASK
            logits = model(input_ids=torch.tensor(ids, device=device),
                           attention_mask=torch.tensor(mask, device=device)).logits.float()
            picked = logits[torch.tensor(rows.ravel()), torch.tensor(cols.ravel())].cpu()
            probs = torch.softmax(picked, -1).numpy()
            true = truth.ravel()
            ranks.append(1 + (probs > probs[np.arange(len(true)), true][:, None]).sum(1))
            positions.append(np.tile(np.arange(1, span + 1), len(windows)))
            best = np.argsort(-probs, axis=1)[:, :top]
            kept += [[vocab.tokens[t], p] + [f"{vocab.tokens[b]}:{probs[i, b]:.4g}" for b in best[i]]
                     for i, (t, p) in enumerate(zip(true, positions[-1]))]
    ranks, positions = np.concatenate(ranks), np.concatenate(positions)
    chance = (len(vocab) - 5 + 1) / 2  # mean rank of a uniform guess among the real tokens
    by_position = [[p, int((positions == p).sum()), float((ranks[positions == p] == 1).mean()),
                    float(np.mean(ranks[positions == p])), float(np.median(ranks[positions == p]))]
                   for p in range(1, span + 1)]
    write_tsv(out / "mask_accuracy_by_position.tsv", ["position", "masked", "accuracy", "mean_rank", "median_rank"],
              by_position)
    write_tsv(out / "mask_predictions.tsv", ["true_token", "position"] + [f"top{j + 1}" for j in range(top)], kept)
    hist = np.bincount(np.minimum(ranks, 100), minlength=101)[1:]
    write_tsv(out / "mask_rank_histogram.tsv", ["rank", "count"], [[r + 1, int(c)] for r, c in enumerate(hist)])
    summary = {"span": span, "windows": int(len(chosen)), "masked": int(len(ranks)),
               "accuracy": float((ranks == 1).mean()), "mean_rank": float(ranks.mean()),
               "median_rank": float(np.median(ranks)), "chance_mean_rank": chance}
    write_json(out / "mask_predictions.json", summary)
    mqc.write_plot(out / "mask_accuracy_mqc.yaml", "dnalm_mask_accuracy", "Accuracy by position in the mask",
                   f"Top-1 accuracy at each position of {span} contiguous masked tokens (DNABERT study Fig. 2).",
                   "linegraph", {"accuracy": {p: a for p, _, a, _, _ in by_position}}, xlab="position in mask",
                   ylab="accuracy", ymin=0, ymax=1)
    log.info("masked %d tokens: accuracy %.3f, mean rank %.1f (chance %.1f)", len(ranks), summary["accuracy"],
             summary["mean_rank"], chance)
    return summary


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


def window_embeddings(model_dir: Path, tokenized_dir: Path, out: Path, tracks: dict[str, Path], length: int = 510,
                      min_len: int = 50, batch_size: int = 16, umap_max: int = 20_000, seed: int = 42,
                      resume_dir: Path | None = None, save_every: float = 60.0) -> dict:
    """[CLS] embeddings of the last layer for consecutive windows across the genome, their UMAP, and every
    track's overlap (GROVER Fig. 5b-d). Windows stream through the model; with `resume_dir`, the embeddings
    are written into `resume_dir/<fingerprint>/` (see `embedding_inputs`) with the count of windows done,
    saved every `save_every` seconds, and a restarted run with the same model, tokenized genome and window
    settings continues after them."""
    import torch

    genome = TokenizedGenome.open(tokenized_dir)
    model = _model(model_dir, genome)
    _check_window_fits(model, length)
    with open(out / "windows.bed", "w") as fh:
        for i, (contig, s, e, _) in enumerate(iter_windows(genome, length, min_len)):
            fh.write(f"{contig}\t{s}\t{e}\t{i}\n")
    n_windows = sum(1 for _ in open(out / "windows.bed"))
    if n_windows < 2:
        raise InputError(f"--tokenized {tokenized_dir}: {n_windows} window of {min_len}+ tokens; too few to map")
    shape = (n_windows, model.config.hidden_size)
    kept = (KeptEmbeddings(_resume_path(Path(resume_dir), model_dir, tokenized_dir, length, min_len, batch_size),
                           shape, save_every) if resume_dir else None)
    embeddings = kept.array if kept else np.lib.format.open_memmap(out / "window_embeddings.npy", mode="w+",
                                                                   dtype=np.float32, shape=shape)
    first = kept.done // batch_size if kept else 0
    device = next(model.parameters()).device
    batches = islice(_batched(iter_windows(genome, length, min_len), batch_size), first, None)
    began = time.perf_counter()
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
        _link_or_copy(kept.array_path, out / "window_embeddings.npy")
    embeddings.flush()
    embed_seconds = time.perf_counter() - began
    xy = _window_umap(embeddings, umap_max, seed)
    columns: dict[str, np.ndarray] = {}
    colourings: dict[str, np.ndarray] = {}
    overlaps = window_overlaps(out / "windows.bed", list(tracks.values()))
    for name, (share, dominant, strand) in zip(tracks, overlaps):
        columns[f"{name}_overlap"] = share
        colourings[f"{name} overlap"] = share
        kinds = set(dominant.tolist())
        if 1 < len(kinds) <= 20 and not all(_numeric(d) for d in kinds):  # states, not gene names
            columns[f"{name}_dominant"] = dominant
            colourings[f"{name} (dominant)"] = dominant.astype(str)
        if len(set(strand.tolist())) > 1:
            columns[f"{name}_strand"] = strand
            colourings[f"{name} strand"] = strand.astype(str)
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
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise InputError(f"--model {model_dir}: --resume-dir needs a local model directory (its weights are "
                         "fingerprinted)")
    files = [p for p in model_dir.rglob("*") if p.is_file()]
    chosen = [p for p in files if p.name == "config.json" or p.name.endswith(WEIGHT_SUFFIXES)]
    if not any(p.name != "config.json" for p in chosen):
        chosen = files
    tokenized_dir = Path(tokenized_dir)
    return {"model": fingerprint.files_digest(model_dir, chosen),
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

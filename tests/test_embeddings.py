"""What the model learned: token embeddings vs Word2Vec, self-similarity, masked predictions, genome windows."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers import CHROMHMM, GENES, LAMBDA, REPEATS, dnalm, dnalm_log, read_tsv


@pytest.mark.slow
def test_mev_is_the_pc1_share_of_variance(embedding_sets):
    for name, d in (("bpe_600", "model"), ("w2v", "w2v")):
        matrix = np.load(embedding_sets / d / "embeddings.npy")
        rows = read_tsv(embedding_sets / d / "tokens.tsv")
        keep = [i for i, r in enumerate(rows) if r["special"] == "0" and not np.isnan(matrix[i]).any()]
        x = matrix[keep].astype(np.float64)
        singular = np.linalg.svd(x - x.mean(0), compute_uv=False)
        expected = singular[0] ** 2 / (singular ** 2).sum()
        reported = float(read_tsv(embedding_sets / "report" / f"{name}_pca.tsv")[0]["explained_variance_ratio"])
        assert reported == pytest.approx(expected, rel=1e-4)
        summary = {r["name"]: float(r["mev"]) for r in read_tsv(embedding_sets / "report" / "embedding_summary.tsv")}
        assert summary[name] == pytest.approx(expected, rel=1e-4)
    for name in ("bpe_600", "w2v"):
        for suffix in ("_umap.png", "_dendrogram.png", "_pc_correlations.png"):
            assert (embedding_sets / "report" / f"{name}{suffix}").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_token_characteristics_are_those_of_the_token(embedding_sets, tokenized):
    rows = {r["token"]: r for r in read_tsv(embedding_sets / "model" / "tokens.tsv")}
    counts = np.load(tokenized["bpe_600"] / "token_counts.npy")
    for token in ("GG", "CAG", "AAAA"):
        r = rows[token]
        assert float(r["gc"]) == pytest.approx(sum(token.count(c) for c in "GC") / len(token))
        assert int(r["length"]) == len(token) and int(r["count"]) == counts[int(r["id"])]
    shares = [float(r["repeat_fraction"]) for r in rows.values() if r["special"] == "0" and int(r["count"]) > 0]
    assert 0 < np.mean(shares) < 1


@pytest.mark.slow
def test_word2vec_is_reproducible_with_a_seed_and_one_worker(embedding_sets, tokenized, windows, tmp_path):
    dnalm("word2vec", "--tokenized", tokenized["bpe_600"], "--windows", windows["bpe_600"], "--vector-size", "32",
          "--workers", "1", "--name", "w2v", "--out", tmp_path / "again")
    assert np.array_equal(np.load(tmp_path / "again" / "embeddings.npy"), np.load(embedding_sets / "w2v" / "embeddings.npy"),
                          equal_nan=True)
    assert json.loads((embedding_sets / "w2v" / "embeddings.json").read_text())["reproducible"] is True


def test_self_similarity_of_identical_vectors_is_one_and_of_random_vectors_about_zero():
    from dnalm.analysis.self_similarity import SelfSimilarity

    rng = np.random.default_rng(0)
    acc = SelfSimilarity(layers=1, vocab_size=8, dim=64, per_token=500)
    same = np.tile(rng.normal(size=64), (300, 1)) * rng.uniform(0.5, 2, size=(300, 1))  # one direction, any length
    acc.add(np.full(300, 5), same[None])
    acc.add(np.full(400, 6), rng.normal(size=(1, 400, 64)))
    acc.add(np.full(400, 6), rng.normal(size=(1, 400, 64)))  # past --per-token: ignored
    values = acc.values()
    assert values[0, 5] == pytest.approx(1.0) and abs(values[0, 6]) < 0.02
    assert acc.counts[6] == 500 and np.isnan(values[0, 7])


@pytest.mark.slow
def test_self_similarity_of_the_model(pretrained, tokenized, windows, tmp_path):
    dnalm("self-similarity", "--model", pretrained / "model" / "model", "--tokenized", tokenized["bpe_600"],
          "--windows", windows["bpe_600"], "--per-token", "50", "--out", tmp_path / "ss")
    rows = read_tsv(tmp_path / "ss" / "self_similarity.tsv")
    assert len(rows) > 100 and all(2 <= int(r["occurrences"]) <= 50 for r in rows)
    layers = [k for k in rows[0] if k.startswith("layer")]
    assert len(layers) == 3  # embeddings + 2 layers of the tiny model
    assert all(-1 <= float(r[k]) <= 1 for r in rows for k in layers)
    assert (tmp_path / "ss" / "self_similarity.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_masked_predictions_rank_the_true_token_better_than_chance(pretrained, tokenized, windows, tmp_path):
    dnalm("mask-predictions", "--model", pretrained / "model" / "model", "--tokenized", tokenized["bpe_600"],
          "--windows", windows["bpe_600"], "--span", "4", "--out", tmp_path / "mp")
    summary = json.loads((tmp_path / "mp" / "mask_predictions.json").read_text())
    by_position = read_tsv(tmp_path / "mp" / "mask_accuracy_by_position.tsv")
    assert [int(r["position"]) for r in by_position] == [1, 2, 3, 4]
    histogram = read_tsv(tmp_path / "mp" / "mask_rank_histogram.tsv")
    ranks = np.repeat(np.arange(1, 101), [int(r["count"]) for r in histogram])
    assert len(ranks) == summary["masked"]
    # a uniform guess has mean rank (V+1)/2 with sd ~V/sqrt(12); the trained model is far better
    sd = 2 * summary["chance_mean_rank"] / np.sqrt(12)
    assert summary["mean_rank"] < summary["chance_mean_rank"] - 4 * sd / np.sqrt(summary["masked"])


def test_window_overlaps_are_exact_on_the_bundled_annotation(tmp_path):
    from dnalm.genome.intervals import window_overlaps

    genes = [line.split("\t") for line in GENES.read_text().splitlines()]
    long_gene = max(genes, key=lambda f: int(f[2]) - int(f[1]))
    start = int(long_gene[1]) + 100
    covered = np.zeros(1_000_000, dtype=bool)
    for f in genes:
        covered[int(f[1]):int(f[2])] = True
    free = int(np.flatnonzero(np.convolve(~covered, np.ones(2000), "valid") == 2000)[0])
    bed = tmp_path / "w.bed"
    bed.write_text(f"chr22_20M_21M\t{start}\t{start + 1000}\t0\nchr22_20M_21M\t{free}\t{free + 2000}\t1\n")
    ((share, dominant, strand),) = window_overlaps(bed, [GENES])
    assert share.tolist() == [1.0, 0.0]
    assert dominant[1] == "none" and strand[1] == "none" and strand[0] in ("+", "-", "both")


def _bedtools_overlaps(bed: Path, track: Path) -> tuple[np.ndarray, list[dict[str, int]], list[set[str]]]:
    """The peer: pybedtools intersect -wao of the windows with the merged track and with the track."""
    import pybedtools

    windows = pybedtools.BedTool(str(bed))
    n = windows.count()
    covered = np.zeros(n)
    for f in windows.intersect(pybedtools.BedTool(str(track)).sort().merge(), wao=True):
        covered[int(f.name)] += int(f.fields[-1])
    names: list[dict[str, int]] = [{} for _ in range(n)]
    strands: list[set[str]] = [set() for _ in range(n)]
    for f in windows.intersect(pybedtools.BedTool(str(track)), wao=True):
        extra, overlap, i = f.fields[7:-1], int(f.fields[-1]), int(f.name)
        if overlap and extra:
            names[i][extra[0]] = names[i].get(extra[0], 0) + overlap
        if overlap and len(extra) >= 3 and extra[2] in "+-":
            strands[i].add(extra[2])
    lengths = np.array([f.length for f in windows], dtype=float)
    pybedtools.cleanup()
    return covered / lengths, names, strands


def test_window_overlaps_equal_bedtools_on_every_bundled_track(tmp_path):
    """Shares, dominant names and strands of 1 kb windows (and a short last one) across the bundled window,
    computed in numpy, against bedtools on the genes, repeats and (where ../shared exists) chromHMM tracks."""
    from dnalm.genome.intervals import window_overlaps

    bed = tmp_path / "w.bed"
    starts = list(range(0, 1_000_000, 1000))
    bed.write_text("".join(f"chr22_20M_21M\t{s}\t{min(s + 1000, 999_500)}\t{i}\n" for i, s in enumerate(starts)))
    partial = 0
    tracks = [GENES, REPEATS, *CHROMHMM]
    for track, (share, dominant, strand) in zip(tracks, window_overlaps(bed, tracks)):
        peer_share, peer_names, peer_strands = _bedtools_overlaps(bed, track)
        assert np.array_equal(share, peer_share), track.name
        partial += int(((share > 0) & (share < 1)).sum())
        expected = ["both" if len(s) == 2 else (next(iter(s)) if s else "none") for s in peer_strands]
        assert strand.tolist() == expected, track.name
        for got, names in zip(dominant.tolist(), peer_names):
            best = max(names.values(), default=0)
            assert got in [n for n, v in names.items() if v == best] if names else got == "none", track.name
    assert partial > 500  # windows partly in a track (the genes cover this whole window of chr22)


@pytest.mark.slow
def test_window_embeddings_stream_the_genome_and_annotate_every_window(window_embeddings, pretrained, tokenized,
                                                                       tmp_path):
    out = window_embeddings / "out"
    rows = read_tsv(out / "windows.tsv")
    embeddings = np.load(out / "window_embeddings.npy")
    assert len(rows) == len(embeddings) > 300 and not np.isnan(embeddings).any()
    covered = np.zeros(1_000_000, dtype=bool)
    for line in REPEATS.read_text().splitlines():
        f = line.split("\t")
        covered[int(f[1]):int(f[2])] = True
    for r in rows[::25]:
        s, e = int(r["start"]), int(r["end"])
        assert float(r["repeats_overlap"]) == pytest.approx(covered[s:e].mean(), abs=1e-5)
    assert (out / "window_umap.png").read_bytes()[:4] == b"\x89PNG"
    if CHROMHMM:
        assert len({r["chromhmm_dominant"] for r in rows}) > 3
    # the run's state is two files; a run stopped after 3 batches of 16 continues after them, with the same result
    resume = shutil.copytree(window_embeddings / "resume", tmp_path / "resume")  # the shared output links the state
    (kept,) = [p.parent for p in resume.glob("*/fingerprint.json")]
    assert sorted(p.name for p in kept.iterdir()) == ["done.json", "fingerprint.json", "window_embeddings.npy"]
    assert json.loads((kept / "done.json").read_text()) == {"windows": len(embeddings)}
    (kept / "done.json").write_text('{"windows": 48}')
    state = np.load(kept / "window_embeddings.npy", mmap_mode="r+")
    state[48:] = np.nan  # what a killed run had not computed
    state.flush()
    again = dnalm("window-embeddings", "--model", pretrained / "model" / "model", "--tokenized", tokenized["bpe_600"],
                  "--umap-max", "200", "--resume-dir", resume, "--out", tmp_path / "again")
    assert f"resuming after 48 of {len(embeddings)} windows" in again.stderr
    assert np.array_equal(np.load(tmp_path / "again" / "window_embeddings.npy"), embeddings)
    info = json.loads((tmp_path / "again" / "window_embeddings.json").read_text())
    assert info["windows_computed"] == len(embeddings) - 48


@pytest.mark.slow
def test_window_embedding_batches_of_another_model_are_not_reused(pretrained, vocabs, tmp_path):
    """--resume-dir keeps batches per model weights and genome: a second model with the same resume dir
    computes its own, equal to a fresh run of that model (it used to load the first model's batches).
    On lambda phage, tokenized with the model's vocabulary, and in this process: numba compiles UMAP once."""
    from safetensors.numpy import load_file, save_file

    from dnalm.analysis.window_embeddings import window_embeddings

    dnalm("prepare-genome", "--fasta", LAMBDA, "--out", tmp_path / "genome")
    tokens = tmp_path / "tokenized"
    dnalm("tokenize-genome", "--genome", tmp_path / "genome", "--vocab", vocabs["bpe_600"], "--out", tokens)
    first = pretrained / "model" / "model"
    other = tmp_path / "other_model"
    shutil.copytree(first, other)
    rng = np.random.default_rng(0)
    weights = load_file(str(first / "model.safetensors"))
    save_file({k: v + rng.normal(0, 0.05, v.shape).astype(v.dtype) for k, v in weights.items()},
              str(other / "model.safetensors"), metadata={"format": "pt"})
    resume = tmp_path / "resume"
    with dnalm_log() as messages:
        for model, name, kept in ((first, "a", resume), (other, "b", resume), (other, "fresh", None)):
            (tmp_path / name).mkdir()
            messages.clear()
            window_embeddings(model, tokens, tmp_path / name, {}, length=510, min_len=50, umap_max=20, batch_size=8,
                              seed=42, resume_dir=kept)
            if name == "b":
                assert any("computing afresh" in m for m in messages) and not any("resuming" in m for m in messages)
    a, b, fresh = (np.load(tmp_path / d / "window_embeddings.npy") for d in ("a", "b", "fresh"))
    assert len(a) > 20 and np.array_equal(b, fresh) and not np.allclose(a, b)
    dirs = [p.parent for p in resume.glob("*/fingerprint.json")]
    assert len(dirs) == 2 and not list(resume.glob("batch*.npy"))
    models = {json.loads((d / "fingerprint.json").read_text())["inputs"]["model"] for d in dirs}
    assert len(models) == 2


@pytest.mark.slow
def test_overlapping_kmers_get_the_dnabert_central_nucleotide_view(tokenized, windows, tmp_path):
    dnalm("word2vec", "--tokenized", tokenized["kmer6_overlap"], "--windows", windows["kmer6_overlap"],
          "--vector-size", "16", "--sentences", "200", "--name", "k6", "--out", tmp_path / "k6")
    info = json.loads((tmp_path / "k6" / "embeddings.json").read_text())
    assert info["workers"] == len(os.sched_getaffinity(0)) and info["reproducible"] is (info["workers"] == 1)
    dnalm("embedding-report", "--embeddings", tmp_path / "k6", "--out", tmp_path / "report")
    rows = read_tsv(tmp_path / "report" / "k6_tokens.tsv")
    full = [r for r in rows if len(r["token"]) == 6]
    assert len(full) > 3000
    for r in full[:200]:
        assert r["central dinucleotide"] == r["token"][2:4]
        assert float(r["pyrimidine share"]) == pytest.approx(sum(r["token"].count(c) for c in "CT") / 6, abs=1e-6)

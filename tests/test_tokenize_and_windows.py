"""Tokenized genome and pretraining windows on the real human window."""

from __future__ import annotations

import json
import math
from collections import Counter

import numpy as np
import pytest
from helpers import dnalm, dnalm_fails

from dnalm.genome.prepare import iter_runs
from dnalm.pretraining.windows import draw_lengths
from dnalm.vocab.tokenized import TokenizedGenome


def test_tokenized_genome_decodes_to_the_runs(tokenized, human_genome):
    runs = list(iter_runs(human_genome))
    for name, path in tokenized.items():
        genome = TokenizedGenome.open(path)
        assert genome.tokens.dtype == np.uint16
        assert [(r[1], r[2], r[3]) for r in genome.runs] == [(r.contig, r.start, r.end) for r in runs]
        for i, run in enumerate(runs):
            assert genome.vocab.decode(genome.run_tokens(i)) == run.seq.decode(), name
        assert genome.runs[-1][4] + genome.runs[-1][5] == len(genome.tokens)
        assert np.array_equal(genome.token_counts, np.bincount(genome.tokens, minlength=len(genome.vocab)))


@pytest.mark.parametrize("name", ["bpe_600", "bpe_5000", "kmer6", "kmer6_overlap", "kmer6_stride3"])
def test_piecewise_tokenization_equals_whole_runs(name, tmp_path, human_genome, vocabs, tokenized):
    out = tmp_path / "pieces"
    dnalm("tokenize-genome", "--genome", human_genome, "--vocab", vocabs[name], "--piece-bp", 10000,
          "--out", out)
    whole = np.load(tokenized[name] / "tokens.npy")
    pieces = np.load(out / "tokens.npy")
    assert np.array_equal(whole, pieces)
    assert (out / "runs.tsv").read_text() == (tokenized[name] / "runs.tsv").read_text()


def test_window_lengths_follow_grover_sampler():
    lengths = draw_lengths(np.random.default_rng(7), 200_000)
    share = (lengths == 510).mean()
    assert abs(share - (0.5 + 0.5 / 491)) < 0.01
    short = lengths[lengths < 510]
    assert short.min() == 20 and short.max() == 509
    counts = np.bincount(short - 20, minlength=490)
    expected = len(short) / 490
    chi2 = ((counts - expected) ** 2 / expected).sum()
    # Upper 0.1 % point of chi-square with 489 degrees of freedom (Wilson-Hilferty).
    df = 489
    critical = df * (1 - 2 / (9 * df) + 3.09 * math.sqrt(2 / (9 * df))) ** 3
    assert chi2 < critical


@pytest.mark.parametrize("name", ["bpe_100", "bpe_600", "bpe_2000", "kmer4", "kmer6"])
def test_windows_tile_the_genome_outside_the_holdout(name, windows, tokenized, human_genome):
    genome = TokenizedGenome.open(tokenized[name])
    train, test = np.load(windows[name] / "train.npy"), np.load(windows[name] / "test.npy")
    assert len(train) and len(test)
    assert abs(len(test) / (len(train) + len(test)) - 0.2) < 0.01
    rows = np.concatenate([train, test])
    assert rows[:, 2].min() >= 20 and rows[:, 2].max() <= 510
    covered = np.zeros(len(genome.tokens), dtype=np.int64)
    for run, first, length in rows:
        r = genome.runs[run]
        assert r[4] <= first and first + length <= r[4] + r[5]
        covered[first:first + length] += 1
    assert covered.max() == 1  # no window overlaps another, so no test window overlaps a train window
    hold = [line.split("\t") for line in (human_genome / "holdout_default.bed").read_text().splitlines()]
    for line in (windows[name] / "windows.bed").read_text().splitlines():
        contig, start, end = line.split("\t")[:3]
        for h_contig, h_start, h_end in hold:
            assert contig != h_contig or int(end) <= int(h_start) or int(start) >= int(h_end)
    summary = json.loads((windows[name] / "windows.json").read_text())
    assert summary["tokens_held_out"] > 0


@pytest.mark.parametrize("name", ["bpe_600", "kmer4", "kmer6_overlap", "kmer6_stride3"])
def test_runs_read_in_blocks_have_the_spans_of_whole_runs(name, tokenized):
    """Passes over a chromosome read it a block of tokens at a time; the last block may be one k-mer tail."""
    genome = TokenizedGenome.open(tokenized[name])
    for run, *_, n in genome.runs:
        whole = genome.vocab.token_spans(genome.run_tokens(run))
        for block in (997, n - 1):
            parts = list(genome.run_spans(run, block))
            assert [lo for lo, *_ in parts] == list(range(0, n, block)) and len(parts) > 1
            for k, expected in ((1, genome.run_tokens(run)), (2, whole[0]), (3, whole[1])):
                assert np.array_equal(np.concatenate([p[k] for p in parts]), expected), (name, block)


def test_windows_made_block_by_block_are_the_windows_of_whole_runs(tmp_path, tokenized, windows, human_genome):
    from dnalm.pretraining.windows import make_windows

    for name in ("bpe_600", "kmer6_overlap"):
        out = tmp_path / name
        out.mkdir()
        make_windows(tokenized[name], out, holdout_contigs=[], holdout_regions=human_genome / "holdout_default.bed",
                     test_fraction=0.2, seed=42, max_len=510, min_len=20, p_max=0.5, block=1013)
        for file in ("train.npy", "test.npy", "windows.bed", "windows.json"):
            assert (out / file).read_bytes() == (windows[name] / file).read_bytes(), (name, file)


def test_windows_are_deterministic_for_a_seed(tmp_path, tokenized):
    outs = []
    for i, seed in enumerate([1, 1, 2]):
        outs.append(tmp_path / f"w{i}")
        dnalm("make-windows", "--tokenized", tokenized["bpe_600"], "--seed", seed, "--out", outs[-1])
    read = [(o / "train.npy").read_bytes() for o in outs]
    assert read[0] == read[1] != read[2]


def test_holdout_contigs_remove_whole_contigs(tmp_path, tokenized):
    """Holding out every contig leaves no window: an error, not a complete-looking folder of 0 windows."""
    out = tmp_path / "w"
    error = dnalm_fails("make-windows", "--tokenized", tokenized["kmer6"], "--holdout-contigs", "chr22_*",
                        "--out", out, logs=True)
    assert f"--tokenized {tokenized['kmer6']}: 0 training and 0 test windows outside the holdout set" in error
    assert "--holdout-contigs: no contig of the genome matches 'chr21'" in dnalm_fails(
        "make-windows", "--tokenized", tokenized["kmer6"], "--holdout-contigs", "chr21", "--out", tmp_path / "x")


def test_vocab_stats_match_the_tokenized_genome(tmp_path, tokenized):
    out = tmp_path / "stats"
    dnalm("vocab-stats", "--tokenized", *tokenized.values(), "--out", out)
    stats = {s["vocabulary"]: s for s in json.loads((out / "vocab_stats.json").read_text())}
    assert list(stats)[:4] == ["bpe_100", "bpe_600", "bpe_2000", "bpe_5000"]
    for name, path in tokenized.items():
        genome = TokenizedGenome.open(path)
        real = np.arange(5, len(genome.vocab))
        counts = np.bincount(genome.tokens, minlength=len(genome.vocab))[real]
        assert stats[name]["frequency_median"] == float(np.median(counts))
        assert stats[name]["tokens"] == len(real)
        words = [genome.vocab.tokens[i] for i in real]
        assert stats[name]["has_CG_2mer"] == ("CG" in words)
        assert stats[name]["tokens_per_length"] == {str(k): v for k, v in Counter(map(len, words)).items()}
    assert (out / "vocab_stats_mqc.tsv").is_file() and (out / "vocab_token_lengths.png").stat().st_size > 0


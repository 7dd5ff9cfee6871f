"""Vocabularies on the real human window: BPE truncation, first merge, round trips, HF loading."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from helpers import BPE_CYCLES, dnalm

from dnalm.genome.prepare import iter_runs
from dnalm.vocab.vocabulary import Vocabulary, decode, encode


@pytest.fixture(scope="module")
def runs(human_genome):
    return [r.seq.decode() for r in iter_runs(human_genome)]


@pytest.mark.parametrize("n", [100, 600])
def test_truncated_sweep_equals_a_run_of_n_merges(n, tmp_path, human_genome, bpe_sweep, runs):
    single = tmp_path / "single"
    dnalm("vocab-sweep", "--genome", human_genome, "--cycles", n, "--out", single)
    truncated = json.loads((bpe_sweep / f"bpe_{n}" / "tokenizer.json").read_text())["model"]
    direct = json.loads((single / f"bpe_{n}" / "tokenizer.json").read_text())["model"]
    assert len(truncated["merges"]) == n
    assert truncated["merges"] == direct["merges"]
    assert truncated["vocab"] == direct["vocab"]
    for run in runs:
        assert np.array_equal(encode(bpe_sweep / f"bpe_{n}", run), encode(single / f"bpe_{n}", run))


def test_first_merge_is_the_most_frequent_adjacent_pair(bpe_sweep, runs):
    pairs = Counter()
    for run in runs:
        for i in range(0, len(run), 1000):  # the default --chunk-bp: no pair crosses a chunk edge
            chunk = run[i:i + 1000]
            pairs.update(chunk[j:j + 2] for j in range(len(chunk) - 1))
    (top, count), (_, second) = pairs.most_common(2)
    assert count > second
    first = (bpe_sweep / "merges.tsv").read_text().splitlines()[1].split("\t")
    assert first[1] + first[2] == top


def test_vocabulary_sizes(vocabs):
    for n in BPE_CYCLES:
        assert len(Vocabulary.load(vocabs[f"bpe_{n}"])) <= 5 + 4 + n
    assert len(Vocabulary.load(vocabs["kmer4"])) == 5 + sum(4 ** j for j in range(1, 5))


def test_decode_inverts_encode_for_every_run_and_kind(vocabs, runs):
    for name, vocab_dir in vocabs.items():
        for run in runs:
            ids = encode(vocab_dir, run)
            assert decode(vocab_dir, ids) == run, name
        # Short and odd lengths exercise the tail tokens of every k-mer kind.
        for piece in (runs[0][:1], runs[0][:5], runs[0][:7], runs[0][:50], runs[1][:511]):
            assert decode(vocab_dir, encode(vocab_dir, piece)) == piece, (name, len(piece))


def test_kmer_kinds_split_as_their_models_did(vocabs):
    seq = "ACGTACGTAC"
    def words(name):
        v = Vocabulary.load(vocabs[name])
        return [v.tokens[i] for i in v.encode(seq)]
    assert words("kmer4") == ["ACGT", "ACGT", "AC"]
    assert words("kmer6_overlap") == ["ACGTAC", "CGTACG", "GTACGT", "TACGTA", "ACGTAC"]
    assert words("kmer6_stride3") == ["ACGTAC", "TACGTA", "C"]


def test_token_spans_cover_their_sequence(vocabs, runs):
    seq = runs[1][:5003]
    for name, vocab_dir in vocabs.items():
        v = Vocabulary.load(vocab_dir)
        ids = v.encode(seq)
        starts, ends = v.token_spans(ids)
        assert [seq[s:e] for s, e in zip(starts, ends)] == [v.tokens[i] for i in ids], name
        assert ends[-1] == len(seq)


def test_autotokenizer_reads_raw_dna_like_dnalm(vocabs, runs):
    """Published vocabularies give HF users dnalm's ids on raw DNA of either case, N included."""
    from transformers import AutoTokenizer

    clean = runs[0][1000:1600]
    seq = clean[:300] + "N" + clean[300:] + "NNRACGT"
    assert len(vocabs) >= 4
    for name, vocab_dir in vocabs.items():
        v = Vocabulary.load(vocab_dir)
        hf = AutoTokenizer.from_pretrained(str(vocab_dir), trust_remote_code=True)
        for dna in (seq, seq.lower()):
            assert hf(dna)["input_ids"] == [hf.cls_token_id] + v.encode_lenient(seq).tolist() + [hf.sep_token_id], name
        assert hf.mask_token == "[MASK]" and hf.pad_token_id == 0
        assert hf.decode(v.encode(clean).tolist()) == clean, name
        if v.kind in ("kmer-overlap", "kmer-stride"):  # their code is not run unasked: no silent [UNK]s
            with pytest.raises(ValueError, match="trust_remote_code"):
                AutoTokenizer.from_pretrained(str(vocab_dir))


def test_sampled_training_chunks_are_seeded_and_in_genome_order(human_genome, runs):
    from dnalm.vocab.bpe import training_chunks

    full = training_chunks(human_genome, 1000, 0, 0).strings()
    assert full == [run[i:i + 1000] for run in runs for i in range(0, len(run), 1000)]
    a = training_chunks(human_genome, 1000, 300_000, 1).strings()
    assert a == training_chunks(human_genome, 1000, 300_000, 1).strings()
    assert a != training_chunks(human_genome, 1000, 300_000, 2).strings()
    assert 300_000 <= sum(map(len, a)) < 302_000
    positions = [full.index(c) for c in a]
    assert positions == sorted(positions)

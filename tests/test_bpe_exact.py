"""dnalm's BPE trainer and encoder (C, genome scale) give exactly what HuggingFace `tokenizers` gives."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import ECOLI, dnalm, dnalm_log
from tokenizers import Tokenizer, models, trainers

from dnalm.genome.prepare import iter_runs
from dnalm.vocab.bpe import ALPHABET, learn_merges, merges_tokenizer, training_chunks
from dnalm.vocab.vocabulary import SPECIAL_TOKENS, Vocabulary, save_vocabulary


def hf_train(chunks: list[str], merges: int) -> Tokenizer:
    """The peer: HF's BpeTrainer on the same chunks."""
    tokenizer = Tokenizer(models.BPE(unk_token="[UNK]"))
    trainer = trainers.BpeTrainer(vocab_size=len(SPECIAL_TOKENS) + len(ALPHABET) + merges,
                                  initial_alphabet=ALPHABET, special_tokens=SPECIAL_TOKENS, show_progress=False)
    tokenizer.train_from_iterator(chunks, trainer, length=len(chunks))
    return tokenizer


@pytest.fixture(scope="module")
def ecoli_genome(tmp_path_factory):
    out = tmp_path_factory.mktemp("ecoli") / "genome"
    dnalm("prepare-genome", "--fasta", ECOLI, "--out", out)
    return out


@pytest.mark.parametrize("genome, merges", [("human", 5000), ("ecoli", 2000)])
@pytest.mark.slow
def test_merges_and_encodings_equal_huggingface(genome, merges, human_genome, ecoli_genome, tmp_path):
    genome_dir = human_genome if genome == "human" else ecoli_genome
    chunks = training_chunks(genome_dir, 1000, 0, 0)
    peer = hf_train(chunks.strings(), merges)
    ours = merges_tokenizer(learn_merges(chunks, merges))
    assert json.loads(ours.to_str())["model"] == json.loads(peer.to_str())["model"]
    sharded = merges_tokenizer(learn_merges(training_chunks(genome_dir, 1000, 0, 0), merges, threads=3))
    assert json.loads(sharded.to_str())["model"] == json.loads(peer.to_str())["model"]
    vocab = Vocabulary.load(save_vocabulary(ours, tmp_path / "v", name="v", kind="bpe"))
    assert vocab._merge_table is not None  # the C encoder is the one under test
    for run in iter_runs(genome_dir):
        ids = vocab.encode(run.seq)
        assert ids.tolist() == peer.encode(run.seq.decode(), add_special_tokens=False).ids


def test_vocabularies_where_two_merges_make_one_string_use_hf(tmp_path, human_genome):
    """A+AA and AA+A both make AAA: the linear-time argument fails, so HF's encoder is used, exactly."""
    vocab = {t: i for i, t in enumerate(SPECIAL_TOKENS + ALPHABET + ["AA", "AAA", "GG", "AAAA"])}
    merges = [("A", "A"), ("A", "AA"), ("G", "G"), ("AA", "A"), ("AA", "AA")]
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="[UNK]"))
    v = Vocabulary.load(save_vocabulary(tokenizer, tmp_path / "dup", name="dup", kind="bpe"))
    assert v._merge_table is None
    seq = next(iter_runs(human_genome)).seq[:20_000] + b"AAAAAAAGGAAAAA"
    assert v.encode(seq).tolist() == tokenizer.encode(seq.decode(), add_special_tokens=False).ids
    assert v.decode(v.encode(seq)) == seq.decode()


def test_bpe_encoder_rejects_non_acgt(vocabs):
    from dnalm.core.errors import InputError

    with pytest.raises(InputError, match="'N'"):
        Vocabulary.load(vocabs["bpe_600"]).encode(b"ACGTNACGT")
    assert Vocabulary.load(vocabs["bpe_600"]).encode(b"").tolist() == []
    assert np.array_equal(Vocabulary.load(vocabs["bpe_600"]).encode(b"A"), [5])


@pytest.mark.slow
def test_threads_split_a_long_run_with_the_same_result(vocabs, human_genome):
    """The threaded encoder (threads own ranges, cross-range merges deferred to the end of each rank)."""
    from tokenizers import Tokenizer

    seq = b"".join(run.seq for run in iter_runs(human_genome)) * 3  # 2.7 Mbp: long enough for 2 threads
    for name in ("bpe_100", "bpe_5000"):
        v = Vocabulary.load(vocabs[name])
        one, two = v.encode(seq, threads=1), v.encode(seq, threads=2)
        assert np.array_equal(one, two)
        hf = Tokenizer.from_file(str(vocabs[name] / "tokenizer.json"))
        assert one.tolist() == hf.encode(seq.decode(), add_special_tokens=False).ids


def test_bpe_training_logs_while_the_c_core_runs():
    """Training is one call into C: a line every interval shows in a batch log that vocab-sweep is alive, with
    the merges done and the time left where the call counts them; its result and errors come through."""
    import time

    from dnalm.core.logs import run_logging_progress

    done = np.zeros(1, dtype=np.int64)

    def count() -> int:
        for _ in range(5):
            time.sleep(0.1)
            done[0] += 100
        return 7

    with dnalm_log() as messages:
        assert run_logging_progress("training BPE to 9 merges", lambda: time.sleep(0.45) or 7, every=0.1) == 7
        assert run_logging_progress("training BPE to 500 merges", count, every=0.13, done=done, total=500,
                                    unit="merges") == 7
        with pytest.raises(ValueError, match="invalid literal"):
            run_logging_progress("failing", int, "x", every=0.1)
    alive = [m for m in messages if m.startswith("training BPE to 9 merges: running for")]
    assert 3 <= len(alive) <= 5, messages
    counted = [m for m in messages if m.startswith("training BPE to 500 merges: ")]
    assert counted and all(" of 500 merges after " in m and "s left at this rate" in m for m in counted), messages

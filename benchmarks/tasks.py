"""One measurement per child process (see common.run_task): `tasks.py RESULT_JSON TASK ARGS...`."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np


def bpe_dnalm(genome: str, merges: str, threads: str) -> dict:
    from dnalm.vocab.bpe import learn_merges, merges_tokenizer, training_chunks

    t0 = time.perf_counter()
    chunks = training_chunks(Path(genome), 1000, 0, 0)
    t1 = time.perf_counter()
    learned = learn_merges(chunks, int(merges), int(threads))
    t2 = time.perf_counter()
    model = json.loads(merges_tokenizer(learned).to_str())["model"]
    return {"load_s": t1 - t0, "train_s": t2 - t1, "total_s": t2 - t0, "merges": model["merges"]}


def bpe_hf(genome: str, merges: str) -> dict:
    from tokenizers import Tokenizer, models, trainers

    from dnalm.vocab.bpe import ALPHABET, training_chunks
    from dnalm.vocab.vocabulary import SPECIAL_TOKENS

    t0 = time.perf_counter()
    lines = training_chunks(Path(genome), 1000, 0, 0).strings()
    t1 = time.perf_counter()
    tokenizer = Tokenizer(models.BPE(unk_token="[UNK]"))
    trainer = trainers.BpeTrainer(vocab_size=len(SPECIAL_TOKENS) + len(ALPHABET) + int(merges),
                                  initial_alphabet=ALPHABET, special_tokens=SPECIAL_TOKENS, show_progress=False)
    tokenizer.train_from_iterator(lines, trainer, length=len(lines))
    t2 = time.perf_counter()
    model = json.loads(tokenizer.to_str())["model"]
    return {"load_s": t1 - t0, "train_s": t2 - t1, "total_s": t2 - t0, "merges": model["merges"]}


def bpe_sentencepiece(genome: str, merges: str, workdir: str) -> dict:
    import sentencepiece as spm

    from dnalm.vocab.bpe import training_chunks

    t0 = time.perf_counter()
    lines = Path(workdir) / "lines.txt"
    lines.write_text("\n".join(training_chunks(Path(genome), 1000, 0, 0).strings()) + "\n")
    t1 = time.perf_counter()
    spm.SentencePieceTrainer.train(
        input=str(lines), model_prefix=str(Path(workdir) / "sp"), model_type="bpe",
        vocab_size=int(merges) + 4 + 3, split_by_whitespace=False, character_coverage=1.0,
        max_sentence_length=1_000_000, input_sentence_size=0, num_threads=2, minloglevel=2,
        hard_vocab_limit=False, train_extremely_large_corpus=True)
    t2 = time.perf_counter()
    lines.unlink()
    return {"load_s": t1 - t0, "train_s": t2 - t1, "total_s": t2 - t0}


def _runs(genome: str) -> list[bytes]:
    from dnalm.genome.prepare import iter_runs

    return [run.seq for run in iter_runs(Path(genome))]


def encode_dnalm(genome: str, vocab: str, threads: str) -> dict:
    from dnalm.genome.prepare import iter_runs
    from dnalm.vocab.tokenized import encode_runs
    from dnalm.vocab.vocabulary import Vocabulary

    v = Vocabulary.load(Path(vocab))
    runs = list(iter_runs(Path(genome)))
    t0 = time.perf_counter()
    tokens = sum(len(ids) for _, ids in encode_runs(v, iter(runs), 0, int(threads)))
    seconds = time.perf_counter() - t0
    return {"encode_s": seconds, "tokens": tokens, "bp": sum(len(r.seq) for r in runs)}


def encode_hf_runs(genome: str, vocab: str) -> dict:
    from tokenizers import Tokenizer

    hf = Tokenizer.from_file(str(Path(vocab) / "tokenizer.json"))
    runs = [r.decode() for r in _runs(genome)]
    t0 = time.perf_counter()
    tokens = sum(len(hf.encode(r, add_special_tokens=False).ids) for r in runs)
    return {"encode_s": time.perf_counter() - t0, "tokens": tokens, "bp": sum(map(len, runs))}


def encode_hf_lines(genome: str, vocab: str) -> dict:
    from tokenizers import Tokenizer

    hf = Tokenizer.from_file(str(Path(vocab) / "tokenizer.json"))
    lines = [r[i:i + 1000].decode() for r in _runs(genome) for i in range(0, len(r), 1000)]
    t0 = time.perf_counter()
    tokens = sum(len(e.ids) for e in hf.encode_batch(lines, add_special_tokens=False))
    return {"encode_s": time.perf_counter() - t0, "tokens": tokens, "bp": sum(map(len, lines))}


def compare_encodings(genome: str, vocab: str) -> dict:
    """dnalm's ids equal HF's whole-run ids for every run."""
    from tokenizers import Tokenizer

    from dnalm.vocab.vocabulary import Vocabulary

    hf = Tokenizer.from_file(str(Path(vocab) / "tokenizer.json"))
    v = Vocabulary.load(Path(vocab))
    equal = all(v.encode(r).tolist() == hf.encode(r.decode(), add_special_tokens=False).ids for r in _runs(genome))
    return {"equal": equal}


def tokenize_step(genome: str, vocab: str, out: str) -> dict:
    """The whole `dnalm tokenize-genome` step: read runs, encode, write tokens, index and counts."""
    import shutil

    from dnalm.vocab.tokenized import tokenize_genome

    shutil.rmtree(out, ignore_errors=True)
    Path(out).mkdir(parents=True)
    t0 = time.perf_counter()
    summary = tokenize_genome(Path(genome), Path(vocab), Path(out), piece_bp=0, threads=2)
    seconds = time.perf_counter() - t0
    shutil.rmtree(out)
    return {"step_s": seconds, "bp": summary["bp"], "tokens": summary["tokens"]}


TASKS = {f.__name__: f for f in [bpe_dnalm, bpe_hf, bpe_sentencepiece, encode_dnalm, encode_hf_runs,
                                 encode_hf_lines, compare_encodings, tokenize_step]}

if __name__ == "__main__":
    result_path, task, *args = sys.argv[1:]
    result = TASKS[task](*args)
    status = Path("/proc/self/status").read_text()
    result["peak_rss_mb"] = round(int(status.split("VmHWM:")[1].split()[0]) / 1024, 1)
    Path(result_path).write_text(json.dumps(result, default=lambda x: x.tolist() if isinstance(x, np.ndarray) else str(x)))

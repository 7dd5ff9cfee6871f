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


def _held_out_loss(model, tokenized: str, windows: str, seed: int) -> float:
    """Masked-LM loss on every held-out window with dnalm's fixed, seeded masks: one yardstick for both."""
    from dnalm.pretraining.data import MlmCollator, WindowDataset
    from dnalm.pretraining.pretrain import evaluate_mlm, evaluation_sample

    test = WindowDataset(Path(tokenized), Path(windows) / "test.npy")
    collator = MlmCollator(len(test.genome.vocab), 0.15, seed)
    return evaluate_mlm(model, test, collator, 64, 1, evaluation_sample(len(test), 0, seed))["loss"]


def pretrain_dnalm(tokenized: str, windows: str, steps: str, batch: str, seed: str, workdir: str, preset: str,
                   device: str, batching: str = "grouped", *kernel_flags: str) -> dict:
    """dnalm's `pretrain`, with `dnalm pretrain`'s kernel flags and defaults; tokens counted by its collator's
    batches."""
    import argparse

    import transformers
    from transformers import BertForMaskedLM

    from dnalm.cli.pretrain import add_kernels
    from dnalm.core.devices import select_device
    from dnalm.pretraining.data import MlmCollator
    from dnalm.pretraining.kernels import Kernels
    from dnalm.pretraining.pretrain import pretrain

    parser = argparse.ArgumentParser()
    add_kernels(parser)
    kernels = Kernels(**vars(parser.parse_args(kernel_flags)))
    select_device(device)

    steps_, batch_, seed_ = int(steps), int(batch), int(seed)
    out = Path(workdir) / "out"
    out.mkdir(parents=True)
    metrics, counts = {}, {"tokens": 0, "positions": 0}
    train, collate = transformers.Trainer.train, MlmCollator.__call__

    def recorded(self, *args, **kwargs):  # the Trainer's own train_runtime, as for the baseline
        metrics["training"] = True
        result = train(self, *args, **kwargs)
        metrics.update(result.metrics, training=False)
        return result

    def counted(self, items):  # the batches trained on (not the evaluation's)
        batch = collate(self, items)
        if metrics.get("training"):
            counts["tokens"] += int(batch["attention_mask"].sum())
            counts["positions"] += batch["attention_mask"].numel()
        return batch

    transformers.Trainer.train = recorded

    MlmCollator.__call__ = counted
    pretrain(Path(tokenized), Path(windows), out, Path(workdir) / "ck", "bench", preset=preset, config_json=None,
             max_steps=steps_, batch_size=batch_, learning_rate=4e-4, warmup_steps=min(100, steps_ // 10),
             weight_decay=0.01, mlm_probability=0.15, save_steps=steps_, keep_checkpoints=1, eval_batch_size=64,
             seed=seed_, masking="random", log_windows=False, deepspeed=None, eval_windows=1, batching=batching,
             kernels=kernels)
    model = BertForMaskedLM.from_pretrained(out / "model")
    return {"train_s": metrics["train_runtime"], **counts, "parameters": model.num_parameters(),
            "held_out_loss": _held_out_loss(model, tokenized, windows, seed_)}


def pretrain_hf(tokenized: str, windows: str, steps: str, batch: str, seed: str, workdir: str, preset: str,
                device: str) -> dict:
    """The plain HF recipe: BertForMaskedLM + DataCollatorForLanguageModeling + Trainer, random batches padded
    to their longest window, on the same windows, model and batch size; bf16 on a GPU that has it."""
    import torch
    from transformers import (
        BertConfig,
        BertForMaskedLM,
        DataCollatorForLanguageModeling,
        PreTrainedTokenizerFast,
        Trainer,
        TrainingArguments,
    )

    from dnalm.pretraining.data import CLS, SEP, WindowDataset
    from dnalm.pretraining.pretrain import config_fields

    steps_, batch_, seed_ = int(steps), int(batch), int(seed)
    train = WindowDataset(Path(tokenized), Path(windows) / "train.npy")
    tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(Path(tokenized) / "vocab" / "tokenizer.json"),
                                        pad_token="[PAD]", mask_token="[MASK]", cls_token="[CLS]", sep_token="[SEP]",
                                        unk_token="[UNK]")
    features = [{"input_ids": [CLS] + train[i][1].tolist() + [SEP]} for i in range(len(train))]
    mlm = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15)
    counts = {"tokens": 0, "positions": 0}

    def collator(items):
        out = mlm(items)
        counts["tokens"] += int(out["attention_mask"].sum())
        counts["positions"] += out["attention_mask"].numel()
        return out

    args = TrainingArguments(output_dir=str(Path(workdir) / "hf"), max_steps=steps_,
                             per_device_train_batch_size=batch_,
                             learning_rate=4e-4, warmup_steps=min(100, steps_ // 10), lr_scheduler_type="linear",
                             weight_decay=0.01, max_grad_norm=1.0, seed=seed_, data_seed=seed_, report_to=[],
                             save_strategy="no", logging_steps=max(1, steps_ // 20), use_cpu=device == "cpu",
                             bf16=device == "cuda" and torch.cuda.is_bf16_supported(), dataloader_num_workers=0,
                             disable_tqdm=True)
    model = BertForMaskedLM(BertConfig(**config_fields(preset, None, len(train.genome.vocab))))
    trainer = Trainer(model=model, args=args, train_dataset=features, data_collator=collator)
    runtime = trainer.train().metrics["train_runtime"]
    return {"train_s": runtime, **counts, "parameters": model.num_parameters(),
            "held_out_loss": _held_out_loss(trainer.model, tokenized, windows, seed_)}


TASKS = {f.__name__: f for f in [bpe_dnalm, bpe_hf, bpe_sentencepiece, encode_dnalm, encode_hf_runs,
                                 encode_hf_lines, compare_encodings, tokenize_step, pretrain_dnalm, pretrain_hf]}

if __name__ == "__main__":
    result_path, task, *args = sys.argv[1:]
    result = TASKS[task](*args)
    status = Path("/proc/self/status").read_text()
    result["peak_rss_mb"] = round(int(status.split("VmHWM:")[1].split()[0]) / 1024, 1)
    Path(result_path).write_text(json.dumps(result, default=lambda x: x.tolist() if isinstance(x, np.ndarray) else str(x)))

"""Pretraining a tiny BERT on the human window: it learns, it loads with HF, it resumes after a kill."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import DNALM, dnalm, dnalm_fails, mask_runs
from helpers import PRETRAIN_STEPS as STEPS


def fingerprint_dirs(checkpoint_dir):
    """The fingerprint directories under a --checkpoint-dir (each with its fingerprint.json)."""
    return sorted(p.parent for p in checkpoint_dir.glob("*/fingerprint.json"))



@pytest.mark.slow
def test_training_lowers_the_held_out_loss(pretrained):
    metrics = json.loads((pretrained / "model" / "metrics.json").read_text())
    before, after = metrics["held_out_before"], metrics["held_out_after"]
    assert before["masked_tokens"] == after["masked_tokens"] >= 2000  # the same fixed, seeded mask
    assert after["loss"] < before["loss"] - 0.1
    assert metrics["steps"] == 30 and metrics["top_k"] == 60  # 10 % of BPE-600's 604 tokens (GROVER's top-60)
    curve = (pretrained / "model" / "loss_curve.tsv").read_text().splitlines()
    assert len(curve) > 5
    assert (pretrained / "model" / "loss_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_model_and_tokenizer_load_with_huggingface(pretrained, tokenized):
    import torch
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    from dnalm.vocab.vocabulary import Vocabulary

    model = AutoModelForMaskedLM.from_pretrained(pretrained / "model" / "model")
    tok = AutoTokenizer.from_pretrained(pretrained / "model" / "model")
    seq = "ACGTTGCAGGCTTACCGGATTACAGGCATGAGCCACCGCGCCCGGCC"
    ids = tok(seq, return_tensors="pt")["input_ids"]
    assert ids[0, 1:-1].tolist() == Vocabulary.load(tokenized["bpe_600"] / "vocab").encode(seq).tolist()
    with torch.no_grad():
        assert model(input_ids=ids).logits.shape == (1, ids.shape[1], 609)


@pytest.mark.slow
def test_a_finished_run_does_not_train_again(pretrained, tokenized, windows):
    proc = dnalm("pretrain", "--tokenized", tokenized["bpe_600"], "--windows", windows["bpe_600"],
                 "--checkpoint-dir", pretrained / "checkpoints", *STEPS, "--out", pretrained / "again")
    assert "not training again" in proc.stderr and "'loss'" not in proc.stdout
    a = json.loads((pretrained / "model" / "metrics.json").read_text())["held_out_after"]
    b = json.loads((pretrained / "again" / "metrics.json").read_text())["held_out_after"]
    assert a == b


@pytest.mark.slow
def test_held_out_evaluation_is_a_seeded_sample_of_the_test_windows(pretrained, tokenized, windows):
    """Under the default cap the small test set is evaluated whole; a cap evaluates a sample of that size,
    whose windows keep their masks (a part of the full evaluation's masked tokens)."""
    n_test = len(np.load(windows["bpe_600"] / "test.npy"))
    full = json.loads((pretrained / "model" / "metrics.json").read_text())
    assert full["test_windows"] == n_test and full["held_out_after"]["windows"] == n_test
    proc = dnalm("pretrain", "--tokenized", tokenized["bpe_600"], "--windows", windows["bpe_600"],
                 "--checkpoint-dir", pretrained / "checkpoints", *STEPS, "--eval-windows", str(n_test // 2),
                 "--out", pretrained / "sampled")
    assert f"a seeded sample of {n_test // 2} of the {n_test} held-out windows" in proc.stderr
    sampled = json.loads((pretrained / "sampled" / "metrics.json").read_text())
    assert sampled["test_windows"] == n_test and sampled["held_out_after"]["windows"] == n_test // 2
    assert 0 < sampled["held_out_after"]["masked_tokens"] < full["held_out_after"]["masked_tokens"]
    assert sampled["held_out_before"]["masked_tokens"] == sampled["held_out_after"]["masked_tokens"]


FEW = ["--max-steps", "4", "--save-steps", "4", "--batch-size", "4", "--warmup-steps", "1"]


@pytest.fixture(scope="module")
def beside_an_old_checkpoint(pretrained, tokenized, windows, tmp_path_factory):
    """A short run into a --checkpoint-dir that holds a checkpoint of the layout before fingerprints
    (checkpoint-N directly inside, here one of another setting's): the first run of the fingerprint tests."""
    ck = tmp_path_factory.mktemp("fingerprints") / "ck"
    ck.mkdir()
    (other,) = fingerprint_dirs(pretrained / "checkpoints")
    old = next(other.glob("checkpoint-*"))
    shutil.copytree(old, ck / old.name)  # as the old layout kept it
    base = ["pretrain", "--tokenized", tokenized["bpe_600"], "--windows", windows["bpe_600"], "--checkpoint-dir", ck,
            *FEW]
    proc = dnalm(*base, "--out", ck.parent / "m0")
    return base, ck, proc, fingerprint_dirs(ck), old.name


@pytest.mark.slow
def test_checkpoints_without_a_fingerprint_are_not_resumed(beside_an_old_checkpoint):
    """What an old-layout checkpoint was trained with is unknown, so the run warns and trains afresh instead of
    reporting it as finished."""
    _, ck, proc, dirs, old = beside_an_old_checkpoint
    assert "without a fingerprint" in proc.stderr and old in proc.stderr
    assert "training afresh" in proc.stderr and "not training again" not in proc.stderr
    assert "resuming from" not in proc.stderr
    assert (ck / old).is_dir()  # left alone
    (kept,) = dirs
    assert (kept / "checkpoint-4" / "DNALM_CHECKPOINT_COMPLETE").is_file()


@pytest.mark.slow
def test_changed_settings_train_afresh_in_another_fingerprint_directory(beside_an_old_checkpoint, tmp_path):
    """The checkpoints of one setting are never taken for another's: a rerun with another model config,
    seed or masking trains afresh (it used to report the old model as 'already reached')."""
    base, shared, first, (first_dir,), _ = beside_an_old_checkpoint
    ck = tmp_path / "ck"
    shutil.copytree(shared, ck)
    base = [ck if a == shared else a for a in base]
    shutil.copytree(shared.parent / "m0", tmp_path / "m0")
    assert "training afresh" in first.stderr
    (kept,) = fingerprint_dirs(ck)
    assert kept.name == first_dir.name
    assert (kept / "checkpoint-4" / "DNALM_CHECKPOINT_COMPLETE").is_file()
    recorded = json.loads((kept / "fingerprint.json").read_text())
    assert recorded["fingerprint"][:16] == kept.name
    inputs = recorded["inputs"]
    assert inputs["model"]["num_hidden_layers"] == 2 and inputs["seed"] == 42
    assert inputs["masking"] == {"strategy": "random", "mlm_probability": 0.15, "span": 1}
    assert "max_steps" not in json.dumps(inputs) and "save_steps" not in json.dumps(inputs)
    cfg = tmp_path / "one_layer.json"
    cfg.write_text('{"num_hidden_layers": 1}')
    seen = {kept}
    for i, change in enumerate((["--config", cfg], ["--seed", "7"], ["--masking", "span8"]), 1):
        proc = dnalm(*base, *change, "--out", tmp_path / f"m{i}")
        assert "training afresh" in proc.stderr and "not training again" not in proc.stderr, change
        assert "resuming from" not in proc.stderr
        dirs = set(fingerprint_dirs(ck))
        (new,) = dirs - seen
        seen = dirs
        assert f"checkpoints in {new}" in proc.stderr
        assert (new / "checkpoint-4" / "DNALM_CHECKPOINT_COMPLETE").is_file()
    metrics = [json.loads((tmp_path / f"m{i}" / "metrics.json").read_text()) for i in range(4)]
    assert [m["config"]["num_hidden_layers"] for m in metrics] == [2, 1, 2, 2]
    written = [json.loads((tmp_path / f"m{i}" / "model" / "config.json").read_text()) for i in range(4)]
    assert [c["num_hidden_layers"] for c in written] == [2, 1, 2, 2]  # the model itself, not only the report
    assert metrics[3]["masking"] == "span8"
    assert len({m["held_out_after"]["loss"] for m in metrics[:3]}) == 3  # different models, not the first one
    # the first setting again: its own checkpoints, not the newest directory's
    again = dnalm(*base, "--out", tmp_path / "m0_again")
    assert "not training again" in again.stderr and f"checkpoints in {kept}" in again.stderr
    assert json.loads((tmp_path / "m0_again" / "metrics.json").read_text())["held_out_after"] == \
        metrics[0]["held_out_after"]


@pytest.mark.slow
def test_a_longer_run_resumes_from_the_finished_checkpoints(pretrained, tokenized, windows, tmp_path):
    """--max-steps is not part of the fingerprint: more steps continue the checkpoints of the shorter run."""
    ck = tmp_path / "ck"
    shutil.copytree(pretrained / "checkpoints", ck)
    (kept,) = fingerprint_dirs(ck)
    longer = [a if a != "30" else "40" for a in STEPS]
    proc = dnalm("pretrain", "--tokenized", tokenized["bpe_600"], "--windows", windows["bpe_600"],
                 "--checkpoint-dir", ck, *longer, "--out", tmp_path / "m")
    assert f"checkpoints in {kept}" in proc.stderr
    assert "resuming from checkpoint-30 (step 30) to step 40" in proc.stderr and "training afresh" not in proc.stderr
    assert fingerprint_dirs(ck) == [kept] and (kept / "checkpoint-40" / "DNALM_CHECKPOINT_COMPLETE").is_file()
    metrics = json.loads((tmp_path / "m" / "metrics.json").read_text())
    assert metrics["steps"] == 40
    steps = [int(r.split("\t")[0]) for r in (tmp_path / "m" / "loss_curve.tsv").read_text().splitlines()[1:]]
    assert steps[0] < 30 < steps[-1] <= 40  # the shorter run's history, continued
    state = json.loads((kept / "checkpoint-40" / "trainer_state.json").read_text())
    assert state["global_step"] == 40


@pytest.mark.slow
def test_a_longer_run_says_that_it_re_spans_the_learning_rate_schedule(pretrained, tokenized, windows, tmp_path):
    """Continuing 30 finished steps to 40 re-spans the linear decay (warmup 3, 1e-3) from step 30: the learning
    rate jumps from 0 back to 1e-3 * 10/37. The run says so, with both horizons, the Trainer's rates follow the
    new span, and metrics.json and the checkpoints record both segments; loading that model again does not warn."""
    ck = tmp_path / "ck"
    shutil.copytree(pretrained / "checkpoints", ck)
    (kept,) = fingerprint_dirs(ck)
    longer = [a if a != "30" else "40" for a in STEPS]
    args = ["pretrain", "--tokenized", tokenized["bpe_600"], "--windows", windows["bpe_600"], "--checkpoint-dir", ck,
            *longer]
    proc = dnalm(*args, "--out", tmp_path / "m")
    assert ("checkpoint-30 was trained for --max-steps 30; continuing it to 40 re-spans the linear decay over 40 "
            "steps, so the learning rate at step 30 jumps from 0 to 0.00027") in proc.stderr
    segments = [{"from_step": 0, "max_steps": 30}, {"from_step": 30, "max_steps": 40}]
    assert json.loads((tmp_path / "m" / "metrics.json").read_text())["schedule"] == segments
    history = json.loads((kept / "checkpoint-40" / "trainer_state.json").read_text())["log_history"]
    rates = {h["step"]: h["learning_rate"] for h in history if "learning_rate" in h}  # that of the step logged
    assert rates[30] == pytest.approx(1e-3 * 1 / 27) and rates[32] == pytest.approx(1e-3 * 9 / 37)
    again = dnalm(*args, "--out", tmp_path / "again")
    assert "not training again" in again.stderr and "re-spans" not in again.stderr
    assert json.loads((tmp_path / "again" / "metrics.json").read_text())["schedule"] == segments


@pytest.mark.slow
def test_fewer_steps_than_the_checkpoints_reached_are_refused(pretrained, tokenized, windows, tmp_path):
    """The linear decay spans --max-steps, so 20 steps of inputs whose checkpoints reached 30 is another model:
    refused, naming the flag, the step reached and the checkpoint directory (it used to return the 30-step
    model with exit 0 and metrics saying 30)."""
    ck = tmp_path / "ck"
    shutil.copytree(pretrained / "checkpoints", ck)
    (kept,) = fingerprint_dirs(ck)
    saved = sorted(p.name for p in kept.glob("checkpoint-*"))
    shorter = [a if a != "30" else "20" for a in STEPS]
    error = dnalm_fails("pretrain", "--tokenized", tokenized["bpe_600"], "--windows", windows["bpe_600"],
                        "--checkpoint-dir", ck, *shorter, "--out", tmp_path / "m", logs=True)
    assert f"--max-steps 20: the checkpoints in {kept} already reached step 30" in error
    assert "give --max-steps >= 30 or another --checkpoint-dir" in error
    assert fingerprint_dirs(ck) == [kept] and sorted(p.name for p in kept.glob("checkpoint-*")) == saved


@pytest.mark.slow
def test_kernels_run_as_asked_and_resume_the_same_checkpoints(pretrained, tokenized, windows, tmp_path):
    """--attention, --precision and --fused-adamw change how a step runs, not what the model is: a run with
    other kernels continues the default run's checkpoints, the Trainer reports the kernels asked for, and the
    held-out loss stays where the defaults' is."""
    longer = [a if a != "30" else "40" for a in STEPS]
    runs = {}
    for name, flags in {"defaults": [], "other": ["--attention", "eager", "--precision", "bf16",
                                                  "--no-fused-adamw"]}.items():
        ck = tmp_path / name / "ck"
        shutil.copytree(pretrained / "checkpoints", ck)
        (kept,) = fingerprint_dirs(ck)
        proc = dnalm("pretrain", "--tokenized", tokenized["bpe_600"], "--windows", windows["bpe_600"],
                     "--checkpoint-dir", ck, *longer, *flags, "--log-window-ids", "--out", tmp_path / name / "m")
        assert "resuming from checkpoint-30 (step 30) to step 40" in proc.stderr and fingerprint_dirs(ck) == [kept]
        rank = json.loads((ck / "ranks" / "rank0.json").read_text())
        runs[name] = (proc.stderr, rank["kernels"], json.loads((tmp_path / name / "m" / "metrics.json").read_text()))
    assert "attention sdpa, fp32, fused AdamW, eager mode; no DeepSpeed" in runs["defaults"][0]  # auto: tiny
    assert runs["defaults"][1] == {"attention": "sdpa", "mixed_precision": "no", "fused_adamw": True}
    assert "attention eager, bf16, unfused AdamW, eager mode" in runs["other"][0]
    assert runs["other"][1] == {"attention": "eager", "mixed_precision": "bf16", "fused_adamw": False}
    losses = [metrics["held_out_after"]["loss"] for _, _, metrics in runs.values()]
    assert abs(losses[0] - losses[1]) < 0.002, losses  # 1e-5 apart when measured; seeds differ by 0.009


@pytest.mark.slow
def test_the_checkpoint_of_a_killed_longer_run_is_not_taken_for_a_shorter_model(pretrained, tokenized, windows,
                                                                                 tmp_path):
    """A 30-step run killed after checkpoint-20 has not decayed its learning rate: --max-steps 20 is refused
    (it used to return it as the 20-step model), while --max-steps 25 continues it with the decay re-spanned,
    said and recorded."""
    ck = tmp_path / "ck"
    shutil.copytree(pretrained / "checkpoints", ck)
    (kept,) = fingerprint_dirs(ck)
    shutil.rmtree(kept / "checkpoint-30")  # as a kill after checkpoint-20 leaves it
    args = ["pretrain", "--tokenized", tokenized["bpe_600"], "--windows", windows["bpe_600"], "--checkpoint-dir", ck]
    error = dnalm_fails(*args, *[a if a != "30" else "20" for a in STEPS], "--out", tmp_path / "m20", logs=True)
    assert (f"--max-steps 20: the checkpoints in {kept} reached step 20 of a run for --max-steps 30, whose learning "
            "rate had not decayed yet") in error
    proc = dnalm(*args, *[a if a != "30" else "25" for a in STEPS], "--out", tmp_path / "m25")
    assert "checkpoint-20 was trained for --max-steps 30; continuing it to 25 re-spans" in proc.stderr
    assert "jumps from 0.00037 to 0.000227" in proc.stderr  # 1e-3 * 10/27, 1e-3 * 5/22
    assert json.loads((tmp_path / "m25" / "metrics.json").read_text())["schedule"] == [
        {"from_step": 0, "max_steps": 30}, {"from_step": 20, "max_steps": 25}]


@pytest.mark.slow
def test_killed_run_resumes_from_its_checkpoint(pretrained, tokenized, windows, tmp_path):
    """SIGKILL after the first checkpoint; the rerun resumes and ends where an uninterrupted run ends."""
    from safetensors.numpy import load_file

    args = [sys.executable, str(DNALM), "pretrain", "--tokenized", str(tokenized["bpe_600"]), "--windows",
            str(windows["bpe_600"]), "--checkpoint-dir", str(tmp_path / "ck"), *STEPS]
    proc = subprocess.Popen(args + ["--out", str(tmp_path / "first")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    markers = lambda: list((tmp_path / "ck").glob("*/checkpoint-10/DNALM_CHECKPOINT_COMPLETE"))  # noqa: E731
    deadline = time.time() + 120
    while not markers() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert len(markers()) == 1 and not (tmp_path / "first").exists()
    kept = markers()[0].parent.parent
    assert fingerprint_dirs(tmp_path / "ck") == [kept]
    # A half-written checkpoint (no completion marker) is never chosen.
    (kept / "checkpoint-99").mkdir(exist_ok=True)
    resumed = subprocess.run(args + ["--out", str(tmp_path / "second")], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming from" in resumed.stderr and "checkpoint-99" not in resumed.stderr.split("resuming from")[1][:200]
    assert f"checkpoints in {kept}" in resumed.stderr and fingerprint_dirs(tmp_path / "ck") == [kept]
    ours = json.loads((tmp_path / "second" / "metrics.json").read_text())
    reference = json.loads((pretrained / "model" / "metrics.json").read_text())
    assert ours["steps"] == reference["steps"] == 30
    assert ours["schedule"] == reference["schedule"] == [{"from_step": 0, "max_steps": 30}]
    assert "re-spans" not in resumed.stderr  # the same --max-steps: the same schedule
    final = load_file(str(tmp_path / "second" / "model" / "model.safetensors"))
    uninterrupted = load_file(str(pretrained / "model" / "model" / "model.safetensors"))
    for name, value in uninterrupted.items():
        np.testing.assert_allclose(final[name], value, rtol=1e-4, atol=1e-5, err_msg=name)


@pytest.mark.slow
def test_a_second_run_of_the_same_model_waits_for_the_first(pretrained, tokenized, windows, tmp_path):
    """A task left running by a dead engine and its rerun must not write the same checkpoints at once: the
    second waits, saying for whom, then resumes from what the first left."""
    from dnalm.core.fingerprint import one_writer

    ck = tmp_path / "ck"
    shutil.copytree(pretrained / "checkpoints", ck)
    (kept,) = fingerprint_dirs(ck)
    longer = [a if a != "30" else "40" for a in STEPS]
    with one_writer(kept, "the first run"):
        second = subprocess.Popen([sys.executable, str(DNALM), "pretrain", "--tokenized", str(tokenized["bpe_600"]),
                                   "--windows", str(windows["bpe_600"]), "--checkpoint-dir", str(ck), *longer,
                                   "--out", str(tmp_path / "m")], stderr=subprocess.PIPE, text=True)
        seen = []
        while not any("waiting for it to end" in line for line in seen) and second.poll() is None:
            seen.append(second.stderr.readline())
        assert f"another process (pid {os.getpid()} on " in "".join(seen), "".join(seen)
        time.sleep(1)
        assert not (kept / "checkpoint-40").exists() and second.poll() is None
    rest = second.stderr.read()
    assert second.wait() == 0, rest
    assert "is free again" in rest and "resuming from checkpoint-30 (step 30) to step 40" in rest
    assert (kept / "checkpoint-40" / "DNALM_CHECKPOINT_COMPLETE").is_file()


@pytest.mark.slow
def test_bad_pretrain_input(tmp_path, tokenized, windows):
    assert "cannot read windows" in dnalm_fails("pretrain", "--tokenized", tokenized["bpe_600"], "--windows",
                                                tmp_path, "--checkpoint-dir", tmp_path / "ck", "--out", tmp_path / "o")
    bad = tmp_path / "cfg.json"
    bad.write_text("{not json")
    assert "--config" in dnalm_fails("pretrain", "--tokenized", tokenized["bpe_600"], "--windows", windows["bpe_600"],
                                     "--checkpoint-dir", tmp_path / "ck2", "--config", bad, "--out", tmp_path / "o2")


SPANS = {"kmer6_overlap": ("span", 6), "bpe_600": ("span8", 8)}  # DNABERT's k overlapping k-mers; GenomeNet's 8


@pytest.fixture(scope="module")
def span_trained(tmp_path_factory, tokenized, windows) -> dict[str, Path]:
    """A few steps of pretraining under each span masking: the run's --out and --checkpoint-dir."""
    base = tmp_path_factory.mktemp("span")
    for name, (masking, _) in SPANS.items():
        dnalm("pretrain", "--tokenized", tokenized[name], "--windows", windows[name], "--checkpoint-dir",
              base / name / "ck", "--masking", masking, *FEW, "--eval-batch-size", "16", "--out", base / name / "m")
    return {name: base / name for name in SPANS}


@pytest.mark.parametrize("name", list(SPANS))
@pytest.mark.slow
def test_span_masking_masks_contiguous_spans_of_its_length(name, span_trained, tokenized, windows):
    """The run records its masking and hides whole spans: the held-out tokens it masked (a fixed, seeded
    mask) are exactly those of the span masks of its windows, runs of `span` tokens (shorter only at a
    window's end), not BERT's scattered tokens."""
    from dnalm.pretraining.data import IGNORE, MlmCollator, WindowDataset

    masking, span = SPANS[name]
    metrics = json.loads((span_trained[name] / "m" / "metrics.json").read_text())
    assert metrics["masking"] == masking and metrics["steps"] == 4
    (kept,) = fingerprint_dirs(span_trained[name] / "ck")
    recorded = json.loads((kept / "fingerprint.json").read_text())["inputs"]["masking"]
    assert recorded["strategy"] == masking and recorded["span"] == (6 if masking == "span" else 1)
    test = WindowDataset(tokenized[name], windows[name] / "test.npy")
    assert metrics["held_out_before"]["windows"] == len(test)  # evaluated whole, in batches of 16
    batches = [[test[i] for i in range(lo, min(lo + 16, len(test)))] for lo in range(0, len(test), 16)]
    masks = {strategy: [(MlmCollator(len(test.genome.vocab), 0.15, 42, strategy, recorded["span"])(b)["labels"]
                         != IGNORE).numpy() for b in batches] for strategy in (masking, "random")}
    masked = sum(int(m.sum()) for m in masks[masking])
    assert metrics["held_out_before"]["masked_tokens"] == metrics["held_out_after"]["masked_tokens"] == masked
    assert masked != sum(int(m.sum()) for m in masks["random"])
    lengths = []
    for batch, chosen in zip(batches, masks[masking]):
        for (_, window), row in zip(batch, chosen):
            for start, end in mask_runs(row):
                assert end - start >= span or end == len(window) + 1, (start, end)  # +1: [CLS]
                lengths.append(end - start)
    assert np.median(lengths) >= span


@pytest.mark.slow
def test_a_span_trained_overlapping_kmer_model_splits_raw_dna_itself(span_trained):
    from transformers import AutoTokenizer

    from dnalm.vocab.vocabulary import Vocabulary

    model = span_trained["kmer6_overlap"] / "m" / "model"
    dna = "acgtNtgcaGGCTTACCGGAttacagg"  # the model directory splits raw DNA into overlapping 6-mers itself
    hf = AutoTokenizer.from_pretrained(model, trust_remote_code=True)
    ids = Vocabulary.load(model).encode_lenient(dna.upper()).tolist()
    assert hf(dna)["input_ids"] == [hf.cls_token_id] + ids + [hf.sep_token_id]


@pytest.mark.slow
def test_per_token_metrics_agree_with_an_independent_computation(pretrained):
    rows = [line.split("\t") for line in (pretrained / "model" / "per_token.tsv").read_text().splitlines()[1:]]
    assert len(rows) > 50
    counts = [int(r[2]) for r in rows]
    metrics = json.loads((pretrained / "model" / "metrics.json").read_text())["held_out_after"]
    assert sum(counts) == min(metrics["masked_tokens"], 20_000)
    accuracy = sum(int(r[2]) * float(r[3]) for r in rows) / sum(counts)
    assert abs(accuracy - metrics["accuracy"]) < 1e-6  # every masked position is kept for the test window
    aucs = [float(r[4]) for r in rows if r[4] != "nan"]
    assert abs(np.mean(aucs) - metrics["mean_token_auc"]) < 1e-6 and 0.5 < metrics["mean_token_auc"] <= 1


def test_deepspeed_auto_is_zero2_for_base_on_several_ranks_only():
    """The measured rule (benchmarks/results/pretrain_zero.md); explicit choices pass through."""
    from dnalm.cli.pretrain import ZERO2, deepspeed_for

    assert deepspeed_for("auto", "base", 2) == ZERO2 and deepspeed_for("auto", "base", 16) == ZERO2
    assert deepspeed_for("auto", "base", 1) is None  # one rank has nothing to partition
    assert deepspeed_for("auto", "tiny", 2) is None and deepspeed_for("auto", "small", 8) is None
    assert deepspeed_for(ZERO2, "tiny", 1) == ZERO2 and deepspeed_for(None, "base", 8) is None


def test_one_vs_rest_auc_matches_pairwise_counting():
    from dnalm.pretraining.pretrain import one_vs_rest_auc

    rng = np.random.default_rng(0)
    scores = np.round(rng.random(300), 2)  # ties
    positive = rng.random(300) < 0.3
    pos, neg = scores[positive], scores[~positive]
    pairs = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    assert abs(one_vs_rest_auc(scores, positive) - pairs / (len(pos) * len(neg))) < 1e-12


@pytest.mark.slow
def test_two_local_ranks_train_together(tmp_path, tokenized, windows):
    """torchrun, 2 processes over gloo on the CPU with DeepSpeed ZeRO-2, started by `dnalm launch`: disjoint
    windows covering the epoch, identical final weights, a logged loss on the scale of one rank's (not
    multiplied by 2)."""
    n_train = len(np.load(windows["bpe_600"] / "train.npy"))
    steps = -(-n_train // (2 * 5))  # one epoch at 2 ranks x 5 windows
    proc = dnalm("launch", "--procs-per-node", "2", "--", "dnalm", "pretrain", "--tokenized", tokenized["bpe_600"],
                 "--windows", windows["bpe_600"], "--checkpoint-dir", tmp_path / "ck", "--max-steps", steps,
                 "--save-steps", steps, "--batch-size", 5, "--warmup-steps", 2, "--log-window-ids",
                 "--deepspeed", "zero2", "--out", tmp_path / "m")
    assert proc.stdout.startswith("torchrun --standalone --nproc-per-node=2")
    ranks = [json.loads((tmp_path / "ck" / "ranks" / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world_size"] for r in ranks] == [2, 2] and ranks[0]["global_step"] == ranks[1]["global_step"] == steps
    assert sorted(r["local_rank"] for r in ranks) == [0, 1] and {r["device"] for r in ranks} == {"cpu"}
    assert "rank 0 of 2 on cpu" in proc.stderr and "rank 1 of 2 on cpu" in proc.stderr  # every rank says where
    a, b = set(ranks[0]["windows"]), set(ranks[1]["windows"])
    assert a | b == set(range(n_train))
    assert len(a & b) <= (-n_train) % 10  # the last global batch of 2 x 5 is completed from the start
    assert ranks[0]["weights_abs_sum"] == ranks[1]["weights_abs_sum"]
    first_loss = ranks[0]["losses"][0]
    assert 0.5 * np.log(609) < first_loss < 1.5 * np.log(609)
    assert (tmp_path / "m" / "metrics.json").is_file()
    # both ranks computed the same fingerprint directory, the only one
    (kept,) = fingerprint_dirs(tmp_path / "ck")
    assert ranks[0]["checkpoint_dir"] == ranks[1]["checkpoint_dir"] == str(kept)
    recorded = json.loads((kept / "fingerprint.json").read_text())["inputs"]["optimiser"]
    assert recorded["world_size"] == 2 and recorded["deepspeed"] is not None
    assert (kept / f"checkpoint-{steps}" / f"global_step{steps}").is_dir()  # a DeepSpeed checkpoint

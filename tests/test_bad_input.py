"""Bad input: one line naming the file or option, non-zero exit, no traceback, no output directory."""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
from helpers import HUMAN, LAMBDA_SEQ, PRETRAIN_STEPS, dnalm, dnalm_fails, write_task

from dnalm.cli import build_parser
from dnalm.core.errors import InputError
from dnalm.core.outputs import atomic_directory

LAMBDA_2K = LAMBDA_SEQ[:2000]


def _write(path, content: bytes):
    path.write_bytes(content)
    return path


def _truncated_gz(path):
    data = HUMAN.read_bytes()
    return _write(path, data[: len(data) // 2])


CASES = {
    "empty file": (lambda d: _write(d / "empty.fa", b""), [], "empty"),
    "plain text": (lambda d: _write(d / "notes.txt", b"Dear reviewer,\nthis is not a genome.\n"), [],
                   "sequence before the first '>' header"),
    "binary file": (lambda d: _write(d / "blob.bin", bytes(range(256)) * 40), [], "binary"),
    "truncated gzip": (lambda d: _truncated_gz(d / "cut.fa.gz"), [], "truncated gzip"),
    "duplicate contigs": (lambda d: _write(d / "dup.fa", f">a\n{LAMBDA_2K}\n>a\n{LAMBDA_2K}\n".encode()), [],
                          "duplicate contig name 'a'"),
    "missing contig": (lambda d: _write(d / "one.fa", f">chr1\n{LAMBDA_2K}\n".encode()),
                       ["--contigs", "chr1,chr9"], "--contigs: no contig"),
    "sequence before header": (lambda d: _write(d / "pre.fa", f"{LAMBDA_2K}\n>a\n{LAMBDA_2K}\n".encode()), [],
                               "sequence before the first '>' header"),
    "non-nucleotide characters": (lambda d: _write(d / "prot.fa", b">p\nMKVLAAGIVGLLLA*\n"), [],
                                  "not a nucleotide code"),
    "no ACGT at all": (lambda d: _write(d / "nn.fa", b">a\nNNNNNNNNNN\n>b\nRYRYRYRY\n"), [], "no A/C/G/T run"),
    "unknown option value": (lambda d: _write(d / "ok.fa", f">a\n{LAMBDA_2K}\n".encode()),
                             ["--min-run", "many"], "--min-run"),
    "missing file": (lambda d: d / "absent.fa", [], "absent.fa: No such file"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_prepare_genome_rejects(case, tmp_path):
    make, extra, message = CASES[case]
    fasta = make(tmp_path)
    out = tmp_path / "out"
    status = 1 if case == "missing file" else 2  # an OS error, not input dnalm read and refused
    error = dnalm_fails("prepare-genome", "--fasta", fasta, "--out", out, *extra, logs=True, status=status)
    assert message in error  # the error line starts a line, not glued to the progress bar
    assert str(fasta.name) in error or extra and extra[0] in error
    assert os.listdir(tmp_path) == ([fasta.name] if fasta.exists() else [])


@pytest.mark.parametrize("args, message", [
    (["kmer-vocab", "--kind", "kmer-diagonal", "--k", "4"], "invalid choice: 'kmer-diagonal'"),
    (["kmer-vocab", "--kind", "kmer", "--k", "12"], "--k 12"),
    (["kmer-vocab", "--kind", "kmer-stride", "--k", "6"], "--stride"),
    (["vocab-sweep", "--genome", "nowhere", "--cycles", "100"], "--genome nowhere"),
    (["vocab-sweep", "--genome", "nowhere", "--cycles", "ten"], "--cycles"),
    (["make-windows", "--tokenized", "nowhere"], "--tokenized nowhere"),
    (["nextkmer-finetune", "--model", "m", "--data", "d", "--k", "9"], "k must be between 1 and 8"),
    (["tfidf-baseline", "--data", "d", "--vocab", "v", "--k", "0"], "k must be between 1 and 8"),
    (["nextkmer-data", "--genome", "nowhere", "--holdout-contigs", "chr21"], "--genome nowhere"),
    (["task-promscan", "--genome", "nowhere", "--tss", "t.bed"], "--genome nowhere: not a prepared genome"),
    (["prepare-annotation", "--track", "t.bed", "--name", "x", "--format", "bed", "--role", "repeats", "--genome",
      "nowhere"], "--genome nowhere: not a prepared genome"),
])
def test_other_steps_reject_bad_options(args, message, tmp_path):
    out = tmp_path / "out"
    assert message in dnalm_fails(*args, "--out", out)
    assert os.listdir(tmp_path) == []


def test_existing_output_directory_is_never_overwritten(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    assert "already exists" in dnalm_fails("kmer-vocab", "--kind", "kmer", "--k", "3", "--out", out)
    assert (out / "precious.txt").read_text() == "keep me"


def test_gzip_detection_is_by_content(tmp_path):
    """A gzip file without .gz and a plain file with .gz both read correctly."""
    plain = tmp_path / "x.fa.gz"
    plain.write_text(f">a\n{LAMBDA_2K}\n")
    packed = tmp_path / "x.fa"
    packed.write_bytes(gzip.compress(f">a\n{LAMBDA_2K}\n".encode()))
    for i, f in enumerate([plain, packed]):
        dnalm("prepare-genome", "--fasta", f, "--out", tmp_path / f"o{i}")
        assert (tmp_path / f"o{i}" / "runs.bed").read_text() == "a\t0\t2000\ta:0-2000\n"


def test_a_gpu_step_told_to_use_a_gpu_stops_when_none_is_visible(tmp_path):
    """The workflow passes --device cuda when GPUs were requested: no silent fallback to the CPU."""
    assert "--device cuda: torch sees no CUDA GPU here" in dnalm_fails(
        "self-similarity", "--device", "cuda", "--model", tmp_path, "--tokenized", tmp_path, "--windows", tmp_path,
        "--out", tmp_path / "out")


def _lambda_rows(labels: list[str], length: int = 100) -> list[tuple[str, str]]:
    return [(LAMBDA_2K[i * 50:i * 50 + length], label) for i, label in enumerate(labels)]


def test_inconsistent_window_lengths_get_one_line(tokenized, tmp_path):
    error = dnalm_fails("make-windows", "--tokenized", tokenized["kmer4"], "--max-len", "10", "--min-len", "20",
                        "--out", tmp_path / "out")
    assert "--min-len 20" in error and "--max-len 10" in error
    assert os.listdir(tmp_path) == []


@pytest.mark.slow
def test_windows_longer_than_the_model_reads_get_one_line(pretrained, tokenized, tmp_path):
    error = dnalm_fails("window-embeddings", "--model", pretrained / "model" / "model", "--tokenized",
                        tokenized["bpe_600"], "--window-tokens", "5000", "--out", tmp_path / "out", logs=True)
    assert "--window-tokens 5000" in error and "510" in error
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("vocab", ["bpe_2000", "kmer4"])  # more token ids than the model has; fewer
@pytest.mark.slow
def test_a_model_of_another_vocabulary_gets_one_line(pretrained, tokenized, windows, vocab, tmp_path):
    error = dnalm_fails("self-similarity", "--model", pretrained / "model" / "model", "--tokenized", tokenized[vocab],
                        "--windows", windows[vocab], "--out", tmp_path / "out")
    assert "--model" in error and f"--tokenized {tokenized[vocab]}" in error and vocab in error


@pytest.mark.parametrize("field, value", [("hidden_size", 65), ("hidden_size", 128)])  # heads; weights
@pytest.mark.slow
def test_a_model_config_of_impossible_size_gets_one_line(pretrained, field, value, tmp_path):
    model = tmp_path / "edited"
    shutil.copytree(pretrained / "model" / "model", model)
    config = json.loads((model / "config.json").read_text())
    (model / "config.json").write_text(json.dumps({**config, field: value}))
    task = write_task(tmp_path / "task", {s: _lambda_rows(["0", "1"] * 4) for s in ("train", "dev", "test")})
    assert f"--model {model}" in dnalm_fails("finetune", "--model", model, "--data", task, "--max-steps", "1",
                                             "--out", tmp_path / "out", logs=True)  # after the HF load report


def test_pretraining_without_masked_tokens_is_refused_at_the_flag(tokenized, windows, tmp_path):
    assert "--mlm-probability" in dnalm_fails("pretrain", "--tokenized", tokenized["bpe_600"], "--windows",
                                              windows["bpe_600"], "--checkpoint-dir", tmp_path / "checkpoints",
                                              *PRETRAIN_STEPS, "--mlm-probability", "0", "--out", tmp_path / "out")
    assert os.listdir(tmp_path) == []


def test_integer_valued_labels_are_one_class(vocabs, tmp_path):
    """`1` and `1.0` are the same class: a task of labels 0, 1, 1.0 has two classes, not three."""
    rows = {s: _lambda_rows(["0", "1", "1.0", "0", "1.0", "1"] * 2) for s in ("train", "dev", "test")}
    task = write_task(tmp_path / "csv", rows)
    dnalm("task-import", "--source", task, "--out", tmp_path / "task")
    balance = json.loads((tmp_path / "task" / "task.json").read_text())["class_balance"]
    assert balance == {s: {"0": 4, "1": 8} for s in ("train", "dev", "test")}
    dnalm("tfidf-baseline", "--data", task, "--vocab", vocabs["kmer4"], "--trees", "10", "--out", tmp_path / "tfidf")
    assert json.loads((tmp_path / "tfidf" / "metrics.json").read_text())["n_classes"] == 2


def test_k_is_refused_for_a_task_with_its_own_labels(vocabs, tmp_path):
    """--k is the next k nt to predict: a labelled task given one (the workflow once passed the TF-IDF
    vocabulary's k) would be recorded with a k it does not have."""
    task = write_task(tmp_path / "csv", {s: _lambda_rows(["0", "1"] * 4) for s in ("train", "test")})
    for step, model in (("tfidf-baseline", ["--vocab", vocabs["kmer4"]]), ("nextkmer-finetune", ["--model", "m"])):
        error = dnalm_fails(step, "--data", task, *model, "--k", "2", "--out", tmp_path / step)
        assert f"--k 2: --data {task} is a labelled task with its own labels" in error

@pytest.mark.parametrize("label", ["1.5", "cat"])
def test_a_label_that_is_not_an_integer_gets_one_line(label, tmp_path):
    train = _lambda_rows(["0", "1", "0", label, "1"])
    task = write_task(tmp_path / "csv", {"train": train, "test": _lambda_rows(["0", "1"])})
    for step, args in (("task-import", ["--source", task]), ("finetune", ["--model", "m", "--data", task])):
        error = dnalm_fails(step, *args, "--out", tmp_path / "out")
        assert f"{task / 'train.csv'}: line 5: label {label!r}" in error


# a gap; a protein of residues whose letters are also IUPAC nucleotide codes (so FASTA reading accepts it)
@pytest.mark.parametrize("junk", ["N" * 100, "MKRSWDHVNY" * 4])
def test_sequences_that_are_mostly_not_dna_get_one_line(junk, tmp_path):
    train = _lambda_rows(["0", "1"] * 4)
    train[2:5] = [(junk, label) for _, label in train[2:5]]
    task = write_task(tmp_path / "csv", {"train": train, "test": _lambda_rows(["0", "1"])})
    error = dnalm_fails("task-import", "--source", task, "--out", tmp_path / "out")
    assert f"{task / 'train.csv'}: 3 of 8 sequences are mostly not A/C/G/T" in error
    fasta = tmp_path / "task.fa"
    fasta.write_text("".join(f">s{i}|{label}\n{seq}\n" for i, (seq, label) in enumerate(train)))
    error = dnalm_fails("task-import", "--source", fasta, "--out", tmp_path / "out")
    assert f"{fasta}: 3 of 8 sequences are mostly not A/C/G/T" in error


def test_occasional_non_acgt_bases_are_still_accepted(tmp_path):
    rows = _lambda_rows(["0", "1"] * 4)
    rows = [(seq[:40] + "NNRY" + seq[44:], label) for seq, label in rows]  # 4 of 100 bases
    task = write_task(tmp_path / "csv", {"train": rows, "test": rows[:2]})
    dnalm("task-import", "--source", task, "--out", tmp_path / "task")
    assert json.loads((tmp_path / "task" / "task.json").read_text())["samples"]["train"] == 7


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    """Every subcommand, from the parser itself."""
    return next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices


@pytest.mark.parametrize("command", list(_subcommands()))
def test_every_option_has_help_and_shows_its_default(command):
    rendered = _rendered_options(dnalm(command, "--help").stdout)
    for action in _subcommands()[command]._actions:
        if not action.option_strings or action.dest in ("help", "version"):
            continue
        flag = action.option_strings[-1]
        assert (action.help or "").strip(), f"{command} {flag} has no help"
        if action.default is not None and action.default is not False and action.default != []:
            assert "default" in rendered[flag], f"{command} {flag}: {rendered[flag]}"  # shown from the parser


def _rendered_options(help_text: str) -> dict[str, str]:
    """Each option's entry in `--help` output, by its long flag: its lines up to the next option."""
    entries: dict[str, str] = {}
    flag = None
    for line in help_text.splitlines():
        if line.startswith("  -"):
            invocation = re.split(r"\s{2,}", line.strip(), maxsplit=1)[0]
            flag = re.findall(r"(?:^|\s)(--?[\w-]+)", invocation)[-1]
            entries[flag] = ""
        elif not line.startswith(" "):
            flag = None
        if flag:
            entries[flag] += " " + line.strip()
    return entries


def test_every_step_logs_where_it_wrote(tmp_path):
    out = tmp_path / "k3"
    proc = dnalm("kmer-vocab", "--kind", "kmer", "--k", "3", "--out", out)
    assert proc.stderr.strip().splitlines()[-1] == f"[dnalm kmer-vocab] INFO wrote {out}"


@pytest.mark.slow
def test_the_report_logs_its_final_path(windows, tmp_path):
    out = tmp_path / "report"
    proc = dnalm("report", "--results", windows["kmer4"], "--out", out)
    assert f"INFO report: {out / 'dnalm_report.html'}\n" in proc.stderr and (out / "dnalm_report.html").is_file()
    assert ".partial" not in proc.stderr


def _partial(out: Path, pid: int, host: str = socket.gethostname()) -> Path:
    return out.parent / f".{out.name}.partial-{host}-{pid}"


def test_partials_of_killed_runs_are_removed_and_live_ones_kept(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    out = tmp_path / "out"
    killed, running = _partial(out, dead.pid), _partial(out, os.getpid())
    elsewhere = _partial(out, dead.pid, host="another-node")  # its PID says nothing on this host
    for partial in (killed, running, elsewhere):
        partial.mkdir()
        (partial / "half.npy").write_bytes(b"x")
    dnalm("kmer-vocab", "--kind", "kmer", "--k", "3", "--out", out)
    assert not killed.exists() and running.is_dir() and elsewhere.is_dir()
    assert (out / "dnalm_vocab.json").is_file()


def _dead_pid() -> int:
    dead = subprocess.Popen(["true"])
    dead.wait()
    return dead.pid


def test_any_command_removes_the_partials_killed_runs_left_beside_its_out(tmp_path):
    """A SIGKILL leaves an empty partial; rerunning into the same --out is not the only way on, so the next
    command writing into the same folder removes what dead runs of this host left there, of any output and of
    atomic_file's kept state too, and leaves live runs' and other hosts' alone."""
    dead = _dead_pid()
    killed_dir = _partial(tmp_path / "pretrained", dead)
    killed_file = _partial(tmp_path / "scores.jsonl", dead)
    running = _partial(tmp_path / "embeddings", os.getpid())
    elsewhere = _partial(tmp_path / "pretrained", dead, host="another-node")
    for partial in (killed_dir, running, elsewhere):
        partial.mkdir()
    killed_file.write_text("[[0, 0, ")
    proc = dnalm("kmer-vocab", "--kind", "kmer", "--k", "3", "--out", tmp_path / "k3")
    assert not killed_dir.exists() and not killed_file.exists(), proc.stderr
    assert running.is_dir() and elsewhere.is_dir()
    assert "removed 2 partial output(s) of killed runs" in proc.stderr
    assert (tmp_path / "k3" / "dnalm_vocab.json").is_file()


def test_kept_state_is_written_beside_no_partial_of_a_killed_run(tmp_path):
    """atomic_file names its partial by host and PID like atomic_directory, so the next write of kept state
    (fingerprint records, resume batches) removes what a killed writer left and nothing of a live one."""
    from dnalm.core.outputs import atomic_file

    state = tmp_path / "fingerprint.json"
    killed, running = _partial(state, _dead_pid()), _partial(tmp_path / "done.json", os.getpid())
    killed.write_text('{"half')
    running.write_text('{"busy')
    with atomic_file(state) as tmp:
        assert tmp == _partial(state, os.getpid())
        tmp.write_text("{}")
    assert state.read_text() == "{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([state.name, running.name])


@pytest.mark.parametrize("kind", ["empty file", "file"])
def test_a_file_given_as_out_is_named_a_file(kind, tmp_path):
    out = tmp_path / "out"
    out.write_text("" if kind == "empty file" else "keep me")
    error = dnalm_fails("kmer-vocab", "--kind", "kmer", "--k", "3", "--out", out)
    assert error.endswith(f"--out {out}: is a file, not a directory; choose a new directory"), error
    assert out.read_text() == ("" if kind == "empty file" else "keep me")


def test_the_second_of_two_runs_into_one_out_fails_and_leaves_nothing(tmp_path, monkeypatch):
    """Two runs pass the "does --out exist" check; the first to finish publishes, the other must neither
    replace that output nor leave its partial behind."""
    import dnalm.core.outputs

    out = tmp_path / "out"
    with pytest.raises(InputError, match=f"--out {out}: another run wrote it first"):
        with atomic_directory(out) as slow:
            (slow / "result.txt").write_text("slow")
            with monkeypatch.context() as other_process:
                other_process.setattr(dnalm.core.outputs.os, "getpid", os.getppid)
                with atomic_directory(out) as fast:
                    (fast / "result.txt").write_text("fast")
            assert (out / "result.txt").read_text() == "fast" and slow.is_dir()
    assert (out / "result.txt").read_text() == "fast"
    assert os.listdir(tmp_path) == ["out"]


@pytest.fixture
def unwritable(tmp_path):
    """A directory this process cannot create anything in (root ignores modes: the immutable flag then)."""
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    locked = ["chattr", "+i", str(folder)]
    if os.geteuid() == 0 and (not shutil.which("chattr") or subprocess.run(locked, capture_output=True).returncode):
        pytest.skip("root, and the file system has no immutable flag")
    yield folder
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    folder.chmod(0o755)


def test_errors_name_out_not_the_hidden_partial(unwritable):
    out = unwritable / "vocab"
    error = dnalm_fails("kmer-vocab", "--kind", "kmer", "--k", "3", "--out", out)
    assert error.startswith(f"dnalm kmer-vocab: error: --out {out}: ") and ".partial" not in error
    assert os.listdir(unwritable) == []

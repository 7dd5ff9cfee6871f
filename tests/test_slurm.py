"""The launch path under a real SLURM (one node, started by the test): sbatch -> dnalm launch -> srun ->
torchrun -> 2 ranks of dnalm pretrain, which must train together."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys

import numpy as np
import pytest
from helpers import DNALM
from slurm import Slurm

pytestmark = [pytest.mark.slow, pytest.mark.slurm]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    slurm = Slurm.start(tmp_path_factory.mktemp("slurm"))
    if slurm is None:
        pytest.skip(Slurm.why)
    yield slurm
    slurm.stop()


def test_pretraining_launched_in_a_slurm_allocation(cluster, tmp_path, tokenized, windows):
    n_train = len(np.load(windows["bpe_100"] / "train.npy"))
    steps = -(-n_train // (2 * 8))
    train = ["dnalm", "pretrain", "--tokenized", str(tokenized["bpe_100"]), "--windows", str(windows["bpe_100"]),
             "--checkpoint-dir", str(tmp_path / "ck"), "--max-steps", str(steps), "--save-steps", str(steps),
             "--batch-size", "8", "--warmup-steps", "2", "--log-window-ids", "--out", str(tmp_path / "m")]
    job = [sys.executable, str(DNALM), "launch", "--procs-per-node", "2", "--", *train]
    proc = subprocess.run(["sbatch", "--wait", "--nodes=1", "--ntasks=1", "--cpus-per-task=2",
                           f"--chdir={tmp_path}", f"--output={tmp_path / 'job.log'}", "--wrap", shlex.join(job)],
                          env=cluster.env, capture_output=True, text=True, timeout=600)
    log = (tmp_path / "job.log").read_text() if (tmp_path / "job.log").exists() else ""
    assert proc.returncode == 0, proc.stderr + log[-3000:]
    # sbatch's --cpus-per-task (Nextflow's `cpus`) reaches srun, which has not inherited it since SLURM 22.05
    assert log.startswith("srun --nodes=1 --ntasks=1 --ntasks-per-node=1 --cpus-per-task=2 --kill-on-bad-exit=1 "
                          "torchrun")
    ranks = [json.loads((tmp_path / "ck" / "ranks" / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world_size"] for r in ranks] == [2, 2]
    a, b = set(ranks[0]["windows"]), set(ranks[1]["windows"])
    # one epoch; accelerate completes the last global batch of 2 x 8 with windows from the start
    assert a | b == set(range(n_train)) and len(a & b) <= (-n_train) % 16
    assert ranks[0]["weights_abs_sum"] == ranks[1]["weights_abs_sum"]
    assert ranks[0]["losses"][0] < 1.5 * np.log(109)  # not multiplied by the world size
    assert json.loads((tmp_path / "m" / "metrics.json").read_text())["steps"] == steps

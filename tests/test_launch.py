"""dnalm launch: commands for 1 process, local ranks, SLURM allocations; standard library only."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import DNALM, ROOT
from dnalm.errors import InputError
from dnalm.launch import Allocation, expand_nodelist, render

TRAIN = ["dnalm", "pretrain", "--out", "m"]


@pytest.mark.parametrize("text, hosts", [
    ("node1", ["node1"]),
    ("gpu[01-03,07]", ["gpu01", "gpu02", "gpu03", "gpu07"]),
    ("gpu[08-10],cpu5", ["gpu08", "gpu09", "gpu10", "cpu5"]),
    ("rack[1-2]-n[01-02]", ["rack1-n01", "rack1-n02", "rack2-n01", "rack2-n02"]),
])
def test_nodelists_expand(text, hosts):
    assert expand_nodelist(text) == hosts


def test_one_node_one_process_runs_the_command_itself():
    assert render(Allocation.from_env({}), 1, TRAIN) == TRAIN


def test_one_slurm_node_four_gpus():
    env = {"SLURM_JOB_ID": "77", "SLURM_JOB_NODELIST": "gpu05", "SLURM_NNODES": "1"}
    argv = render(Allocation.from_env(env), 4, TRAIN)
    assert argv[:5] == ["srun", "--nodes=1", "--ntasks=1", "--ntasks-per-node=1", "--kill-on-bad-exit=1"]
    assert argv[5:] == ["torchrun", "--standalone", "--nproc-per-node=4", "--no-python", *TRAIN]


def test_two_slurm_nodes_four_gpus_each_in_apptainer():
    env = {"SLURM_JOB_ID": "123456", "SLURM_JOB_NODELIST": "gpu[01-02]", "SLURM_NNODES": "2"}
    argv = render(Allocation.from_env(env), 4, TRAIN, engine="apptainer", image="dnalm.sif", binds=["/ckpt"])
    assert argv[:2] == ["srun", "--nodes=2"] and "--ntasks-per-node=1" in argv
    container = argv.index("apptainer")
    assert argv[container:container + 4] == ["apptainer", "exec", "--nv", "--bind=/ckpt"]
    torchrun = argv[argv.index("torchrun"):]
    assert torchrun[:7] == ["torchrun", "--nnodes=2", "--nproc-per-node=4", "--rdzv-id=123456",
                            "--rdzv-backend=c10d", f"--rdzv-endpoint=gpu01:{29500 + 123456 % 2000}", "--no-python"]
    assert torchrun[7:] == TRAIN and argv.index("dnalm.sif") < argv.index("torchrun")


def test_inconsistent_allocation_and_missing_image_are_errors():
    with pytest.raises(InputError, match="SLURM_NNODES=3"):
        Allocation.from_env({"SLURM_JOB_ID": "1", "SLURM_JOB_NODELIST": "n[1-2]", "SLURM_NNODES": "3"})
    with pytest.raises(InputError, match="needs --image"):
        render(Allocation.from_env({}), 2, TRAIN, engine="docker")


def test_launch_needs_only_the_standard_library(tmp_path):
    """The host Python of a cluster node may have nothing installed: run the CLI without site-packages."""
    env = {**os.environ, "SLURM_JOB_ID": "9", "SLURM_JOB_NODELIST": "a[1-3]", "SLURM_NNODES": "3"}
    proc = subprocess.run([sys.executable, "-S", str(DNALM), "launch", "--procs-per-node", "2", "--dry-run",
                           "--", *TRAIN], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("srun --nodes=3") and "--rdzv-endpoint=a1:29509" in proc.stdout
    probe = subprocess.run([sys.executable, "-S", "-c", "import numpy"], capture_output=True)
    assert probe.returncode != 0  # the check above really ran without the installed packages
    assert (ROOT / "src" / "dnalm" / "launch.py").read_text().count("import numpy") == 0

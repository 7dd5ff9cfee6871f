"""Start distributed training on 1 process, N local processes, or a SLURM allocation of N nodes x G GPUs.

The multi-node Nextflow task runs on the allocation's first node without Nextflow's container, because
`srun` usually fails inside a container. This module therefore needs nothing but the standard library: it
runs on the host's Python, and `srun` starts one container per node (Apptainer/Singularity `exec --nv`, or
Docker), in which torchrun starts one process per GPU, all meeting at a rendezvous on the first node.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from dataclasses import dataclass

from dnalm.errors import InputError

ENGINES = ("none", "apptainer", "singularity", "docker")


def expand_nodelist(text: str) -> list[str]:
    """SLURM's compressed host list, e.g. 'gpu[01-03,07],cpu5' -> gpu01 gpu02 gpu03 gpu07 cpu5."""
    hosts, part, depth = [], "", 0
    for char in text + ",":
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            hosts += _expand(part, text) if part else []
            part = ""
        else:
            part += char
    return hosts


def _expand(part: str, text: str) -> list[str]:
    match = re.fullmatch(r"([^\[]*)\[([^\]]*)\](.*)", part)
    if not match:
        return [part]
    prefix, ranges, rest = match.groups()
    names = []
    for item in ranges.split(","):
        lo, _, hi = item.partition("-")
        if not lo.isdigit() or (hi and not hi.isdigit()):
            raise InputError(f"SLURM_JOB_NODELIST {text!r}: cannot read the range {item!r}")
        names += [f"{prefix}{str(n).zfill(len(lo))}" for n in range(int(lo), int(hi or lo) + 1)]
    return [name + tail for name in names for tail in _expand(rest, text)]


@dataclass
class Allocation:
    """Where to run: the hosts, one of which is the rendezvous, and a job id for the rendezvous."""

    hosts: list[str]
    job_id: str
    slurm: bool

    @classmethod
    def from_env(cls, env: dict[str, str]) -> "Allocation":
        if "SLURM_JOB_ID" not in env or "SLURM_JOB_NODELIST" not in env:
            return cls(hosts=["localhost"], job_id="local", slurm=False)
        hosts = expand_nodelist(env["SLURM_JOB_NODELIST"])
        nnodes = int(env.get("SLURM_NNODES", len(hosts)))
        if nnodes != len(hosts):
            raise InputError(f"SLURM_NNODES={nnodes} but SLURM_JOB_NODELIST names {len(hosts)} hosts")
        return cls(hosts=hosts, job_id=env["SLURM_JOB_ID"], slurm=True)

    @property
    def port(self) -> int:
        """A rendezvous port every node derives alike from the job id."""
        return 29500 + (int(self.job_id) % 2000 if self.job_id.isdigit() else 0)


def render(allocation: Allocation, procs_per_node: int, command: list[str], engine: str = "none",
           image: str | None = None, binds: list[str] | None = None) -> list[str]:
    """The argv that starts `command` on every rank of the allocation."""
    if not command:
        raise InputError("dnalm launch: give the training command after '--'")
    if engine != "none" and not image:
        raise InputError(f"--engine {engine}: needs --image")
    nodes = len(allocation.hosts)
    if nodes == 1 and procs_per_node == 1:
        inner = list(command)
    elif nodes == 1:
        inner = ["torchrun", "--standalone", f"--nproc-per-node={procs_per_node}", "--no-python", *command]
    else:
        inner = ["torchrun", f"--nnodes={nodes}", f"--nproc-per-node={procs_per_node}",
                 f"--rdzv-id={allocation.job_id}", "--rdzv-backend=c10d",
                 f"--rdzv-endpoint={allocation.hosts[0]}:{allocation.port}", "--no-python", *command]
    inner = _in_container(inner, engine, image, binds or [])
    if allocation.slurm:
        return ["srun", f"--nodes={nodes}", f"--ntasks={nodes}", "--ntasks-per-node=1", "--kill-on-bad-exit=1",
                *inner]
    return inner


def _in_container(argv: list[str], engine: str, image: str | None, binds: list[str]) -> list[str]:
    if engine == "none":
        return argv
    if engine in ("apptainer", "singularity"):
        bind = [f"--bind={','.join(binds)}"] if binds else []
        return [engine, "exec", "--nv", *bind, "--pwd", os.getcwd(), image, *argv]
    volumes = [x for b in binds for x in ("-v", f"{b}:{b}")]
    return ["docker", "run", "--rm", "--gpus", "all", "--network", "host", "--ipc", "host", *volumes,
            "-v", f"{os.getcwd()}:{os.getcwd()}", "-w", os.getcwd(), image, *argv]


def launch(procs_per_node: int, command: list[str], engine: str, image: str | None, binds: list[str],
           dry_run: bool, env: dict[str, str] | None = None) -> int:
    argv = render(Allocation.from_env(dict(os.environ if env is None else env)), procs_per_node, command, engine,
                  image, binds)
    print(shlex.join(argv), flush=True)
    if dry_run:
        return 0
    return subprocess.call(argv)

"""Start distributed training on 1 process, N local processes, or a SLURM allocation of N nodes x G GPUs.

The multi-node Nextflow task runs on the allocation's first node without Nextflow's container, because
`srun` usually fails inside a container. This module therefore needs nothing but the standard library of
Python 3.6 or later (RHEL 8's host Python; a static test and, where a python3.6 exists, a real run check it):
it runs on the host's Python, and `srun` starts one container per node (Apptainer/Singularity `exec --nv`, or
Docker), in which torchrun starts one process per GPU, all meeting at a rendezvous on the first node.

- srun gets `--cpus-per-task` (from --cpus-per-task, else SLURM_CPUS_PER_TASK, which `#SBATCH -c N` sets:
  since SLURM 22.05 srun no longer inherits it, and each node's ranks would share one CPU).
- Apptainer/Singularity run with `--cleanenv` (no host PYTHONPATH, VIRTUAL_ENV, ... in the container); the
  variables the ranks need (FORWARD, FORWARD_PREFIXES) are passed on as APPTAINERENV_/SINGULARITYENV_ by a
  small `sh` on each node, so each node passes its own values (CUDA_VISIBLE_DEVICES differs per node).
- An image that is not a local file (`docker://...`, `oras://...`, a bare registry name) is converted once,
  on the first node, to `<image cache>/<name>.sif` (skipped when that exists), and every node runs the .sif.
"""

import argparse
import os
import re
import shlex
import subprocess
import sys

from dnalm.core.errors import InputError

ENGINES = ("none", "apptainer", "singularity", "docker")
# Passed into the containers when set on the node: caches, threads, NCCL/Gloo/torch settings, GPUs.
FORWARD = ("CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "TOKENIZERS_PARALLELISM",
           "PYTHONUNBUFFERED", "PYTHONHASHSEED", "PYTHONNOUSERSITE")
FORWARD_PREFIXES = ("DNALM_", "NCCL_", "GLOO_", "TORCH_", "PYTORCH_", "HF_", "CUDA_")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def expand_nodelist(text):
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


def _expand(part, text):
    match = re.match(r"([^\[]*)\[([^\]]*)\](.*)\Z", part)
    if not match:
        return [part]
    prefix, ranges, rest = match.groups()
    names = []
    for item in ranges.split(","):
        lo, _, hi = item.partition("-")
        if not lo.isdigit() or (hi and not hi.isdigit()):
            raise InputError("SLURM_JOB_NODELIST {!r}: cannot read the range {!r}".format(text, item))
        names += [prefix + str(n).zfill(len(lo)) for n in range(int(lo), int(hi or lo) + 1)]
    return [name + tail for name in names for tail in _expand(rest, text)]


class Allocation(object):
    """Where to run: the hosts, the first of which is the rendezvous, a job id, and SLURM's CPUs per task."""

    def __init__(self, hosts, job_id, slurm, cpus_per_task=None):
        self.hosts, self.job_id, self.slurm, self.cpus_per_task = list(hosts), job_id, slurm, cpus_per_task

    def __repr__(self):
        return "Allocation(hosts={!r}, job_id={!r}, slurm={!r}, cpus_per_task={!r})".format(
            self.hosts, self.job_id, self.slurm, self.cpus_per_task)

    @classmethod
    def from_env(cls, env):
        if "SLURM_JOB_ID" not in env or "SLURM_JOB_NODELIST" not in env:
            return cls(hosts=["localhost"], job_id="local", slurm=False)
        hosts = expand_nodelist(env["SLURM_JOB_NODELIST"])
        nnodes = int(env.get("SLURM_NNODES", len(hosts)))
        if nnodes != len(hosts):
            raise InputError("SLURM_NNODES={} but SLURM_JOB_NODELIST names {} hosts".format(nnodes, len(hosts)))
        cpus = env.get("SLURM_CPUS_PER_TASK") or None
        if cpus is not None and not (cpus.isdigit() and int(cpus) > 0):
            raise InputError("SLURM_CPUS_PER_TASK={!r} is not a positive integer".format(cpus))
        return cls(hosts=hosts, job_id=env["SLURM_JOB_ID"], slurm=True, cpus_per_task=cpus and int(cpus))

    @property
    def port(self):
        """A rendezvous port every node derives alike from the job id."""
        return 29500 + (int(self.job_id) % 2000 if self.job_id.isdigit() else 0)


def forwarded_names(env):
    """The variables to pass into the containers: FORWARD always (each node may set them), and those of
    `env` (the first node's) that start with a FORWARD_PREFIXES prefix."""
    names = list(FORWARD)
    names += sorted(k for k in env if k.startswith(FORWARD_PREFIXES) and k not in names and _NAME.match(k))
    return names


def render(allocation, procs_per_node, command, engine="none", image=None, binds=None, cpus_per_task=None,
           forward=None):
    """The argv that starts `command` on every rank of the allocation.

    cpus_per_task: srun's --cpus-per-task (default: the allocation's SLURM_CPUS_PER_TASK); forward: names of
    variables passed into the containers (default: FORWARD).
    """
    if not command:
        raise InputError("dnalm launch: give the training command after '--'")
    if engine not in ENGINES:
        raise InputError("--engine {}: not one of {}".format(engine, ", ".join(ENGINES)))
    if engine != "none" and not image:
        raise InputError("--engine {}: needs --image".format(engine))
    nodes = len(allocation.hosts)
    if nodes == 1 and procs_per_node == 1:
        inner = list(command)
    elif nodes == 1:
        inner = ["torchrun", "--standalone", "--nproc-per-node={}".format(procs_per_node), "--no-python"]
        inner += command
    else:
        inner = ["torchrun", "--nnodes={}".format(nodes), "--nproc-per-node={}".format(procs_per_node),
                 "--rdzv-id={}".format(allocation.job_id), "--rdzv-backend=c10d",
                 "--rdzv-endpoint={}:{}".format(allocation.hosts[0], allocation.port), "--no-python"]
        inner += command
    inner = _in_container(inner, engine, image, binds or [], list(FORWARD if forward is None else forward))
    if allocation.slurm:
        cpus = cpus_per_task or allocation.cpus_per_task
        srun = ["srun", "--nodes={}".format(nodes), "--ntasks={}".format(nodes), "--ntasks-per-node=1"]
        srun += ["--cpus-per-task={}".format(cpus)] if cpus else []
        return srun + ["--kill-on-bad-exit=1"] + inner
    return inner


def _in_container(argv, engine, image, binds, forward):
    if engine == "none":
        return argv
    names = [n for n in forward if _NAME.match(n)]
    if engine in ("apptainer", "singularity"):
        bind = ["--bind={}".format(",".join(binds))] if binds else []
        run = [engine, "exec", "--nv", "--cleanenv"] + bind + ["--pwd", os.getcwd(), image] + argv
        # evaluated on each node: APPTAINERENV_X survives --cleanenv, and is set only where X is set
        prefix = engine.upper() + "ENV_"
        script = ('for v in {}; do eval "[ -z \\"\\${{$v+x}}\\" ] || export {}$v=\\"\\$$v\\""; done; '
                  'exec "$@"').format(" ".join(names), prefix)
        return ["sh", "-c", script, "sh"] + run if names else run
    volumes = [x for b in binds for x in ("-v", "{0}:{0}".format(b))]
    envs = [x for n in names for x in ("-e", n)]  # docker takes each value from the node's environment
    return (["docker", "run", "--rm", "--gpus", "all", "--network", "host", "--ipc", "host"] + envs + volumes
            + ["-v", "{0}:{0}".format(os.getcwd()), "-w", os.getcwd(), image] + argv)


def image_cache_dir(engine, env):
    """Where converted images go by default: Nextflow's image cache of the engine, the engine's own cache,
    else the task's directory (every node must see it: Nextflow's work directory is shared)."""
    other = "singularity" if engine == "apptainer" else "apptainer"
    for name in ("NXF_{}_CACHEDIR".format(engine.upper()), "NXF_{}_CACHEDIR".format(other.upper()),
                 "{}_CACHEDIR".format(engine.upper())):
        if env.get(name):
            return env[name]
    return os.getcwd()


def needs_conversion(engine, image):
    """The URI to convert to a .sif, or None where `image` is used as it is (a local file or sandbox)."""
    if engine not in ("apptainer", "singularity") or not image or os.path.exists(image):
        return None
    if "://" in image:
        return None if image.startswith("file://") else image
    if image.endswith((".sif", ".simg", ".img")) or image.startswith(("/", "./", "../")):
        return None  # a local path (apptainer says so if it is missing)
    return "docker://" + image


def sif_name(uri):
    """'docker://ghcr.io/dnalm/dnalm:0.1.0' -> 'ghcr.io-dnalm-dnalm-0.1.0.sif' (as Nextflow names them)."""
    scheme, _, rest = uri.partition("://")
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", rest).strip("-.")
    return (name if scheme == "docker" else scheme + "-" + name) + ".sif"


def convert_image(engine, uri, cache, dry_run, out=None):
    """Pull `uri` to `<cache>/<name>.sif` unless it is there; returns (path, exit status)."""
    out = out or sys.stdout
    target = os.path.join(os.path.abspath(cache), sif_name(uri))
    if os.path.exists(target):
        return target, 0
    partial = os.path.join(os.path.dirname(target), ".{}.{}.partial".format(os.path.basename(target), os.getpid()))
    argv = [engine, "pull", partial if not dry_run else target, uri]
    print(" ".join(shlex.quote(a) for a in argv), file=out, flush=True)
    if dry_run:
        return target, 0
    os.makedirs(os.path.dirname(target), exist_ok=True)
    try:
        status = subprocess.call(argv)
        if status == 0:
            os.replace(partial, target)  # another job's finished pull of the same image is as good
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return target, status


def launch(procs_per_node, command, engine, image, binds, dry_run, env=None, cpus_per_task=None,
           image_cache=None, this_node=False, here=None):
    """Start `command` on every rank (see render) and return its exit status.

    here: dnalm's CLI, where this Python can run it. One local process in no container is then the dnalm
    command itself, run in this Python rather than in a second interpreter that imports the same package
    (torch and transformers: seconds) again. This module cannot import it: it runs on Python 3.6 hosts.
    """
    env = dict(os.environ if env is None else env)
    # a task that is one SLURM job on one node, already inside its container, starts its ranks itself:
    # srun is not in the container, and the job's allocation is this node
    allocation = Allocation(["localhost"], "local", False) if this_node else Allocation.from_env(env)
    render(allocation, procs_per_node, command, engine, image, binds)  # bad arguments fail before a pull
    uri = needs_conversion(engine, image)
    if uri:
        image, status = convert_image(engine, uri, image_cache or image_cache_dir(engine, env), dry_run)
        if status != 0:
            print("dnalm launch: error: {} pull {} failed (exit status {})".format(engine, uri, status),
                  file=sys.stderr)
            return status
    argv = render(allocation, procs_per_node, command, engine, image, binds, cpus_per_task, forwarded_names(env))
    print(" ".join(shlex.quote(a) for a in argv), flush=True)
    if dry_run:
        return 0
    if here is not None and argv[:1] == ["dnalm"] and argv == list(command):
        return here(argv[1:])
    return subprocess.call(argv)


def _positive_int(text):
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError("must be a positive integer, got {!r}".format(text))
    return int(text)


def add_arguments(p):
    """The flags of `dnalm launch` (the CLI's subcommand and `python3 -m dnalm.pretraining.launch` share them)."""
    p.add_argument("--procs-per-node", type=_positive_int, default=1,
                   help="processes per node: GPUs per node (default: %(default)s)")
    p.add_argument("--cpus-per-task", type=_positive_int,
                   help="srun --cpus-per-task: CPUs of each node's task (default: $SLURM_CPUS_PER_TASK, which "
                        "the task's cpus directive sets as #SBATCH -c)")
    p.add_argument("--engine", choices=list(ENGINES), default="none",
                   help="container engine that srun starts on every node (default: none)")
    p.add_argument("--image", help="container image for --engine; for apptainer/singularity, one that is not a "
                                   "local file (docker://..., a registry name) is converted once to a .sif")
    p.add_argument("--image-cache", metavar="DIR",
                   help="where converted .sif images are kept, on a filesystem every node sees (default: "
                        "$NXF_APPTAINER_CACHEDIR or $NXF_SINGULARITY_CACHEDIR, else $APPTAINER_CACHEDIR or "
                        "$SINGULARITY_CACHEDIR for that engine, else the current directory)")
    p.add_argument("--bind", action="append", default=[], metavar="PATH",
                   help="path to mount in the container (repeat), e.g. the checkpoint root")
    p.add_argument("--this-node", action="store_true",
                   help="start the ranks on this node only, even inside a SLURM job (no srun): how a single-node "
                        "GPU task, which runs inside its container, starts one rank per GPU")
    p.add_argument("--dry-run", action="store_true", help="print the commands, do not run them")
    p.add_argument("command_line", nargs=argparse.REMAINDER, metavar="-- COMMAND",
                   help="the training command, e.g. -- dnalm pretrain ...")


def from_args(a, here=None):
    """Run `dnalm launch` from parsed arguments (add_arguments' flags); `here` as for launch."""
    command = a.command_line[1:] if a.command_line[:1] == ["--"] else a.command_line
    return launch(a.procs_per_node, command, a.engine, a.image, a.bind, a.dry_run,
                  cpus_per_task=a.cpus_per_task, image_cache=a.image_cache, this_node=a.this_node, here=here)


class _Parser(argparse.ArgumentParser):
    """Errors on one line, as every dnalm error is."""

    def error(self, message):
        self.exit(2, "{}: error: {}\n".format(self.prog, message))


def main(argv=None, here=None):
    """`dnalm launch` without the rest of the CLI: what a host Python as old as 3.6 can run (`here` as for
    launch)."""
    parser = _Parser(prog="dnalm launch", description="start a training command on 1 process, N local "
                     "processes or every node of a SLURM allocation (srun + torchrun; standard library only)")
    parser.add_argument("-v", "--verbose", action="store_true", help="(accepted, as by every dnalm command)")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return from_args(args, here)
    except InputError as exc:
        print("dnalm launch: error: {}".format(exc), file=sys.stderr)
        return 2
    except OSError as exc:
        print("dnalm launch: error: {}: {}".format(exc.filename or "", exc.strerror or exc), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

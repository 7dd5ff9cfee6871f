"""dnalm launch: commands for 1 process, local ranks, SLURM allocations; standard library only."""

from __future__ import annotations

import ast
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import DNALM, ROOT

from dnalm import __version__
from dnalm.core.errors import InputError
from dnalm.pretraining.launch import (
    Allocation,
    expand_nodelist,
    forwarded_names,
    launch,
    render,
)

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
    assert argv[container:container + 5] == ["apptainer", "exec", "--nv", "--cleanenv", "--bind=/ckpt"]
    assert argv[argv.index("--kill-on-bad-exit=1") + 1:][:2] == ["sh", "-c"]  # passes variables on each node
    torchrun = argv[argv.index("torchrun"):]
    assert torchrun[:7] == ["torchrun", "--nnodes=2", "--nproc-per-node=4", "--rdzv-id=123456",
                            "--rdzv-backend=c10d", f"--rdzv-endpoint=gpu01:{29500 + 123456 % 2000}", "--no-python"]
    assert torchrun[7:] == TRAIN and argv.index("dnalm.sif") < argv.index("torchrun")


def test_a_single_node_gpu_task_inside_a_slurm_job_starts_its_ranks_without_srun(capsys):
    """DNALM_PRETRAIN (process_gpu) is one SLURM job running inside its container, where srun is absent."""
    env = {"SLURM_JOB_ID": "77", "SLURM_JOB_NODELIST": "gpu05", "SLURM_NNODES": "1", "SLURM_CPUS_PER_TASK": "8"}
    assert launch(4, TRAIN, "none", None, [], dry_run=True, env=env, this_node=True) == 0
    assert shlex.split(capsys.readouterr().out) == ["torchrun", "--standalone", "--nproc-per-node=4",
                                                    "--no-python", *TRAIN]
    assert launch(1, TRAIN, "none", None, [], dry_run=True, env=env, this_node=True) == 0
    assert shlex.split(capsys.readouterr().out) == TRAIN


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
    assert (ROOT / "src" / "dnalm" / "pretraining" / "launch.py").read_text().count("import numpy") == 0


def test_the_version_needs_only_a_python_3_6_standard_library():
    """Every task reports `dnalm --version`, the multi-node task on the host's Python (RHEL 8: 3.6), and a -stub
    run where the package's dependencies are absent: it reads dnalm/__init__.py alone. Through the CLI it failed
    there (`from __future__ import annotations` is 3.7+), and a pipe into sed hid the failure (issue 29, 6)."""
    probe = ("import runpy, sys; sys.path.insert(0, sys.argv[1]); sys.argv = ['dnalm', '--version']\n"
             "try:\n    runpy.run_module('dnalm', run_name='__main__')\nexcept SystemExit as exit:\n"
             "    print(exit.code, sorted(m for m in sys.modules if m.startswith('dnalm')))")
    proc = subprocess.run([sys.executable, "-S", "-c", probe, str(ROOT / "src")], capture_output=True, text=True)
    assert proc.stdout.splitlines() == [f"dnalm {__version__}", "0 ['dnalm']"], proc.stdout + proc.stderr
    for name in ("__init__.py", "__main__.py"):
        text = (ROOT / "src" / "dnalm" / name).read_text()
        ast.parse(text, feature_version=(3, 6))
        assert "from __future__ import annotations" not in text
    version = subprocess.run([sys.executable, "-S", str(DNALM), "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout == f"dnalm {__version__}\n"

SLURM2 = {"SLURM_JOB_ID": "123456", "SLURM_JOB_NODELIST": "gpu[01-02]", "SLURM_NNODES": "2"}


def _srun_options(argv):
    return argv[:argv.index("--kill-on-bad-exit=1") + 1]


def test_srun_gets_the_cpus_per_task_of_the_allocation_or_the_flag():
    """Nextflow's `cpus` becomes `#SBATCH -c N` (SLURM_CPUS_PER_TASK); srun has not inherited it since 22.05."""
    env = {**SLURM2, "SLURM_CPUS_PER_TASK": "16"}
    assert _srun_options(render(Allocation.from_env(env), 4, TRAIN)) == [
        "srun", "--nodes=2", "--ntasks=2", "--ntasks-per-node=1", "--cpus-per-task=16", "--kill-on-bad-exit=1"]
    assert "--cpus-per-task=6" in render(Allocation.from_env(env), 4, TRAIN, cpus_per_task=6)
    assert not any(a.startswith("--cpus-per-task") for a in render(Allocation.from_env(SLURM2), 4, TRAIN))
    assert render(Allocation.from_env({"SLURM_CPUS_PER_TASK": "4"}), 1, TRAIN, cpus_per_task=3) == TRAIN
    with pytest.raises(InputError, match="SLURM_CPUS_PER_TASK"):
        Allocation.from_env({**SLURM2, "SLURM_CPUS_PER_TASK": "many"})


@pytest.mark.parametrize("engine", ["apptainer", "singularity"])
def test_clean_container_environment_gets_each_nodes_own_variables(engine, tmp_path):
    """--cleanenv keeps host PYTHONPATH & co. out; the wrapper passes the listed variables that are set *on
    the node* (CUDA_VISIBLE_DEVICES differs per node), commas and spaces intact, and no unset one as empty."""
    env = {**SLURM2, "DNALM_CACHE_DIR": "/ck/caches", "NCCL_SOCKET_IFNAME": "ib0,ib1", "PYTHONPATH": "/host"}
    names = forwarded_names(env)
    assert {"CUDA_VISIBLE_DEVICES", "DNALM_CACHE_DIR", "NCCL_SOCKET_IFNAME"} <= set(names)
    assert "PYTHONPATH" not in names
    argv = render(Allocation.from_env(env), 2, TRAIN, engine=engine, image="x.sif", forward=names)
    wrapper = argv[argv.index("sh"):argv.index(engine)]
    assert argv[argv.index(engine):][:4] == [engine, "exec", "--nv", "--cleanenv"]
    node_env = {"PATH": os.environ["PATH"], "CUDA_VISIBLE_DEVICES": "2,3", "DNALM_CACHE_DIR": "/ck/caches",
                "NCCL_SOCKET_IFNAME": "ib0, ib1"}
    shown = subprocess.run(wrapper + ["env"], env=node_env, capture_output=True, text=True, check=True).stdout
    prefix = engine.upper() + "ENV_"
    passed = {k[len(prefix):]: v for k, v in (line.split("=", 1) for line in shown.splitlines())
              if k.startswith(prefix)}
    assert passed == {"CUDA_VISIBLE_DEVICES": "2,3", "DNALM_CACHE_DIR": "/ck/caches", "NCCL_SOCKET_IFNAME": "ib0, ib1"}


def test_docker_ranks_get_the_variables_from_their_node():
    argv = render(Allocation.from_env(SLURM2), 2, TRAIN, engine="docker", image="dnalm:1",
                  forward=forwarded_names({"DNALM_CACHE_DIR": "/ck"}))
    pairs = {argv[i + 1] for i, a in enumerate(argv) if a == "-e"}
    assert {"CUDA_VISIBLE_DEVICES", "DNALM_CACHE_DIR"} <= pairs and not any("=" in p for p in pairs)


def _fakes(tmp_path):
    """srun and apptainer stand-ins that record their calls; `apptainer pull OUT URI` writes OUT."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    for tool, body in (("srun", ""), ("apptainer", 'if [ "$1" = pull ]; then echo sif > "$2"; fi\n')):
        (bin_dir / tool).write_text(f'#!/bin/sh\necho "{tool} $*" >> {log}\n{body}exit 0\n')
        (bin_dir / tool).chmod(0o755)
    return bin_dir, log


def test_docker_uri_is_converted_once_on_the_first_node_and_every_node_runs_the_sif(tmp_path, capsys):
    bin_dir, log = _fakes(tmp_path)
    env = {**SLURM2, "PATH": f"{bin_dir}:{os.environ['PATH']}", "NXF_APPTAINER_CACHEDIR": str(tmp_path / "nxf")}
    uri = "docker://ghcr.io/dnalm/dnalm:0.1.0"
    sif = tmp_path / "nxf" / "ghcr.io-dnalm-dnalm-0.1.0.sif"
    # dry run: both commands shown, nothing pulled
    assert launch(2, TRAIN, "apptainer", uri, [], dry_run=True, env=env) == 0
    pull, srun = capsys.readouterr().out.splitlines()
    assert pull == f"apptainer pull {sif} {uri}" and f" {sif} torchrun " in srun and not sif.exists()
    old_path = os.environ["PATH"]
    os.environ["PATH"] = env["PATH"]  # subprocess.call finds the stand-ins
    try:
        assert launch(2, TRAIN, "apptainer", uri, [], dry_run=False, env=env) == 0
        assert launch(2, TRAIN, "apptainer", uri, [], dry_run=False, env=env, image_cache=str(tmp_path / "nxf")) == 0
    finally:
        os.environ["PATH"] = old_path
    calls = log.read_text().splitlines()
    assert [c.split()[:2] for c in calls] == [["apptainer", "pull"], ["srun", "--nodes=2"], ["srun", "--nodes=2"]]
    assert calls[0].endswith(uri) and sif.read_text() == "sif\n" and list(sif.parent.iterdir()) == [sif]
    assert all(f" {sif} torchrun " in c for c in calls[1:]) and uri not in calls[1] + calls[2]


def test_image_cache_defaults_and_images_used_as_they_are(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    local = tmp_path / "mine.sif"
    local.write_text("")
    for image, cache_env, expected in (
            ("ghcr.io/dnalm/dnalm:0.1.0", {}, tmp_path / "ghcr.io-dnalm-dnalm-0.1.0.sif"),  # cwd: the task dir
            ("oras://reg/x:1", {"SINGULARITY_CACHEDIR": "/sc"}, Path("/sc/oras-reg-x-1.sif")),
            (str(local), {"NXF_SINGULARITY_CACHEDIR": "/nxf"}, local)):
        assert launch(1, TRAIN, "singularity", image, [], dry_run=True, env=cache_env) == 0
        out = capsys.readouterr().out.splitlines()
        assert f" {expected} dnalm pretrain" in out[-1]
        assert (len(out) == 2) == (image != str(local))  # a pull line unless the image is a local file


def test_launch_flags_from_the_command_line(tmp_path):
    """`python -m dnalm launch` goes to the launcher without loading the rest of the CLI."""
    env = {**os.environ, **SLURM2, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.run([sys.executable, "-S", "-m", "dnalm", "launch", "--cpus-per-task", "7", "--engine",
                           "apptainer", "--image", "docker://a/b:1", "--image-cache", str(tmp_path), "--dry-run",
                           "--", *TRAIN], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    pull, srun = proc.stdout.splitlines()
    assert pull == f"apptainer pull {tmp_path / 'a-b-1.sif'} docker://a/b:1"
    assert srun.startswith("srun --nodes=2 --ntasks=2 --ntasks-per-node=1 --cpus-per-task=7 --kill-on-bad-exit=1")
    bad = subprocess.run([sys.executable, "-S", "-m", "dnalm", "launch", "--engine", "docker", "--", *TRAIN],
                         capture_output=True, text=True, env=env, cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.strip() == "dnalm launch: error: --engine docker: needs --image"


# --- the launcher runs on RHEL 8's Python 3.6 -------------------------------------------------------------

LAUNCHER_FILES = ["pretraining/launch.py", "core/errors.py", "__init__.py", "__main__.py", "core/__init__.py",
                  "pretraining/__init__.py"]
FUTURE_36 = {"nested_scopes", "generators", "division", "absolute_import", "with_statement", "print_function",
             "unicode_literals", "generator_stop"}
NEW_MODULES = {"dataclasses", "contextvars", "graphlib", "zoneinfo", "tomllib", "importlib.resources",
               "importlib.metadata"}
NEW_NAMES = {"shlex.join": "3.8", "math.prod": "3.8", "math.isqrt": "3.8", "math.dist": "3.8",
             "functools.cached_property": "3.8", "time.time_ns": "3.7", "contextlib.nullcontext": "3.7",
             "os.waitstatus_to_exitcode": "3.9", "sys.stdlib_module_names": "3.10", "re.Pattern": "3.7",
             "asyncio.run": "3.7", "typing.Literal": "3.8", "typing.Protocol": "3.8", "typing.Final": "3.8",
             "typing.TypedDict": "3.8", "argparse.BooleanOptionalAction": "3.9"}
NEW_METHODS = {"removeprefix": "3.9", "removesuffix": "3.9", "is_relative_to": "3.9", "hardlink_to": "3.10"}
NEW_KEYWORDS = {("subprocess.run", "capture_output"): "3.7", ("subprocess.run", "text"): "3.7",
                ("subprocess.check_output", "text"): "3.7", ("subprocess.Popen", "text"): "3.7",
                ("add_subparsers", "required"): "3.7"}
BUILTIN_GENERICS = {"list", "dict", "tuple", "set", "frozenset", "type"}


def py36_problems(source: str, name: str = "<source>") -> list[str]:
    """What keeps `source` from running on Python 3.6: 3.7+ syntax, modules, functions and keywords, and
    annotations 3.6 cannot evaluate (list[str], str | None) when it runs them at definition time."""
    import ast

    try:
        tree = ast.parse(source, name, feature_version=(3, 6))
    except SyntaxError as exc:
        return [f"{name}:{exc.lineno}: {exc.msg}"]
    found = []

    def dotted(node):
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        return ".".join([node.id, *reversed(parts)]) if isinstance(node, ast.Name) else None

    def annotation(node, line):
        for sub in ast.walk(node):
            if isinstance(sub, ast.Subscript) and isinstance(sub.value, ast.Name) and sub.value.id in BUILTIN_GENERICS:
                found.append(f"{name}:{line}: {sub.value.id}[...] in an annotation needs 3.9")
            if isinstance(sub, ast.BinOp) and isinstance(sub.op, ast.BitOr):
                found.append(f"{name}:{line}: X | Y in an annotation needs 3.10")

    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            found.extend(f"{name}:{line}: from __future__ import {a.name} needs 3.7+" for a in node.names
                         if a.name not in FUTURE_36)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            if isinstance(node, ast.ImportFrom):
                modules += [f"{node.module}.{a.name}" for a in node.names]
            for module in modules:
                top = module.split(".")[0]
                if module in NEW_MODULES or top in NEW_MODULES:
                    found.append(f"{name}:{line}: module {module} is not in Python 3.6")
                elif top not in sys.stdlib_module_names and top != "dnalm":
                    found.append(f"{name}:{line}: {module} is not in the standard library")
                elif module in NEW_NAMES:
                    found.append(f"{name}:{line}: {module} needs Python {NEW_NAMES[module]}")
        elif isinstance(node, ast.Attribute):
            if dotted(node) in NEW_NAMES:
                found.append(f"{name}:{line}: {dotted(node)} needs Python {NEW_NAMES[dotted(node)]}")
            elif node.attr in NEW_METHODS:
                found.append(f"{name}:{line}: .{node.attr}() needs Python {NEW_METHODS[node.attr]}")
        elif isinstance(node, ast.Name) and node.id == "breakpoint":
            found.append(f"{name}:{line}: breakpoint() needs Python 3.7")
        elif isinstance(node, ast.Call):
            called = dotted(node.func) or ""
            for kw in node.keywords:
                for (func, key), version in NEW_KEYWORDS.items():
                    if kw.arg == key and (called == func or called.endswith("." + func)):
                        found.append(f"{name}:{line}: {called}({key}=...) needs Python {version}")
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
                if arg is not None and arg.annotation is not None:
                    annotation(arg.annotation, line)
            if node.returns is not None:
                annotation(node.returns, line)
        elif isinstance(node, ast.AnnAssign):
            annotation(node.annotation, line)
    return found


def test_the_launcher_is_python_3_6_code():
    problems = [p for f in LAUNCHER_FILES
                for p in py36_problems((ROOT / "src" / "dnalm" / f).read_text(), f"src/dnalm/{f}")]
    assert problems == []
    # of dnalm itself, only errors.py (3.6 too)
    source = (ROOT / "src" / "dnalm" / "pretraining" / "launch.py").read_text()
    assert "from dnalm" not in source.replace("from dnalm.core.errors import InputError", "")


def test_the_3_6_check_catches_what_3_6_cannot_run():
    planted = {
        "from __future__ import annotations": "annotations needs 3.7+",
        "from dataclasses import dataclass": "dataclasses is not in Python 3.6",
        "import shlex\nshlex.join(['a'])": "shlex.join needs Python 3.8",
        "import subprocess\nsubprocess.run(['a'], capture_output=True)": "capture_output=...) needs Python 3.7",
        "def f(hosts: list[str]) -> str | None: pass": "list[...] in an annotation needs 3.9",
        "x = f'{y=}'": "self documenting expressions",
        "if (n := 1): pass": "Assignment expressions",
        "import numpy": "numpy is not in the standard library",
        "'abc'.removeprefix('a')": "removeprefix() needs Python 3.9",
    }
    for source, message in planted.items():
        problems = py36_problems(source)
        assert any(message in p for p in problems), (source, problems)


def _python36():
    """A working Python 3.6: pyenv's (these machines have one; its shim on PATH may select another), or PATH's."""
    import glob
    import shutil

    roots = [os.environ.get("PYENV_ROOT", ""), os.path.expanduser("~/.pyenv")]
    candidates = sorted(p for r in roots if r for p in glob.glob(os.path.join(r, "versions", "3.6*", "bin", "python3.6")))
    candidates += [shutil.which("python3.6") or ""]
    for python in filter(None, candidates):
        probe = subprocess.run([python, "-S", "-c", "import sys; print(sys.version_info[:2])"],
                               capture_output=True, text=True)
        if probe.returncode == 0 and probe.stdout.strip() == "(3, 6)":
            return python
    return None


def test_the_launcher_runs_on_python_3_6(tmp_path):
    """The real thing where a Python 3.6 exists (pyenv's on these machines): dry run and a run that pulls
    the image once and calls srun, with stand-ins for srun and apptainer."""
    python36 = _python36()
    if python36 is None:
        pytest.skip("no python3.6 here (the static check above still ran)")
    bin_dir, log = _fakes(tmp_path)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "PYTHONPATH": str(ROOT / "src"), **SLURM2,
           "SLURM_CPUS_PER_TASK": "8", "CUDA_VISIBLE_DEVICES": "0,1", "DNALM_CACHE_DIR": "/ck/caches"}
    argv = [python36, "-S", "-m", "dnalm", "launch", "--procs-per-node", "4", "--engine", "apptainer",
            "--image", "docker://ghcr.io/dnalm/dnalm:0.1.0", "--image-cache", str(tmp_path / "images"),
            "--bind", "/ck", "--", *TRAIN]
    dry = subprocess.run(argv[:-len(TRAIN) - 1] + ["--dry-run", "--", *TRAIN], capture_output=True, text=True,
                         env=env, cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    expected = render(Allocation.from_env(env), 4, TRAIN, "apptainer",
                      str(tmp_path / "images" / "ghcr.io-dnalm-dnalm-0.1.0.sif"), ["/ck"], forward=forwarded_names(env))
    assert dry.stdout.splitlines()[-1] == shlex.join(expected).replace(os.getcwd(), str(tmp_path))
    for _ in range(2):
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
    calls = log.read_text().splitlines()
    assert [c.split()[:2] for c in calls] == [["apptainer", "pull"], ["srun", "--nodes=2"], ["srun", "--nodes=2"]]
    assert "--cpus-per-task=8" in calls[1] and "apptainer exec --nv --cleanenv --bind=/ck" in calls[1]

"""Container recipes: each is built here with its commands stubbed (the files it copies staged from the build
context, its shell lines run with apt-get, pip and the rest recording their arguments), so the tests check what
the build installs: the one pinned requirements file and the package, which builds with its C extension."""

from __future__ import annotations

import email
import json
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import dockerfile
import nfcheck
import pytest
from helpers import ROOT

from dnalm import __version__
from dnalm.cli import build_parser

DOCKERFILE = ROOT / "containers" / "Dockerfile"
REQUIREMENTS = ROOT / "containers" / "requirements.txt"
STUBS = {"usr/bin": ["apt-get", "python3", "rm"], "opt/dnalm/bin": ["pip", "dnalm"]}  # venv commands in the venv


def context_files() -> list[str]:
    """The build context of a fresh clone: the tracked files."""
    return subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()


def _glob(pattern: str) -> re.Pattern:
    """A .dockerignore pattern (Go's filepath.Match plus `**`) as a regular expression."""
    parts = re.split(r"(\*\*/|\*\*|\*|\?)", pattern.strip("/"))
    wild = {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}
    return re.compile("".join(wild.get(p, re.escape(p)) for p in parts))


def docker_context(files: list[str]) -> list[str]:
    """The files .dockerignore sends to the daemon: the last pattern that matches a file or a folder above it
    decides, `!` keeps."""
    rules = [(line.startswith("!"), _glob(line.lstrip("!"))) for line in (ROOT / ".dockerignore").read_text().split()]
    kept = []
    for path in files:
        parents = ["/".join(path.split("/")[:i]) for i in range(1, path.count("/") + 2)]
        keep = True
        for negated, rule in rules:
            if any(rule.fullmatch(p) for p in parents):
                keep = negated
        if keep:
            kept.append(path)
    return kept


def stage(image: Path, context: list[str], sources: list[str], dest: str) -> None:
    """Docker's COPY and Apptainer's %files: a file to `dest` (into it when it ends with /), a folder's files
    under `dest`. Every source must be in the context."""
    for source in sources:
        if source in context:
            copies = {source: dest + Path(source).name if dest.endswith("/") else dest}
        else:
            copies = {f: f"{dest.rstrip('/')}/{f[len(source) + 1:]}" for f in context if f.startswith(source + "/")}
        assert copies, f"{source}: not in the build context"
        for src, target in copies.items():
            (image / target.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
            (image / target.lstrip("/")).write_bytes((ROOT / src).read_bytes())


def run_stubbed(image: Path, script: str) -> list[list[str]]:
    """Run a recipe's shell lines with absolute paths moved under `image` and its commands stubbed; the
    commands it ran, each as its argv (paths under `image` written as in the image again)."""
    log = image / "commands.jsonl"
    for folder, names in STUBS.items():
        (image / folder).mkdir(parents=True, exist_ok=True)
        for name in names:
            stub = image / folder / name
            stub.write_text(f'#!{sys.executable}\nimport json, sys\nwith open("{log}", "a") as fh:\n'
                            f'    fh.write(json.dumps(["{name}", *sys.argv[1:]]) + "\\n")\n')
            stub.chmod(0o755)
    script = re.sub(r"(?<![\w.$}])/(tmp/dnalm|opt/dnalm|var/lib)", rf"{image}/\1", script)
    subprocess.run(["bash", "-ec", f'export PATH="{image}/usr/bin:$PATH"\n{script}'], check=True, cwd=image)
    return [[a.replace(str(image), "") for a in json.loads(line)] for line in log.read_text().splitlines()]


def docker_build(image: Path, overrides: dict[str, str]) -> list[list[str]]:
    """The commands `docker build --build-arg K=V ...` runs, with COPY done for real."""
    context = docker_context(context_files())
    script = []
    for c in dockerfile.parse_file(str(DOCKERFILE)):
        if c.cmd == "ARG":
            name, default = c.value[0].split("=", 1)
            script.append(f"export {name}={shlex.quote(overrides.get(name, default))}")
        elif c.cmd == "ENV":
            script += [f'export {k}="{v}"' for k, v in zip(c.value[::2], c.value[1::2])]
        elif c.cmd == "COPY":
            stage(image, context, list(c.value[:-1]), c.value[-1])
        elif c.cmd == "RUN":
            script.append(c.value[0])
    return run_stubbed(image, "\n".join(script))


def apptainer_definition() -> tuple[dict[str, str], dict[str, list[str]]]:
    """containers/dnalm.def: its header (`Bootstrap`, `From`) and the lines of each %section."""
    header, sections, name = {}, {}, None
    for line in (ROOT / "containers" / "dnalm.def").read_text().splitlines():
        if line.startswith("%"):
            name = line[1:].strip()
            sections[name] = []
        elif name and line.strip():
            sections[name].append(line.strip())
        elif ":" in line and not line.startswith("#"):
            key, value = line.split(":", 1)
            header[key.strip()] = value.strip()
    return header, sections


def documented_builds(text: str) -> list[list[str]]:
    """Every `docker build ...` command in a text (comment marks and line continuations removed), as argv."""
    text = re.sub(r"\\\n\s*#?", " ", re.sub(r"^#", "", text, flags=re.M))
    commands = [c.strip() for line in text.splitlines() for c in line.split("&&")]
    return [shlex.split(c) for c in commands if c.startswith("docker build ")]


def build_args(argv: list[str]) -> dict[str, str]:
    return dict(argv[i + 1].split("=", 1) for i, a in enumerate(argv) if a == "--build-arg")


def pins() -> list[str]:
    return [line for line in REQUIREMENTS.read_text().splitlines() if line and not line.startswith("#")]


def apt_packages(commands: list[list[str]]) -> set[str]:
    return {a for c in commands if c[:2] == ["apt-get", "install"] for a in c[2:] if not a.startswith("-")}


@pytest.fixture(scope="module")
def cpu_build(tmp_path_factory) -> tuple[Path, list[list[str]]]:
    image = tmp_path_factory.mktemp("docker_cpu")
    return image, docker_build(image, {})


def test_dockerfile_installs_the_pinned_requirements_and_the_package(cpu_build):
    image, commands = cpu_build
    pip = [c[1:] for c in commands if c[0] == "pip"]
    assert pip[1:] == [["install", "-r", "/tmp/dnalm/containers/requirements.txt"],
                       ["install", "--no-deps", "/tmp/dnalm"]]
    assert (image / "tmp/dnalm/containers/requirements.txt").read_bytes() == REQUIREMENTS.read_bytes()
    assert "bedtools" in apt_packages(commands)
    assert commands[-1] == ["dnalm", "--version"]
    staged = {str(f.relative_to(image / "tmp/dnalm")) for f in (image / "tmp/dnalm").rglob("*")}
    assert {"pyproject.toml", "setup.py", "src/dnalm/vocab/_bpe.c"} <= staged  # the package and its C extension


@pytest.mark.slow
def test_the_package_the_dockerfile_installs_builds_with_its_c_extension_and_the_pins(cpu_build, tmp_path):
    """What `pip install --no-deps /tmp/dnalm` gets builds from the staged files alone, with its C extension
    and package data, and depends on exactly the pinned requirements."""
    image, _ = cpu_build
    package = shutil.copytree(image / "tmp/dnalm", tmp_path / "package")  # setuptools builds in the tree
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
                    "-w", str(tmp_path), str(package)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("dnalm-*.whl")
    with zipfile.ZipFile(wheel) as whl:
        names = whl.namelist()
        metadata = email.message_from_bytes(whl.read(f"dnalm-{__version__}.dist-info/METADATA"))
    assert any(re.fullmatch(r"dnalm/vocab/_bpe\.cpython-.*\.so", n) for n in names)
    assert {"dnalm/pretraining/deepspeed_zero2.json", "dnalm/report/multiqc_config.yml"} <= set(names)
    assert metadata["Version"] == __version__ and metadata.get_all("Requires-Dist") == pins()


def test_apptainer_definition_installs_the_same_requirements(cpu_build, tmp_path):
    header, sections = apptainer_definition()
    assert header["Bootstrap"] == "docker"
    assert {"files", "post", "environment", "test"} <= set(sections)
    for line in sections["files"]:  # Apptainer copies from the checkout: no .dockerignore
        source, dest = line.split()
        stage(tmp_path, context_files(), [source], dest)
    commands = run_stubbed(tmp_path, "\n".join(sections["environment"] + sections["post"] + sections["test"]))
    docker_image, docker_commands = cpu_build
    assert [c for c in commands if c[0] == "pip"] == [c for c in docker_commands if c[0] == "pip"][1:]
    assert apt_packages(commands) == apt_packages(docker_commands)
    assert commands[-1] == ["dnalm", "--version"]  # %test
    staged = sorted(p.relative_to(tmp_path) for p in (tmp_path / "tmp/dnalm").rglob("*") if p.is_file())
    assert staged == sorted(p.relative_to(docker_image) for p in (docker_image / "tmp/dnalm").rglob("*")
                            if p.is_file())
    # the Apptainer image is the CUDA build: the same base as the Dockerfile's documented CUDA build
    cuda = [b for b in documented_builds(DOCKERFILE.read_text()) if "cuda" in b[b.index("-t") + 1]]
    assert [build_args(b)["BASE_IMAGE"] for b in cuda] == [header["From"]]


def test_cpu_build_is_the_default_and_installs_the_cpu_torch_wheel(cpu_build, tmp_path):
    """The laptop path (README quick start) builds with no arguments and must not pull CUDA wheels."""
    instructions = dockerfile.parse_file(str(DOCKERFILE))
    assert [c.value for c in instructions if c.cmd == "FROM"] == [("${BASE_IMAGE}",)]
    args = {c.value[0].split("=")[0]: c.value[0].split("=", 1)[1] for c in instructions if c.cmd == "ARG"}
    assert "cuda" not in args["BASE_IMAGE"] and args["TORCH_INDEX"].endswith("/whl/cpu")
    torch = next(p for p in pins() if p.startswith("torch=="))
    pip = [c[1:] for c in cpu_build[1] if c[0] == "pip"]
    assert pip[0] == ["install", "--index-url", args["TORCH_INDEX"], torch]  # torch first, from the CPU index
    (cuda,) = [b for b in documented_builds(DOCKERFILE.read_text()) if "cuda" in b[b.index("-t") + 1]]
    cuda_pip = [c[1:] for c in docker_build(tmp_path, build_args(cuda)) if c[0] == "pip"]
    assert cuda_pip[0] == ["install", torch] and cuda_pip[1:] == pip[1:]  # the default index's (CUDA) wheel
    readme = documented_builds((ROOT / "README.md").read_text())
    assert ["docker", "build", "-f", "containers/Dockerfile", "-t", f"dnalm:{__version__}", "."] in readme


def test_image_names_are_params_used_by_tasks_and_the_launcher():
    params = nfcheck.nextflow_params(ROOT)
    assert params["container_image"] == f"dnalm:{__version__}"
    assert params["container_image_gpu"] == f"dnalm:{__version__}-cuda"
    for path in nfcheck.module_files(ROOT):
        (process,) = nfcheck.parsed(path).processes
        if "process_multinode" in [label.value for label in process.labels]:
            assert process.containers == [], path  # dnalm launch starts its containers, with the GPU image
            continue
        (container,) = process.containers
        if container.condition:  # the GPU image where GPUs are asked for
            assert (container.true_name, container.false_name) == ("params.container_image_gpu",
                                                                   "params.container_image"), path
        else:
            assert container.name == "${params.container_image}", path
    task = {"meta": {"id": "m", "genome_id": "g"}, "params": params, "workflow": {"workDir": "/work"},
            "tokenized": "tokenized", "windows": "windows"}
    launch = build_parser().parse_args(nfcheck.render_command(ROOT, "DNALM_PRETRAIN_MULTINODE", task)[1:])
    assert launch.command == "launch" and launch.image == params["container_image_gpu"]
    settings = _config_settings(ROOT / "nextflow.config")
    assert not [name for name in settings if name.endswith(".registry")]  # images are local names
    assert settings["manifest.version"] == f"'{__version__}'"


def _config_settings(path: Path) -> dict[str, str]:
    """`scope.name = value` of a Nextflow config, blocks (`manifest { version = ... }`) flattened to dotted
    names; profiles' settings keep their profile's name in front."""
    settings, scopes = {}, []
    for line in nfcheck.strip_comments(path.read_text()).splitlines():
        line = line.strip()
        if line.endswith("{"):
            scopes.append(line[:-1].strip())
        elif line == "}":
            scopes.pop()
        elif "=" in line:
            name, value = (s.strip() for s in line.split("=", 1))
            settings[".".join([*scopes, name])] = value
    return settings


def test_every_container_engine_binds_the_checkpoint_root():
    """Where Nextflow runs, tests/test_engine.py reads the container commands it writes; here, the one
    containerOptions closure of conf/base.config, read per task (engine fact 25), and no profile's runOptions
    fixed when the config is read."""
    base = (ROOT / "conf" / "base.config").read_text()
    options = re.search(r"^    containerOptions = \{(.*?)^    \}", base, re.S | re.M)
    for flag, mount in [("-v", "'${params.checkpoint_root}:${params.checkpoint_root}'"),
                        ("--bind", "'${params.checkpoint_root}'")]:
        assert f"{flag} {mount}" in options.group(1)
    settings = _config_settings(ROOT / "nextflow.config")
    assert not [value for name, value in settings.items() if "params." in value and name.startswith("profiles.")]
    main = nfcheck.strip_comments((ROOT / "main.nf").read_text())  # Nextflow cannot run here: its code, read
    assert re.search(r"^\s*file\(params\.checkpoint_root\)\.mkdirs\(\)", main, re.M)

"""Container recipes: parse, install the one pinned requirements file and the package, match versions."""

from __future__ import annotations

import re

import dockerfile
import nfcheck
from helpers import ROOT

from dnalm import __version__


def test_dockerfile_parses_and_installs_the_pinned_requirements_and_package():
    commands = dockerfile.parse_file(str(ROOT / "containers" / "Dockerfile"))
    kinds = [c.cmd for c in commands]
    assert "FROM" in kinds
    copies = [" ".join(c.value) for c in commands if c.cmd == "COPY"]
    runs = " ".join(" ".join(c.value) for c in commands if c.cmd == "RUN")
    assert any(c.startswith("containers/requirements.txt ") for c in copies)
    assert "pip install -r /tmp/dnalm/containers/requirements.txt" in runs
    assert "pip install --no-deps /tmp/dnalm" in runs and "bedtools" in runs
    for copy in copies:  # every file the build copies is in the build context
        for source in copy.split()[:-1]:
            assert (ROOT / source).exists(), source
    copied = {source for copy in copies for source in copy.split()[:-1]}
    assert {"pyproject.toml", "setup.py", "src"} <= copied  # the package and its C extension build
    ignore = (ROOT / ".dockerignore").read_text().split()
    assert all(f"!{name}" in ignore or f"!{name}/" in ignore for name in copied)


def test_apptainer_definition_installs_the_same_requirements():
    text = (ROOT / "containers" / "dnalm.def").read_text()
    assert re.search(r"^Bootstrap: docker$", text, re.M)
    for name in ("%files", "%post", "%environment", "%test"):
        assert name in text
    assert "containers/requirements.txt /tmp/dnalm/containers/requirements.txt" in text
    assert "setup.py /tmp/dnalm/setup.py" in text and "src /tmp/dnalm/src" in text
    base = re.search(r"^From: (\S+)$", text, re.M).group(1)
    # the Apptainer image is the CUDA build: the same base as the Dockerfile's documented CUDA build
    assert f"--build-arg BASE_IMAGE={base}" in (ROOT / "containers" / "Dockerfile").read_text()


def test_cpu_build_is_the_default_and_installs_the_cpu_torch_wheel():
    """The laptop path (README quick start) builds with no arguments and must not pull CUDA wheels."""
    commands = dockerfile.parse_file(str(ROOT / "containers" / "Dockerfile"))
    args = {c.value[0].split("=")[0]: c.value[0].split("=", 1)[1] for c in commands if c.cmd == "ARG"}
    assert "cuda" not in args["BASE_IMAGE"] and args["TORCH_INDEX"].endswith("/whl/cpu")
    runs = [" ".join(c.value) for c in commands if c.cmd == "RUN"]
    torch_first = next(i for i, r in enumerate(runs) if "--index-url ${TORCH_INDEX}" in r)
    assert torch_first == next(i for i, r in enumerate(runs) if "-r /tmp/dnalm/containers/requirements.txt" in r)
    readme = (ROOT / "README.md").read_text()
    assert f"docker build -f containers/Dockerfile -t dnalm:{__version__} ." in readme


def test_image_names_are_params_used_by_tasks_and_the_launcher():
    params = nfcheck.nextflow_params(ROOT)
    assert params["container_image"] == f"dnalm:{__version__}"
    assert params["container_image_gpu"] == f"dnalm:{__version__}-cuda"
    for path in nfcheck.module_files(ROOT):
        text = path.read_text()
        tags = re.findall(r"^\s*container\s+(.+)$", text, re.M)
        if "label 'process_multinode'" in text:  # dnalm launch starts its containers, with the GPU image
            assert tags == [], path
            continue
        assert len(tags) == 1 and "params.container_image" in tags[0], path
    launch = nfcheck.ext_options(ROOT)["DNALM_PRETRAIN_MULTINODE"]["launch_args"]
    assert "--image ${params.container_image_gpu}" in launch
    assert "registry" not in nfcheck.strip_comments((ROOT / "nextflow.config").read_text())
    assert f"version         = '{__version__}'" in (ROOT / "nextflow.config").read_text()


def test_every_container_profile_binds_the_checkpoint_root():
    config = (ROOT / "nextflow.config").read_text()
    for engine, option in [("docker", "-v ${params.checkpoint_root}:${params.checkpoint_root}"),
                           ("singularity", "--bind ${params.checkpoint_root}"),
                           ("apptainer", "--bind ${params.checkpoint_root}")]:
        profile = re.search(rf"^    {engine} \{{(.*?)^    \}}", config, re.S | re.M).group(1)
        assert re.search(rf'{engine}\.runOptions\s*=\s*".*{re.escape(option)}', profile), engine
    assert "file(params.checkpoint_root).mkdirs()" in (ROOT / "main.nf").read_text()

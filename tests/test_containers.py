"""Container recipes: parse, install the one pinned requirements file and the package, match versions."""

from __future__ import annotations

import re

import dockerfile

import nfcheck
from conftest import ROOT
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
    assert f"ARG CUDA_IMAGE={base}" in (ROOT / "containers" / "Dockerfile").read_text()


def test_module_containers_carry_the_package_version():
    for path in nfcheck.module_files(ROOT):
        text = path.read_text()
        tags = re.findall(r"^\s*container '([^']+)'", text, re.M)
        # the multi-node process starts its containers itself (dnalm launch), with the same image
        expected = [] if "label 'process_multinode'" in text else [f"dnalm/dnalm:{__version__}"]
        assert tags == expected, path
    assert f"multinode_image        = 'docker://ghcr.io/dnalm/dnalm:{__version__}'" in (ROOT / "nextflow.config").read_text()
    assert f"version         = '{__version__}'" in (ROOT / "nextflow.config").read_text()


def test_every_container_profile_binds_the_checkpoint_root():
    config = (ROOT / "nextflow.config").read_text()
    for engine, option in [("docker", "-v ${params.checkpoint_root}:${params.checkpoint_root}"),
                           ("singularity", "--bind ${params.checkpoint_root}"),
                           ("apptainer", "--bind ${params.checkpoint_root}")]:
        profile = re.search(rf"^    {engine} \{{(.*?)^    \}}", config, re.S | re.M).group(1)
        assert re.search(rf'{engine}\.runOptions\s*=\s*".*{re.escape(option)}', profile), engine
    assert "file(params.checkpoint_root).mkdirs()" in (ROOT / "main.nf").read_text()

"""Static checks of the Nextflow code (Nextflow cannot run here), each shown to catch a planted defect."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

import nfcheck
from conftest import ROOT


def test_every_check_passes_on_the_tree():
    problems = [p for check in nfcheck.ALL_CHECKS for p in check(ROOT)]
    assert problems == []


def test_every_subcommand_has_a_module():
    scripts = {name for p in nfcheck.module_files(ROOT) for name in nfcheck.module_subcommands(p)}
    assert scripts == set(nfcheck.subcommand_flags())


@pytest.fixture
def tree(tmp_path) -> Path:
    """A copy of the Nextflow layer to break."""
    copy = tmp_path / "tree"
    for name in ["main.nf", "nextflow.config", "nextflow_schema.json"]:
        shutil.copy(ROOT / name, copy / name if copy.exists() else _mk(copy) / name)
    for folder in ["conf", "workflows", "subworkflows", "modules"]:
        shutil.copytree(ROOT / folder, copy / folder)
    return copy


def _mk(path: Path) -> Path:
    path.mkdir(parents=True)
    return path


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


WINDOWS = "modules/local/dnalm/make_windows/main.nf"
DEFECTS = {
    "unterminated string": (nfcheck.parse_errors, WINDOWS, "tag \"${meta.id}\"", "tag \"${meta.id}", WINDOWS),
    "broken config block": (nfcheck.parse_errors, "conf/base.config", "withLabel: 'process_low' {",
                            "withLabel: 'process_low' {{", "conf/base.config"),
    "include of a missing file": (nfcheck.include_errors, "workflows/dnalm.nf", "subworkflows/local/vocabularies'",
                                  "subworkflows/local/vocabularys'", "workflows/dnalm.nf"),
    "include of an undefined process": (nfcheck.include_errors, "subworkflows/local/vocabularies/main.nf",
                                        "include { DNALM_VOCAB_STATS     }", "include { DNALM_VOCAB_STAT }",
                                        "DNALM_VOCAB_STAT"),
    "process without tag": (nfcheck.process_errors, WINDOWS, "    tag \"${meta.id}\"\n", "", "no tag"),
    "process without label": (nfcheck.process_errors, WINDOWS, "    label 'process_low'\n", "", "no resource label"),
    "process without container": (nfcheck.process_errors, WINDOWS, "    container 'dnalm/dnalm:0.1.0'\n", "",
                                  "no container"),
    "process without stub": (nfcheck.process_errors, WINDOWS, "    stub:\n", "    // stub removed\n", "no stub"),
    "process without versions": (nfcheck.process_errors, WINDOWS, ", topic: versions", "", "versions topic"),
    "unknown flag in a script": (nfcheck.flag_errors, WINDOWS, "--tokenized ${tokenized}",
                                 "--tokens ${tokenized}", "--tokens"),
    "unknown flag in ext.args": (nfcheck.flag_errors, "conf/modules.config", "--chunk-bp", "--chunk-size",
                                 "--chunk-size"),
    "launch flag given to the launched command": (
        nfcheck.flag_errors, "conf/modules.config", '"--procs-per-node ${params.gpus_per_node}',
        '"--procs-per-node ${params.gpus_per_node} --max-steps 3', "--max-steps, which 'dnalm launch'"),
    "undeclared param": (nfcheck.param_errors, "conf/modules.config", "${params.min_run}", "${params.min_runs}",
                         "params.min_runs"),
    "param missing from the schema": (nfcheck.param_errors, "nextflow_schema.json", '"hpc_account": {',
                                      '"hpc_acount": {', "params.hpc_account"),
    "schema param never used": (nfcheck.param_errors, "conf/hpc.config", "params.hpc_queue ?: null", "null",
                                "params.hpc_queue is in nextflow_schema.json but never used"),
}


@pytest.mark.parametrize("defect", list(DEFECTS))
def test_each_check_fails_on_a_planted_defect(defect, tree):
    check, path, old, new, expected = DEFECTS[defect]
    _edit(tree / path, old, new)
    problems = check(tree)
    assert any(expected in p for p in problems), problems


def test_named_genomes_resolve_and_unknown_names_are_refused():
    genomes = (ROOT / "conf" / "genomes.config").read_text()
    names = re.findall(r"^        '([\w.-]+)' \{", genomes, re.M)
    assert {"hg19", "hg38", "t2t", "mm10"} <= set(names)
    hg38 = genomes.split("'hg38' {")[1].split("\n        }")[0]
    assert re.search(r"fasta\s*=\s*'https://\S+/hg38\.fa\.gz'", hg38)
    assert re.search(r"holdout_contigs\s*=\s*'chr21'", hg38)
    main = (ROOT / "main.nf").read_text()
    assert "is not in conf/genomes.config; known genomes: ${genomes.keySet().sort().join(', ')}" in main


def test_test_profile_uses_bundled_real_data():
    params = nfcheck.nextflow_params(ROOT, "conf/test.config")
    genome = params["genomes"][params["genome"]]
    assert Path(genome["fasta"]).parent == ROOT / "assets" / "test"
    for key, path in genome.items():
        assert Path(path).is_file(), key
    assert {"hg19", "hg38", "t2t", "mm10"} <= set(params["genomes"])


def test_schema_defaults_equal_the_config_defaults():
    params = nfcheck.nextflow_params(ROOT)
    schema = json.loads((ROOT / "nextflow_schema.json").read_text())
    defaults = {k: v["default"] for group in schema["$defs"].values() for k, v in group["properties"].items()
                if "default" in v}
    assert len(defaults) > 30
    assert {k: params.get(k) for k in defaults} == defaults

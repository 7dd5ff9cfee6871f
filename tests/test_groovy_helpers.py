"""The pipeline's Groovy helpers (subworkflows/local/utils_dnalm_pipeline), run in a real Groovy.

These decide what every task is called and what reaches its command line: ids of genomes, vocabularies,
tracks, tasks and models, and the workflow summary that the report shows as HTML."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import nfcheck
import pytest
from helpers import ROOT, dnalm

from dnalm.cli.options import identifier, model_name
from dnalm.cli.pretrain import DEEPSPEED_NAMES
from dnalm.core.errors import InputError
from dnalm.genome.annotations import FORMATS, ROLES
from dnalm.genome.prepare import check_genome_id, genome_id_from_name
from dnalm.vocab.vocabulary import kmer_vocabulary_name

HELPERS = ROOT / "subworkflows" / "local" / "utils_dnalm_pipeline" / "main.nf"
GROOVY = shutil.which("groovy")
pytestmark = pytest.mark.skipif(GROOVY is None, reason="groovy is not installed (scripts/test.sh installs it)")
pytestmark = [pytestmark, pytest.mark.slow]  # every test starts a JVM for groovy


def groovy(*expressions: str) -> list[dict]:
    env = dict(os.environ)
    if not Path(env.get("JAVA_HOME", "/usr/lib/jvm/default-java"), "bin", "java").exists() and shutil.which("java"):
        env["JAVA_HOME"] = str(Path(os.path.realpath(shutil.which("java"))).parent.parent)
    proc = subprocess.run([GROOVY, str(ROOT / "tests" / "groovy" / "evaluate.groovy"), str(HELPERS), *expressions],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert len(rows) == len(expressions), proc.stdout + proc.stderr
    return rows


def test_imported_benchmark_tasks_keep_their_folder_so_ids_do_not_collide():
    tf, mouse, fasta, csv = groovy("importedTaskId(file('/data/GUE/tf/0'))", "importedTaskId(file('/data/GUE/mouse/0'))",
                                   "importedTaskId(file('/data/nt/promoter_all.fasta'))",
                                   "importedTaskId(file('/data/enhancers.csv.gz'))")
    assert (tf["value"], mouse["value"]) == ("tf_0", "mouse_0")
    assert fasta["value"] == "nt_promoter_all" and csv["value"] == "data_enhancers"


NAMES = ["GRCh38.p14.fa.gz", "hg38.fa", "T2T-CHM13v2.0.fasta.gz", "genome.FNA", "ecoli.fas", "x.fa.gz.gz", "plain"]


def test_genome_id_rule_is_the_same_in_the_workflow_and_the_cli():
    """One rule in two languages: main.nf's genomeId and prepare-genome's default --genome-id agree."""
    rows = groovy(*[f"genomeId('{name}')" for name in NAMES])
    assert [r["value"] for r in rows] == [genome_id_from_name(name) for name in NAMES]
    assert rows[0]["value"] == "GRCh38.p14"  # not 'GRCh38', as split('.') made it


@pytest.mark.parametrize("bad", ["my genome", "x;rm -rf y", "$(id)", "-flag", "a'b", "tab\there", "dots..fine\n"])
def test_unsafe_ids_stop_the_run_in_both_languages(bad):
    quoted = bad.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\t", "\\t")
    safe, named = groovy(f"safeId('{quoted}', '--annotations x.csv: name')", f"genomeId('{quoted}.fa')")
    assert "cannot name outputs" in safe["error"] and "--annotations x.csv: name" in safe["error"]
    assert "cannot name outputs" in named["error"]
    with pytest.raises(InputError, match="--genome-id"):
        check_genome_id(bad)


def test_unknown_genome_names_are_refused_with_the_known_ones():
    known, unknown = groovy("namedGenome('hg38', [hg38: [fasta: 'x.fa'], mm10: [:]])",
                            "namedGenome('hg99', [hg38: [fasta: 'x.fa'], mm10: [:]])")
    assert known["value"] == {"fasta": "x.fa"}
    assert unknown["error"] == "--genome 'hg99' is not in conf/genomes.config; known genomes: hg38, mm10"


def test_kmer_vocabulary_ids_follow_the_package(tmp_path):
    """One rule, in Python only: the workflow's kmerSpec gives DNALM_KMER_VOCAB's flags, `dnalm kmer-vocab` names
    its directory, and the module's output pattern finds exactly that one directory, whose name is the id."""
    specs = ["kmer:4", " kmer-overlap:6", "kmer-stride:6:3"]
    rows = groovy(*[f"kmerSpec('{s}')" for s in specs])
    for spec, row in zip(specs, rows):
        task_dir = tmp_path / str(len(list(tmp_path.iterdir())))
        task_dir.mkdir()
        meta = row["value"]
        argv = nfcheck.render_command(ROOT, "DNALM_KMER_VOCAB", {"meta": meta, "params": {}, "task": {"cpus": 1}})
        dnalm(*argv[1:], cwd=task_dir)
        [vocab] = nfcheck.output_paths(ROOT, "DNALM_KMER_VOCAB", "vocab", {"meta": meta}, task_dir)
        kind, k, *stride = spec.strip().split(":")
        assert vocab.name == kmer_vocabulary_name(kind, int(k), int(stride[0]) if stride else None)
        assert json.loads((vocab / "dnalm_vocab.json").read_text())["name"] == vocab.name


def test_model_ids_are_the_same_in_the_workflow_and_the_cli(tmp_path):
    """The workflow decides a model's id (it names outputs before any task runs) and passes it as --model-id;
    dnalm.cli.options.model_name is the same rule, run here on the same references."""
    (tmp_path / "DNABERT-2-117M").mkdir()
    (tmp_path / "bpe_600_pretrained" / "model").mkdir(parents=True)
    refs = ["InstaDeepAI/nucleotide-transformer-v2-50m-multi-species", f"{tmp_path}/DNABERT-2-117M",
            f"{tmp_path}/bpe_600_pretrained/model", "zhihan1996/DNABERT-2-117M"]
    rows = groovy(*[f"externalModel('{ref}', false)" for ref in refs])
    assert [row["value"][0]["id"] for row in rows] == [model_name(ref) for ref in refs]
    assert all(identifier(row["value"][0]["id"]) for row in rows)  # what --model-id accepts
    assert rows[2]["value"][0]["id"] == "bpe_600_pretrained"


def test_deepspeed_names_and_files_are_the_clis(tmp_path):
    """--pretrain_deepspeed: what `dnalm pretrain --deepspeed` takes as a name stays a name, anything else is a
    file the workflow stages into the task (issue 29, defect 9), or a one-line error where it does not exist."""
    config = tmp_path / "ds.json"
    config.write_text("{}")
    rows = groovy(*[f"deepspeedFile('{name}')" for name in DEEPSPEED_NAMES], f"deepspeedFile('{config}')",
                  "deepspeedFile(null)", f"deepspeedFile('{tmp_path}/absent.json')")
    assert [row["value"] for row in rows[:len(DEEPSPEED_NAMES) + 2]] == [[]] * len(DEEPSPEED_NAMES) + [str(config), []]
    assert "absent.json" in rows[-1]["error"]

def test_hub_ids_and_local_models(tmp_path):
    (tmp_path / "DNABERT-2-117M").mkdir()
    hub, local = groovy("externalModel('InstaDeepAI/nucleotide-transformer-v2-50m-multi-species', true)",
                        f"externalModel('{tmp_path}/DNABERT-2-117M', false)")
    meta, staged = hub["value"]
    assert meta == {"id": "InstaDeepAI_nucleotide-transformer-v2-50m-multi-species", "trust_remote_code": True,
                    "hub_id": "InstaDeepAI/nucleotide-transformer-v2-50m-multi-species"} and staged == []
    assert local["value"] == [{"id": "DNABERT-2-117M", "trust_remote_code": False}, f"{tmp_path}/DNABERT-2-117M"]


def test_named_genome_tracks_use_the_packages_roles_and_formats(tmp_path):
    """Every track of every genome in conf/genomes.config becomes a track whose role and format
    `dnalm prepare-annotation` accepts (dnalm.genome.annotations ROLES, FORMATS); motifs are JASPAR, as
    task-ctcf reads them."""
    genome_keys = {"fasta", "exclude_contigs", "holdout_contigs"}
    genomes = nfcheck.nextflow_params(ROOT)["genomes"]
    assert len(genomes) >= 4
    for name, entry in genomes.items():
        named = {key: str(tmp_path / f"{name}_{key}") for key in entry if key not in genome_keys}
        for path in named.values():
            Path(path).touch()
        groovy_map = "[" + ", ".join(f"{k}: '{v}'" for k, v in named.items()) + "]" if named else "[:]"
        tracks = groovy(f"namedTracks({groovy_map})")[0]["value"]
        assert sorted(meta["role"] for meta, _path in tracks) == sorted(named), name
        for meta, path in tracks:
            assert meta["role"] in ROLES and meta["format"] in FORMATS and meta["id"] == meta["role"]
            assert path == named[meta["role"]]
            assert (meta["format"] == "jaspar") == (meta["role"] == "motif")


def test_annotation_rows_resolve_relative_paths_from_the_sheet(tmp_path):
    (tmp_path / "tracks").mkdir()
    (tmp_path / "tracks" / "rmsk.bed").write_text("chr1\t0\t10\n")
    sheet = tmp_path / "sheet.csv"
    ok, missing, bad = groovy(
        f"annotationTrack([id: 'repeats', format: 'bed', role: 'repeats'], 'tracks/rmsk.bed', file('{sheet}'))",
        f"annotationTrack([id: 'genes', format: 'bed', role: 'genes'], 'genes.bed', file('{sheet}'))",
        f"annotationTrack([id: 'a b', format: 'bed', role: 'genes'], 'tracks/rmsk.bed', file('{sheet}'))")
    assert ok["value"] == [{"id": "repeats", "format": "bed", "role": "repeats"}, str(tmp_path / "tracks" / "rmsk.bed")]
    assert "No such file" in missing["error"]
    assert f"--annotations {sheet}: name" in bad["error"]


def test_workflow_summary_escapes_what_reaches_the_report():
    wf = ("[commandLine: \"nextflow run main.nf --genome_id '<img src=x onerror=alert(1)>'\", profile: 'test', "
          "revision: null, commitId: null, containerEngine: null, launchDir: '/l', workDir: '/w', start: 't', "
          "nextflow: [version: '25.10.7']]")
    summary = json.loads(groovy(f"workflowSummary({wf})")[0]["value"])
    assert "<img" not in summary["data"] and "&lt;img src=x onerror=alert(1)&gt;" in summary["data"]
    assert re.search(r"<dt>Command line</dt><dd><samp>nextflow run main.nf", summary["data"])

"""The pipeline run by Nextflow itself, not an emulation of it: where `nextflow` is on PATH (with the nf-schema
plugin it can load; offline, from NXF_PLUGINS_DIR), else skipped, saying so.

Each run works on a copy of the pipeline in a temporary folder, so a run's .nextflow/, work/ and edits stay
there. `-stub` runs check the wiring in seconds per task; small probe workflows beside the copy check what the
pipeline's config and helpers do inside the engine (container options, the track a task is built from)."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import ROOT

from dnalm import __version__

NEXTFLOW = shutil.which("nextflow")
# The runs are offline (NXF_OFFLINE): the plugin the pipeline pins must be where Nextflow looks for plugins
PLUGIN = re.search(r"id '(nf-schema@[\d.]+)'", (ROOT / "nextflow.config").read_text()).group(1).replace("@", "-")
NXF_HOME = Path(os.environ.get("NXF_HOME") or Path.home() / ".nextflow")
PLUGINS = Path(os.environ.get("NXF_PLUGINS_DIR") or NXF_HOME / "plugins")
pytestmark = [pytest.mark.engine,
              pytest.mark.skipif(NEXTFLOW is None, reason="nextflow is not on PATH: the pipeline's engine tests are "
                                                          "not run"),
              pytest.mark.skipif(NEXTFLOW is not None and not (PLUGINS / PLUGIN).is_dir(),
                                 reason=f"{PLUGIN} is not in {PLUGINS} (NXF_PLUGINS_DIR): the engine tests run "
                                        "offline")]

PIPELINE = ["main.nf", "nextflow.config", "nextflow_schema.json", "conf", "modules", "subworkflows", "workflows",
            "bin", "assets", "src"]


def copy_pipeline(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in PIPELINE:
        (shutil.copytree if (ROOT / name).is_dir() else shutil.copy2)(ROOT / name, dest / name)
    return dest


def bare_path() -> str:
    """A PATH with Nextflow and Java but not the project's Python environment: `dnalm` resolves only to the
    pipeline's bin/dnalm, run by the system's python3 without numpy or torch."""
    java = Path(os.path.realpath(shutil.which("java"))).parent
    path = os.pathsep.join([str(Path(NEXTFLOW).parent), str(java), "/usr/bin", "/bin"])
    assert shutil.which("dnalm", path=path) is None
    return path


def nextflow(cwd: Path, *args: str, env: dict[str, str] | None = None, ok: bool = True,
             binary: str | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "NXF_OFFLINE": "true", "NXF_ANSI_LOG": "false", **(env or {})}
    proc = subprocess.run([binary or NEXTFLOW, *args], cwd=cwd, env=environment, capture_output=True, text=True,
                          timeout=1500)
    if ok:
        assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    return proc


def trace(outdir: Path) -> list[dict[str, str]]:
    """The newest execution trace of a run: one row per task (name, status, hash, workdir ...)."""
    newest = max((outdir / "pipeline_info").glob("execution_trace_*.txt"), key=lambda p: p.stat().st_mtime)
    with open(newest) as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def process(row: dict[str, str]) -> str:
    return row["name"].split(" ")[0].split(":")[-1]


def work_dirs(root: Path, rows: list[dict[str, str]], name: str) -> list[Path]:
    """The work directories of one process's tasks (the trace's hash column: `ab/cdef12`)."""
    return [next((root / "work").glob(row["hash"] + "*")) for row in rows if process(row) == name]


# CLI values of every type: a number in scientific notation, a fraction, integers, a comma list
TYPED_VALUES = ["--pretrain_learning_rate", "1e-4", "--mlm_probability", "0.2", "--pretrain_steps", "5",
                "--pretrain_nodes", "1", "--finetune_seeds", "1,2"]


@pytest.fixture(scope="module")
def stub_run(tmp_path_factory):
    """`-stub -profile test` on a PATH without the Python environment, with a reference model from an earlier
    run, TF-IDF vocabularies that pretraining also builds, a DeepSpeed config file and CLI values of every
    type, under the default (strict) parser, which passes them as strings: `false` is a true string there."""
    base = tmp_path_factory.mktemp("engine")
    root = copy_pipeline(base / "pipeline")
    earlier = base / "aaa_pretrained" / "model"  # named to sort before this run's models
    earlier.mkdir(parents=True)
    (earlier / "config.json").write_text("{}")
    deepspeed = base / "ds.json"
    deepspeed.write_text('{"train_micro_batch_size_per_gpu": "auto"}')
    args = ["run", "main.nf", "-stub", "-profile", "test", "--outdir", str(base / "results"),
            "--tfidf_vocabs", "kmer:2,kmer:4", "--nextkmer_models", str(earlier),
            "--pretrain_deepspeed", str(deepspeed), *TYPED_VALUES, "--skip_attention_motifs", "false"]
    proc = nextflow(root, *args, env={"PATH": bare_path()})
    return root, base / "results", trace(base / "results"), proc


def test_a_stub_run_needs_no_python_environment(stub_run):
    """Defect 5 of issue 29: stubs ran `dnalm kmer-vocab`, and every task's version `eval` needed the package."""
    _root, results, rows, proc = stub_run
    assert rows and all(row["status"] == "COMPLETED" for row in rows)
    assert f"dnalm finished: results in {results}" in proc.stdout  # the completion handler ran (engine fact 29)
    assert "DNALM_ATTENTION_MOTIFS" in {process(row) for row in rows}  # --skip_attention_motifs false
    versions = (results / "pipeline_info" / "software_versions.tsv").read_text().splitlines()
    assert versions and all(line.split("\t")[1:] == ["dnalm", __version__] for line in versions)


def test_each_kmer_vocabulary_is_built_once(stub_run):
    """Defect 9: kmer4 served pretraining and the TF-IDF baselines, and was built by both."""
    rows = stub_run[2]
    built = sorted(row["name"] for row in rows if process(row) in ("DNALM_KMER_VOCAB", "DNALM_TFIDF_VOCAB"))
    assert len(built) == 3 and all("DNALM_KMER_VOCAB" in name for name in built), built


def test_a_reference_dnalm_model_is_never_the_selected_vocabulary(stub_run):
    """Defect 3: an earlier run's model given in --nextkmer_models could win the selection, and then no task was
    fine-tuned and no embedding computed (its id is not among this run's models)."""
    _root, results, rows, _proc = stub_run
    names = [process(row) for row in rows]
    assert names.count("DNALM_NEXTKMER_FINETUNE") == (names.count("DNALM_PRETRAIN") + 1) * 2  # and the reference
    selected = (results / "nextkmer" / "hg19_chr22_window_vocabulary_selection" / "selected_model.txt").read_text()
    assert selected.strip() != "aaa_pretrained"
    assert names.count("DNALM_FINETUNE") == 3 and "DNALM_TOKEN_EMBEDDINGS" in names


def test_the_annotation_stub_writes_what_the_step_writes(stub_run):
    """Defect 10: the stub wrote motif.bed where `dnalm prepare-annotation` writes the JASPAR file."""
    annotations = stub_run[1] / "annotations"
    assert (annotations / "motif_annotation" / "motif.jaspar").exists()
    assert not (annotations / "motif_annotation" / "motif.bed").exists()
    assert (annotations / "tss_annotation" / "tss.bed").exists()


def test_a_deepspeed_config_file_is_staged_into_pretraining(stub_run):
    """Defect 9: `--pretrain_deepspeed /path/ds.json` reached the command line as a host path, invisible inside
    a container, and outside the task's hash."""
    root, _results, rows, _proc = stub_run
    dirs = work_dirs(root, rows, "DNALM_PRETRAIN")
    assert dirs and all((d / "ds.json").is_symlink() for d in dirs)


@pytest.fixture(scope="module")
def test_profile(tmp_path_factory):
    """`nextflow run main.nf -profile test,local` for real (minutes on 2 cores), then again with -resume."""
    base = tmp_path_factory.mktemp("real")
    args = ["run", str(ROOT / "main.nf"), "-profile", "test,local", "--outdir", str(base / "results"),
            "--checkpoint_root", str(base / "checkpoints")]
    nextflow(base, *args)
    first = trace(base / "results")
    nextflow(base, *args, "-resume")
    return base, first, trace(base / "results")


def documented_outputs() -> list[str]:
    """The output paths docs/output.md names for the steps (`<...>` for a name part)."""
    text = (ROOT / "docs" / "output.md").read_text()
    section = text.split("## Pipeline information")[0]  # the rest only Nextflow writes
    steps = "genome|annotations|vocabularies|tokenized|windows|pretraining|nextkmer|finetune|embeddings|" \
            "variant_effects|dnalm_report"
    return sorted(set(re.findall(rf"`((?:{steps})/[^`]+)`", section)))


def test_the_test_profile_publishes_every_documented_output(test_profile):
    base, rows, _resumed = test_profile
    assert rows and all(row["status"] == "COMPLETED" for row in rows)
    outputs = documented_outputs()
    assert len(outputs) > 20
    for pattern in outputs:
        if pattern.startswith("variant_effects/") and "motifs" not in pattern:
            continue  # scores need --variants or --mutagenesis_regions (tests/nextflow/default.nf.test)
        assert list((base / "results").glob(re.sub(r"<[^>]+>", "*", pattern))), f"{pattern} was not published"


def test_annotations_are_checked_and_normalised_once_per_role(test_profile):
    results = test_profile[0] / "results"
    published = sorted(p.name for p in (results / "annotations").glob("*_annotation"))
    assert published == [f"{r}_annotation" for r in sorted(["repeats", "genes", "tss", "cpg", "ctcf_peaks", "motif"])]
    tss = (results / "annotations" / "tss_annotation" / "tss.bed").read_text().splitlines()
    assert len(tss) == 56 and all(line.split("\t")[0] == "chr22_20M_21M" for line in tss)


def test_pretraining_checkpoints_live_under_the_checkpoint_root(test_profile):
    """Outside the task's work folder, where a rerun of a killed task finds them."""
    base, rows, _resumed = test_profile
    pretrained = sorted(re.search(r"\((\w+)\)$", row["name"]).group(1) for row in rows
                        if process(row) == "DNALM_PRETRAIN")
    assert len(pretrained) == 5
    assert sorted(p.name for p in (base / "checkpoints" / "hg19_chr22_window").iterdir()) == pretrained
    for model in pretrained:
        assert list((base / "checkpoints" / "hg19_chr22_window" / model).glob("*/checkpoint-*"))


def test_resume_reruns_only_the_report(test_profile):
    """Every task is cached but the report: its workflow summary holds the run's command line and start time."""
    _base, first, resumed = test_profile
    assert len(resumed) == len(first)
    assert [process(row) for row in resumed if row["status"] != "CACHED"] == ["DNALM_REPORT"]


KMER_VOCAB = """
include { DNALM_KMER_VOCAB } from './modules/local/dnalm/kmer_vocab'

workflow {
    DNALM_KMER_VOCAB(channel.of([kind: 'kmer', k: 3, stride: null]))
}
"""


def test_resume_reruns_a_step_after_the_package_changed(tmp_path):
    """Defect 8: a task's hash covered its script and bin/dnalm, not src/, so -resume reused results
    that older code computed. One real step (kmer-vocab, a fraction of a second), run three times."""
    root = copy_pipeline(tmp_path / "pipeline")
    (root / "kmer_vocab.nf").write_text(KMER_VOCAB)
    args = ["run", "kmer_vocab.nf", "--outdir", str(tmp_path / "results")]
    nextflow(root, *args)
    assert [row["status"] for row in trace(tmp_path / "results")] == ["COMPLETED"]
    nextflow(root, *args, "-resume")
    assert [row["status"] for row in trace(tmp_path / "results")] == ["CACHED"]
    init = root / "src" / "dnalm" / "__init__.py"
    init.write_text(init.read_text() + "\n# a change of the package's code\n")
    nextflow(root, *args, "-resume")
    assert [row["status"] for row in trace(tmp_path / "results")] == ["COMPLETED"]


FIRST_TRACK = """
include { firstTrack } from './subworkflows/local/utils_dnalm_pipeline'

process FINISH {
    input:
    tuple val(meta), val(track), val(seconds)

    output:
    tuple val(meta), val(track)

    script:
    "sleep ${seconds}"
}

workflow {
    ch = FINISH(channel.of([[id: 'a_tss', role: 'tss'], 'a.bed', 4], [[id: 'b_tss', role: 'tss'], 'b.bed', 0],
                           [[id: 'genes', role: 'genes'], 'g.bed', 0]))
    firstTrack(ch, 'tss').view { track -> "FIRST ${track}" }
    firstTrack(ch, 'cpg').view { track -> "CPG ${track}" }
}
"""


def test_the_first_track_of_a_role_is_the_first_by_name(tmp_path):
    """Defect 4: `.first()` took the track whose task finished first, so two `tss` rows gave tasks built from
    either, and -resume reran them. Here b finishes 4 s before a; a role without a track gives nothing."""
    root = copy_pipeline(tmp_path / "pipeline")
    (root / "first_track.nf").write_text(FIRST_TRACK)
    out = nextflow(root, "run", "first_track.nf").stdout
    assert re.findall(r"^(?:FIRST|CPG) .*$", out, re.M) == ["FIRST a.bed"], out
    assert "2 'tss' tracks: the tasks use 'a_tss', the first by name" in out


PROBE = """
process CPU_TASK {
    label 'process_single'
    container params.probe_image

    script:
    "true"
}

process GPU_TASK {
    label 'process_gpu'
    container params.probe_image

    script:
    "true"
}

workflow {
    CPU_TASK()
    GPU_TASK()
}
"""


@pytest.mark.parametrize("engine", ["docker", "apptainer"])
def test_containers_get_the_checkpoint_root_the_run_has_and_the_allocated_gpus(engine, tmp_path):
    """Defects 1 and 2: a --checkpoint_root set in a -c file (read after the profiles), or with a space, reached
    no container; Apptainer's clean environment dropped SLURM's CUDA_VISIBLE_DEVICES. The probe's tasks fail
    where the engine is missing, after Nextflow wrote the command that starts their containers."""
    root = copy_pipeline(tmp_path / "pipeline")
    (root / "probe.nf").write_text(PROBE)
    checkpoints = tmp_path / "check points"
    # a site's config, read after the profiles; failed tasks do not stop the others here
    (tmp_path / "site.config").write_text(f"params.checkpoint_root = '{checkpoints}'\n"
                                          "process.errorStrategy = 'ignore'\n")
    image = "dnalm:0.1.0" if engine == "docker" else str(tmp_path / "dnalm.sif")  # a .sif path: no pull first
    nextflow(root, "run", "probe.nf", "-profile", f"test,{engine},gpu", "-c", str(tmp_path / "site.config"),
             "--probe_image", image, ok=False)
    runs = {path.parent.name: path.read_text() for path in (root / "work").glob("*/*/.command.run")}
    assert len(runs) == 2
    commands = {name: next(line for line in text.splitlines() if re.search(rf"\b{engine} (run|exec)\b", line))
                for name, text in runs.items()}
    gpu = [c for c in commands.values() if ("--nv" if engine == "apptainer" else "--gpus all") in c]
    assert len(gpu) == 1, commands
    for command in commands.values():
        if engine == "docker":
            assert f"-v '{checkpoints}:{checkpoints}'" in command
            assert f"-e DNALM_CACHE_DIR='{checkpoints}/.cache'" in command
            assert '-e "CUDA_VISIBLE_DEVICES"' in command
        else:
            assert f"--bind '{checkpoints}'" in command and f"--env DNALM_CACHE_DIR='{checkpoints}/.cache'" in command
            assert "APPTAINERENV_CUDA_VISIBLE_DEVICES" in command
    assert "--ipc=host" in gpu[0] or engine == "apptainer"


def test_a_relative_checkpoint_root_is_refused_before_any_task(tmp_path):
    """Defect 1: a relative --checkpoint_root is a different folder in each task's work directory, so a killed
    pretraining restarted from step 0; it is now a one-line parameter error."""
    root = copy_pipeline(tmp_path / "pipeline")
    proc = nextflow(root, "run", "main.nf", "-stub", "-profile", "test", "--outdir", str(tmp_path / "r"),
                    "--checkpoint_root", "ckpt", ok=False)
    assert proc.returncode != 0
    assert re.search(r"--checkpoint_root.*must be an absolute path", proc.stdout + proc.stderr)
    assert not (root / "work").exists() or not list((root / "work").iterdir())


# Nextflow 25.10, where installed beside the current release under this name, runs its default (legacy) parser
NEXTFLOW_25 = shutil.which("nextflow-25.10.7")


@pytest.mark.parametrize("parser", ["v1", "25.10"])
def test_command_line_values_of_every_type_under_the_legacy_parser(parser, tmp_path):
    """The legacy parser (v1, the default of 25.10) types numbers and booleans itself (CmdRun.parseParamValue),
    where the strict one passes strings (the stub run above). Both validate against the schema and reach the
    workflow's decisions alike: a boolean that skips a step, a number in scientific notation, comma lists."""
    if parser == "25.10" and NEXTFLOW_25 is None:
        pytest.skip("nextflow-25.10.7 is not on PATH")
    root = copy_pipeline(tmp_path / "pipeline")
    nextflow(root, "run", "main.nf", "-stub", "-profile", "test", "--outdir", str(tmp_path / "results"),
             *TYPED_VALUES, "--skip_attention_motifs", "true", "--nextkmer_k", "2", "--kmer_vocabs", "kmer:3,kmer:5",
             env={} if parser == "25.10" else {"NXF_SYNTAX_PARSER": parser},
             binary=NEXTFLOW_25 if parser == "25.10" else None)
    names = [process(row) for row in trace(tmp_path / "results")]
    assert "DNALM_ATTENTION_MOTIFS" not in names and names.count("DNALM_KMER_VOCAB") == 3  # kmer:2 for TF-IDF
    assert names.count("DNALM_NEXTKMER_FINETUNE") == names.count("DNALM_PRETRAIN") == 3  # bpe_100 and two k-mer


EXT_PROBE = """
process DNALM_REPORT {
    output:
    stdout

    script:
    "echo \\"ARGS ${task.ext.args} CODE ${task.ext.dnalm_code}\\""
}

workflow {
    DNALM_REPORT().view()
}
"""


@pytest.mark.parametrize("parser", ["v2", "v1"])
def test_each_process_gets_its_own_ext_options_under_both_parsers(parser, tmp_path):
    """conf/modules.config's `ext` values reach the task they are for: under the legacy config parser a
    `process.ext.x` beside the selectors took every selector's `ext.args` (engine fact 30), which a `-stub`
    run never shows, since a stub renders no command."""
    root = copy_pipeline(tmp_path / "pipeline")
    (root / "ext_probe.nf").write_text(EXT_PROBE)
    out = nextflow(root, "run", "ext_probe.nf", "--outdir", str(tmp_path / "results"),
                   env={"NXF_SYNTAX_PARSER": parser}).stdout
    assert re.search(r"^ARGS --title 'dnalm report' CODE [0-9a-f]{32}$", out, re.M), out

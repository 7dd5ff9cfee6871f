"""The study in one MultiQC report: every step's `*_mqc.*` content in the order of the GROVER paper.

`dnalm report` renders it from a results directory without Nextflow; the workflow's MULTIQC step runs the
same command with the run's software versions and workflow summary. Pictures MultiQC cannot draw (UMAPs,
clustered heatmaps) are staged as image sections named for what they show (mqc.write_image); everything
numeric is native MultiQC content.
"""

from __future__ import annotations

import html
import json
import shutil
import subprocess
import sys
from pathlib import Path

from dnalm import __version__
from dnalm.core import mqc
from dnalm.core.errors import InputError
from dnalm.evaluation.selection import selection_note

CONFIG = Path(__file__).with_name("multiqc_config.yml")
#: Pictures shown as images, with how their section is named (from the file's name) and described:
#: UMAPs (of tokens and of genome windows), clustered heatmaps and dendrograms, and the next-k-mer plot
#: with its confidence bands.
IMAGES = {
    "*_umap.png": ("{} UMAP", "UMAP of the embeddings, one panel per colouring."),
    "self_similarity.png": ("Self-similarity heatmap",
                            "Self-similarity of each token (rows) in each layer (columns), clustered."),
    "*_dendrogram.png": ("{} dendrogram", "Average-linkage clustering of the token embeddings (cosine distance)."),
    "nextkmer_accuracy.png": ("Next-k-mer accuracy: fit and 95% band",
                              "Accuracy of the BPE models against merge cycles per k (± standard error), a fit "
                              "in log cycles with its 95% confidence band, and the references as lines "
                              "(GROVER Fig. 2a-c)."),
    "*_seeds.png": ("Fine-tuning: {} per seed",
                    "Test MCC of each model on the task, one point per seed, with the mean and its 95% interval; "
                    "baselines as lines (grey dashed: TF-IDF; brown: one-hot CNN, mean over seeds; purple: embedding "
                    "probe) and published "
                    "values of the same benchmark task as green dotted lines (the table above names the source)."),
    "mlm_llr.png": ("Variant effects: score distribution",
                    "Masked-LM log-likelihood ratio of ALT vs REF of every scored allele; left of 0 the model finds "
                    "ALT less likely than REF."),
    "*_mutations.png": ("Mutation map: {}",
                        "Every possible SNV of the region (rows: ALT base; columns: positions) scored by the "
                        "masked-LM, and by the classifier where one was given (red: ALT less likely, or lowers the "
                        "positive class; grey: REF)."),
    "*_motifs.png": ("Attention motifs: {}",
                     "Sequence logos of the motifs in the classifier's high-attention regions of positive sequences, "
                     "enriched against the background, with their closest JASPAR matrix."),
    "*_attention.png": ("Attention along the sequences: {}",
                        "Mean attention of the classifier's [CLS] (last layer) along the task's sequences, positives "
                        "and negatives apart; 1 is uniform."),
}


def find(root: Path, pattern: str) -> list[Path]:
    """Files named like `pattern` below `root`, following symbolic links (Nextflow stages inputs as links)."""
    import fnmatch
    import os

    return sorted(Path(d) / f for d, _, files in os.walk(root, followlinks=True)
                  for f in fnmatch.filter(files, pattern))


def intro(results: Path) -> str:
    """What the run was: genome, vocabularies, selected model, from the results themselves (found anywhere
    below `results`, so the workflow can stage them flat)."""
    parts = []
    stats = next(iter(find(results, "genome_stats.json")), None)
    if stats:
        genome = json.loads(stats.read_text())
        parts.append(f"Genome <b>{html.escape(genome['genome_id'])}</b>: {genome['genome']['bp_kept']:,} bp in "
                     "N-free runs.")
    vocab_stats = next(iter(find(results, "vocab_stats.json")), None)
    if vocab_stats:
        names = [v["vocabulary"] for v in json.loads(vocab_stats.read_text())]
        parts.append(f"Vocabularies: {html.escape(', '.join(names))}.")
    selected = next(iter(find(results, "selected.json")), None)
    if selected:
        s = json.loads(selected.read_text())
        parts.append(f"Selected by next-k-mer accuracy: <b>{html.escape(s['model'])}</b> (mean accuracy "
                     f"{s['mean_accuracy']:.4f} over k = {', '.join(map(str, s['k']))}).")
        note = selection_note(s) if "tied_with" in s else ""  # older selected.json files have no verdict
        if note:
            parts.append(f"<b>Warning:</b> {html.escape(note)}")
    return " ".join(parts) or "dnalm results."


def stage(results: Path, staging: Path, versions: Path | None, summary: Path | None) -> None:
    """Link every step's MultiQC content, picture and the provenance tables into one folder."""
    for path in find(results, "*_mqc.*"):
        target = staging / "content" / path.relative_to(results)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(path.resolve())
    images = [(p, pattern) for pattern in IMAGES for p in find(results, pattern)]
    stems = [p.stem for p, _ in images]
    for n, (path, pattern) in enumerate(images):  # a picture's section id is its file's name; repeats get a number
        section_id = path.stem if stems.count(path.stem) == 1 else f"{path.stem}_{n}"
        title, description = IMAGES[pattern]
        (staging / "images").mkdir(exist_ok=True)
        mqc.write_image(staging / "images" / f"{section_id}_mqc.yaml", section_id,
                        title.format(path.stem.rsplit("_", 1)[0]), description, path)
    _versions(staging / "software_versions_mqc.tsv", versions)
    if summary:
        if not summary.is_file():
            raise InputError(f"--workflow-summary {summary}: no such file")
        shutil.copy(summary, staging / "workflow_summary_mqc.yaml")


#: Study order of the sections: (pattern, place); a section takes the place of the first pattern it matches.
ORDER = (("dnalm_genome*", 0), ("dnalm_vocab_*", 1), ("dnalm_window_lengths", 2), ("dnalm_pretraining*", 3),
         ("dnalm_nextkmer*", 4), ("nextkmer_accuracy*", 5), ("dnalm_vocabulary_selection", 6),
         ("dnalm_finetune*", 7), ("dnalm_task_checks", 7), ("*_seeds*", 7), ("dnalm_embeddings", 8), ("dnalm_pc_correlations_*", 9),
         ("window_umap*", 16), ("*_umap*", 10), ("*_dendrogram*", 11), ("dnalm_self_similarity", 12),
         ("self_similarity*", 13), ("dnalm_mask_*", 14), ("dnalm_window_embeddings", 15),
         ("dnalm_variant_effects", 17), ("mlm_llr*", 18), ("dnalm_top_variants", 19), ("*_mutations*", 20),
         ("dnalm_motifs_*", 21), ("*_motifs*", 22), ("*_attention*", 23), ("dnalm_software_versions", 24),
         ("dnalm_workflow_summary", 25))


def section_ids(staging: Path) -> list[str]:
    """Every staged section's id, in the order of the study."""
    import fnmatch

    ids = []
    for path in sorted(staging.rglob("*_mqc.*")):
        if path.suffix == ".tsv":
            head = next((l for l in path.read_text().splitlines() if l.startswith("# id:")), None)
            ids.append(json.loads(head.split(":", 1)[1]) if head else path.stem.removesuffix("_mqc"))
        else:
            ids.append(json.loads(path.read_text()).get("id", path.stem.removesuffix("_mqc")))
    rank = {i: next((place for pattern, place in ORDER if fnmatch.fnmatch(i, pattern)), len(ORDER)) for i in ids}
    return sorted(dict.fromkeys(ids), key=lambda i: (rank[i], i))


def _versions(path: Path, versions: Path | None) -> None:
    """The versions topic (process, tool, version) where Nextflow gave one; else dnalm's own packages."""
    rows = []
    if versions:
        if not versions.is_file():
            raise InputError(f"--versions {versions}: no such file")
        for line in versions.read_text().splitlines():
            fields = line.split("\t")
            if len(fields) == 3:
                rows.append(fields)
    else:
        from importlib.metadata import PackageNotFoundError, version

        rows.append(["dnalm report", "dnalm", __version__])
        for package in ("torch", "transformers", "tokenizers", "deepspeed", "scikit-learn", "multiqc"):
            try:
                rows.append(["dnalm report", package, version(package)])
            except PackageNotFoundError:
                pass
    mqc.write_table(path, "dnalm_software_versions", "Software versions",
                    "Tools and versions of every step (Nextflow's versions topic).", ["Sample", "tool", "version"],
                    [[f"{p} {t}", t, v] for p, t, v in sorted(set(map(tuple, rows)))])


def report(results: Path, out: Path, *, versions: Path | None, summary: Path | None, title: str) -> Path:
    """Run MultiQC over the results with dnalm's config; a self-contained HTML and multiqc_data/."""
    results = Path(results)
    if not results.is_dir():
        raise InputError(f"--results {results}: no such directory")
    if not find(results, "*_mqc.*"):
        raise InputError(f"--results {results}: no MultiQC content (*_mqc.*) found; is it a dnalm results folder?")
    staging = out / ".staging"
    staging.mkdir()
    stage(results, staging, versions, summary)
    order = staging / "order.yml"  # JSON is YAML: this run's sections in study order, after dnalm's config
    order.write_text(json.dumps({"custom_content": {"order": section_ids(staging)}}))
    command = [sys.executable, "-m", "multiqc", str(staging), "--config", str(CONFIG), "--config", str(order),
               "--outdir", str(out),
               "--filename", "dnalm_report.html", "--title", title, "--comment", intro(results),
               "--no-version-check", "--force", "--quiet", "--no-ansi"]
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"multiqc failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    shutil.rmtree(staging)
    return out / "dnalm_report.html"

"""All fine-tuning results per task: models beside their baselines and published values, with honest spread.

Reads `finetune` outputs (one `seed<N>/metrics.json` per seed), `cnn-baseline` outputs (likewise),
`tfidf-baseline` and `embedding-probe` outputs (one `metrics.json`). Per task the report gives one table (every model and baseline:
mean, sd and 95 % interval over seeds; the published results of the same benchmark task, `published`) and
one figure (each model's seeds as points, the baselines and published values as lines), and says in words
whether each model beats the best baseline by a paired test over the seeds they share, or that there are
too few seeds to tell.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from dnalm.core import mqc
from dnalm.core.errors import InputError
from dnalm.core.logs import log
from dnalm.core.outputs import write_tsv
from dnalm.core.plotting import figure
from dnalm.evaluation.classification import SUMMARY_METRICS, seed_statistics
from dnalm.evaluation.published import PublishedResult, published_for

#: Result kinds that are baselines, not models under study (words for the verdicts): TF-IDF + random forest,
#: the one-hot CNN, and a frozen model's embedding probe (what fine-tuning adds over the embeddings).
BASELINE_KINDS = {"tfidf": "TF-IDF", "cnn": "CNN", "probe": "embedding probe"}
#: The published models the report shows beside a matching task: the DNABERT-2 paper's own model, its best
#: Nucleotide Transformer and the original DNABERT (the rest of the bundled table stays in the file).
SHOWN_PUBLISHED = ("DNABERT-2", "NT-2500M-multi", "DNABERT (6-mer)")
#: A paired test over fewer seeds than this says nothing worth a verdict.
MIN_PAIRED_SEEDS = 3
#: What a model must beat: the majority-class accuracy, by more than the accuracy's standard error.
BASELINE = ("accuracy_se", "majority_baseline")
COLUMNS = ["task", "model", "kind", "vocabulary", "seed", *SUMMARY_METRICS, *BASELINE, "test_samples"]
#: What a result says about its task rather than its model: the task's leaks, a score below chance, and the
#: benchmark task it is (for its published results).
CHECKS = ("task_leaks", "below_chance", "benchmark", "benchmark_task")
#: The leaks of task.json shown in the report: (column title, what it counts), most misleading first.
LEAK_COLUMNS = {"exact_duplicates": ("seen before", "dev/test rows whose sequence is in an earlier split"),
                "reverse_complement_duplicates": ("seen reversed", "… whose reverse complement is"),
                "paired_across_splits": ("twin seen", "… whose twin (group, shuffle) is"),
                "conflicting_labels": ("two labels", "rows whose sequence carries another label too"),
                "duplicates_within_splits": ("repeats", "rows repeated within their split")}


def read_runs(dirs: list[Path]) -> list[dict[str, Any]]:
    """One row per task x model x seed."""
    rows = []
    for d in map(Path, dirs):
        files = sorted(d.glob("seed*/metrics.json")) or [d / "metrics.json"]
        for f in files:
            try:
                m = json.loads(f.read_text())
            except (OSError, ValueError) as exc:
                raise InputError(f"--results {d}: no readable metrics.json ({exc})") from None
            if "mcc" not in m:
                raise InputError(f"--results {d}: not a fine-tuning or baseline result of a labelled task")
            rows.append({**{c: m.get(c) for c in COLUMNS}, **{c: m.get(c) for c in CHECKS}})
    return sorted(rows, key=lambda r: (r["task"], r["kind"] in BASELINE_KINDS, r["model"], r["seed"] or 0))


def summarize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every task x model over its seeds: per metric the mean, sd and 95 % interval (`seed_statistics`), and
    its MCC by seed (`mcc_by_seed`) for the figure and the paired tests."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["task"], r["model"], r["kind"]), []).append(r)
    out = []
    for (task, model, kind), runs in groups.items():
        row: dict[str, Any] = {"task": task, "model": model, "kind": kind, "seeds": len(runs),
                               "benchmark": runs[0]["benchmark"], "benchmark_task": runs[0]["benchmark_task"]}
        for name in SUMMARY_METRICS:
            stats = seed_statistics([r[name] for r in runs])
            row[name], row[f"{name}_sd"] = stats["mean"], stats["sd"]
            row[f"{name}_ci95_low"], row[f"{name}_ci95_high"] = stats["ci95"] or (None, None)
        for name in BASELINE:
            row[name] = float(np.mean([r[name] for r in runs]))
        row["mcc_by_seed"] = {r["seed"]: r["mcc"] for r in runs}
        out.append(row)
    return out


def _verdict(summary: list[dict[str, Any]]) -> str:
    return mqc.accuracy_verdict(summary, "task", _label, {"majority_baseline": "majority-class accuracy"},
                                BASELINE_KINDS)


def _label(row: dict[str, Any]) -> str:
    return f"{row['model']} on {row['task']}"


def paired_test(model: dict[Any, float], baseline: dict[Any, float]) -> dict[str, Any]:
    """A model's MCC against a baseline's over the seeds both ran: mean difference and the two-sided p of a
    paired t-test (None below MIN_PAIRED_SEEDS shared seeds). Seeds pair runs that saw the same shuffles."""
    from scipy import stats

    shared = sorted(set(model) & set(baseline))
    diffs = np.array([model[s] - baseline[s] for s in shared])
    result: dict[str, Any] = {"seeds": len(shared), "difference": float(diffs.mean()) if shared else None,
                              "p_value": None}
    if len(shared) >= MIN_PAIRED_SEEDS:
        if np.ptp(diffs) == 0:  # the same difference every time: no spread to test against
            result["p_value"] = 1.0 if diffs[0] == 0 else 0.0
        else:
            result["p_value"] = float(stats.ttest_rel([model[s] for s in shared], [baseline[s] for s in shared]).pvalue)
    return result


def against_best_baseline(summary: list[dict[str, Any]]) -> str:
    """One task's verdict in words: each model against the baseline of best mean MCC, by a paired test."""
    baselines = [r for r in summary if r["kind"] in BASELINE_KINDS]
    models = [r for r in summary if r["kind"] not in BASELINE_KINDS]
    if not baselines or not models:
        return "" if not models else "No baseline ran on this task."
    best = max(baselines, key=lambda r: r["mcc"])
    lines = []
    for r in models:
        test = paired_test(r["mcc_by_seed"], best["mcc_by_seed"])
        head = f"{r['model']} MCC {r['mcc']:.3f} vs the best baseline, {best['model']}, {best['mcc']:.3f}"
        if test["p_value"] is None:
            lines.append(f"{head}: {test['seeds']} shared seed(s) are too few to tell (a paired test needs "
                         f"{MIN_PAIRED_SEEDS}; run both with the same --finetune_seeds).")
        else:
            word = ("higher" if test["difference"] > 0 else "lower") if test["p_value"] < 0.05 else \
                "not different at p < 0.05"
            lines.append(f"{head}: {word} (paired t-test over {test['seeds']} seeds, mean difference "
                         f"{test['difference']:+.3f}, p = {test['p_value']:.3g}).")
    return " ".join(lines)


def shown_published(row: dict[str, Any]) -> list[PublishedResult]:
    """The published results shown beside a task (SHOWN_PUBLISHED models), none for an unknown task."""
    shown = [p for p in published_for(row["benchmark"], row["benchmark_task"]) if p.model in SHOWN_PUBLISHED]
    return sorted(shown, key=lambda p: SHOWN_PUBLISHED.index(p.model))


def plot_task(summary: list[dict[str, Any]], published: list[PublishedResult], task: str, path: Path) -> None:
    """Each model's test MCC per seed (points; the mean and 95 % interval beside them), baselines as lines
    (their mean over seeds) and published values as dotted lines, named in a legend beside the axes."""
    models = [r for r in summary if r["kind"] not in BASELINE_KINDS]
    baselines = [r for r in summary if r["kind"] in BASELINE_KINDS]
    styles = {"tfidf": ("tab:grey", "--"), "cnn": ("tab:brown", "-"), "probe": ("tab:purple", "-.")}
    greens = ["#1b7837", "#5aae61", "#a6dba0"]
    with figure(path, figsize=(5.6 + 0.7 * len(models), 3.8), tight_bbox=True) as (_fig, ax):
        ax.axhline(0, color="black", linewidth=0.5)
        for x, r in enumerate(models):
            seeds = list(r["mcc_by_seed"].values())
            ax.scatter(np.full(len(seeds), x - 0.1), seeds, s=20, color="tab:blue", zorder=3,
                       label="model: one point per seed" if x == 0 else None)
            if r["mcc_ci95_low"] is not None:
                ax.errorbar(x + 0.1, r["mcc"], yerr=[[r["mcc"] - r["mcc_ci95_low"]], [r["mcc_ci95_high"] - r["mcc"]]],
                            fmt="s", color="black", markersize=4, capsize=3, zorder=3,
                            label="model: mean, 95% interval" if x == 0 else None)
        for r in baselines:
            colour, style = styles.get(r["kind"], ("tab:grey", "--"))
            ax.axhline(r["mcc"], color=colour, linestyle=style, linewidth=1.2,
                       label=f"{r['model']} (baseline{', mean of %d seeds' % r['seeds'] if r['seeds'] > 1 else ''})")
        for p, colour in zip((p for p in published if p.metric == "mcc"), greens):
            ax.axhline(p.value, color=colour, linestyle=":", linewidth=1.6, label=f"{p.model} (published)")
        ax.set_xticks(range(len(models)), [r["model"] for r in models], rotation=30, ha="right", fontsize=8)
        ax.set_xlim(-0.6, max(len(models), 1) - 0.4)
        ax.set(ylabel="test MCC", title=task)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1), frameon=False)


def write_task_table(summary: list[dict[str, Any]], published: list[PublishedResult], task: str, stem: str,
                     path: Path) -> None:
    """One task's MultiQC table: models and baselines (mean, sd, 95 % interval over seeds) and the published
    values of the same benchmark task in the paper's metric, with the verdict and the source in words."""
    rows = [[f"{task} {r['model']}", r["model"], r["kind"], r["seeds"], r["mcc"], "", "", _or_blank(r["mcc_sd"]),
             _or_blank(r["mcc_ci95_low"]), _or_blank(r["mcc_ci95_high"]), r["f1"]] for r in summary]
    rows += [[f"{task} {p.model} (published)", p.model, "published", "", "", p.value, p.metric.upper(), "", "", "", ""]
             for p in published]
    source = ""
    if published:
        first = published[0]
        source = (f" Published: {', '.join(p.model for p in published)} on {first.benchmark} {first.task}, "
                  f"{first.metric.upper()} as the paper reports it ({first.source}); fine-tuned by the paper's "
                  "authors with their settings, not run here.")
    header = ["Sample", "model", "kind", "seeds", "MCC", "published", "published metric", "MCC sd", "MCC 95% low",
              "MCC 95% high", "F1"]
    mqc.write_table(path, f"dnalm_finetune_{stem}", f"Fine-tuning: {task}",
                    f"Test MCC on {task}: mean over seeds, sd and 95% interval of the mean (Student's t; none for "
                    "one seed); baselines: tfidf_* (TF-IDF + random forest), cnn_onehot (one-hot CNN) and probe_* (a "
                    "logistic regression on the frozen model's embeddings). "
                    + against_best_baseline(summary) + source,
                    header, rows, {"MCC": mqc.MCC, "MCC 95% low": mqc.MCC, "MCC 95% high": mqc.MCC,
                                   "F1": mqc.SCORE, "published": mqc.MCC})


def _or_blank(value: float | None) -> float | str:
    return "" if value is None else value


def write_task_checks(rows: list[dict[str, Any]], path: Path) -> None:
    """One row per task: its leaks (from task.json, via each result) and the results below chance, so a
    reader sees beside the scores whether the split lets a model score by memory, or scores it against
    the wrong rule."""
    by_task: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_task.setdefault(r["task"], []).append(r)
    table = []
    for task, runs in sorted(by_task.items()):
        leaks = next((r["task_leaks"] for r in runs if r["task_leaks"] is not None), None)
        below = sorted({r["model"] for r in runs if r["below_chance"]})
        table.append([task, *[(leaks or {}).get(kind, "n/a") for kind in LEAK_COLUMNS], ", ".join(below) or "none"])
    titles = {title: {"title": title, "description": what} for title, what in LEAK_COLUMNS.values()}
    mqc.write_table(path, "dnalm_task_checks", "Fine-tuning tasks: leak check",
                    "Rows of each task that can make a test score mislead (n/a: a folder without task.json). "
                    + "; ".join(f"{title}: {what}" for title, what in LEAK_COLUMNS.values()) + ". Rows seen in "
                    "an earlier split inflate scores (task-import --dedup removes them). A result below chance "
                    "means a split problem until shown otherwise.",
                    ["Sample", *titles, "below chance"], table,
                    {**titles, "below chance": {"title": "below chance", "description": "results below chance"}})


def finetune_report(result_dirs: list[Path], out: Path) -> list[dict[str, Any]]:
    """Write finetune_results.tsv (tidy), finetune_summary.tsv, per task a figure and a table, and MultiQC content."""
    rows = read_runs(result_dirs)
    summary = summarize(rows)
    write_tsv(out / "finetune_results.tsv", COLUMNS, [[r[c] for c in COLUMNS] for r in rows])
    header = [h for h in summary[0] if h != "mcc_by_seed"]
    write_tsv(out / "finetune_summary.tsv", header, [[r[h] for h in header] for r in summary])
    tasks = sorted({r["task"] for r in summary})
    for task in tasks:
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", task)  # imported tasks keep their benchmark path: GUE/tf/0
        of_task = [r for r in summary if r["task"] == task]
        published = shown_published(of_task[0])
        plot_task(of_task, published, task, out / f"{stem}_seeds.png")
        write_task_table(of_task, published, task, stem, out / f"finetune_{stem}_mqc.tsv")
    scores = [*SUMMARY_METRICS, *BASELINE]
    mqc.write_table(out / "finetune_mqc.tsv", "dnalm_finetune", "Fine-tuning tasks",
                    "Test metrics per task and model, mean over seeds. " + _verdict(summary),
                    ["Sample", "task", "model", "kind", "seeds", *scores],
                    [[f"{r['task']} {r['model']}", r["task"], r["model"], r["kind"], r["seeds"],
                      *[r[m] for m in scores]] for r in summary],
                    {m: mqc.MCC if m == "mcc" else mqc.SCORE for m in scores})
    write_task_checks(rows, out / "task_checks_mqc.tsv")
    log.info("%d results of %d models on %d tasks", len(rows), len({r['model'] for r in rows}), len(tasks))
    return summary

"""All fine-tuning results in one table and one chart per task: models against TF-IDF baselines (GROVER Fig. 6).

Reads `finetune` outputs (one `seed<N>/metrics.json` per seed) and `tfidf-baseline` outputs (one
`metrics.json`), so the table shows how much a language model adds over token frequencies.
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
from dnalm.evaluation.classification import SUMMARY_METRICS

#: Result kinds that are baselines, not models under study: TF-IDF + random forest, the one-hot CNN.
BASELINE_KINDS = ("tfidf", "cnn")
#: What a model must beat: the majority-class accuracy, by more than the accuracy's standard error.
BASELINE = ("accuracy_se", "majority_baseline")
COLUMNS = ["task", "model", "kind", "vocabulary", "seed", *SUMMARY_METRICS, *BASELINE, "test_samples"]
#: What a result says about its task rather than its model: the task's leaks, and a score below chance.
CHECKS = ("task_leaks", "below_chance")
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
    """Mean and sd over seeds of every task x model."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["task"], r["model"], r["kind"]), []).append(r)
    out = []
    for (task, model, kind), runs in groups.items():
        row: dict[str, Any] = {"task": task, "model": model, "kind": kind, "seeds": len(runs)}
        for name in SUMMARY_METRICS:
            values = np.array([r[name] for r in runs], dtype=float)
            row[name] = float(np.mean(values))
            row[f"{name}_sd"] = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
        for name in BASELINE:
            row[name] = float(np.mean([r[name] for r in runs]))
        out.append(row)
    return out


def _verdict(summary: list[dict[str, Any]]) -> str:
    return mqc.accuracy_verdict(summary, "task", _label, {"majority_baseline": "majority-class accuracy"})


def _label(row: dict[str, Any]) -> str:
    return f"{row['model']} on {row['task']}"


def plot_task(summary: list[dict[str, Any]], task: str, path: Path) -> None:
    """MCC of every model (mean ± sd over seeds), TF-IDF baselines in grey."""
    rows = [r for r in summary if r["task"] == task]
    colours = ["tab:grey" if r["kind"] in BASELINE_KINDS else "tab:blue" for r in rows]
    with figure(path, figsize=(1.2 + 0.6 * len(rows), 3.4)) as (_fig, ax):
        ax.bar(range(len(rows)), [r["mcc"] for r in rows], yerr=[r["mcc_sd"] for r in rows], color=colours,
               capsize=3)
        ax.set_xticks(range(len(rows)), [r["model"] for r in rows], rotation=45, ha="right", fontsize=8)
        ax.set(ylabel="test MCC", title=task)
        ax.axhline(0, color="black", linewidth=0.6)


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
    """Write finetune_results.tsv (tidy), finetune_summary.tsv, a bar chart per task and MultiQC content."""
    rows = read_runs(result_dirs)
    summary = summarize(rows)
    write_tsv(out / "finetune_results.tsv", COLUMNS, [[r[c] for c in COLUMNS] for r in rows])
    header = list(summary[0])
    write_tsv(out / "finetune_summary.tsv", header, [[r[h] for h in header] for r in summary])
    tasks = sorted({r["task"] for r in summary})
    for task in tasks:
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", task)  # imported tasks keep their benchmark path: GUE/tf/0
        plot_task(summary, task, out / f"{stem}_mcc.png")
        mqc.write_plot(out / f"finetune_{stem}_mqc.yaml", f"dnalm_finetune_{stem}", f"Fine-tuning: {task}",
                       f"Test MCC on {task} (mean over seeds; 0 is chance); tfidf_* are TF-IDF + random-forest "
                       "baselines. " + _verdict([r for r in summary if r["task"] == task]),
                       "bargraph", {r["model"]: {"MCC": r["mcc"]} for r in summary if r["task"] == task},
                       cpswitch=False, ylab="MCC", ymin=-1, ymax=1)
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

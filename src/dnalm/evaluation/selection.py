"""Choose the vocabulary: next-k-mer accuracy of every pretrained model, against the references.

Rule: among the pretrained dnalm models (those of this run, which the workflow names), the one with the
highest mean top-1 next-k-mer accuracy over all k wins; on a tie the smaller vocabulary (fewer BPE merge
cycles) wins, as the simpler one. Every candidate must have a result for every k, so the means are
comparable. External models (also a dnalm model of an earlier run) and TF-IDF baselines are references: they
appear in the table and plot, never as the choice (GROVER Fig. 2).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from dnalm.core import mqc
from dnalm.core.errors import InputError
from dnalm.core.logs import log
from dnalm.core.outputs import write_json, write_tsv
from dnalm.core.plotting import figure, pyplot

#: Line styles of the references in the selection plot, by kind of model.
REFERENCE_STYLES = {"dnalm": "--", "external": ":", "tfidf": "-."}

COLUMNS = ["model", "kind", "vocabulary", "vocab_kind", "merges", "vocab_size", "k", "accuracy", "accuracy_se",
           "top5_accuracy", "macro_f1", "random_baseline", "majority_baseline", "test_samples"]
RULE = ("highest mean top-1 next-k-mer accuracy over all k among the pretrained dnalm models; "
        "ties go to the smaller vocabulary (fewer merge cycles)")


def read_results(dirs: list[Path]) -> list[dict[str, Any]]:
    """The metrics.json of every result directory, checked to be next-k-mer results."""
    rows = []
    for d in dirs:
        try:
            row = json.loads((Path(d) / "metrics.json").read_text())
        except (OSError, ValueError) as exc:
            raise InputError(f"--results {d}: no readable metrics.json ({exc})") from None
        if not str(row.get("task", "")).startswith("next") or row.get("k") is None:
            raise InputError(f"--results {d}: not a next-k-mer result (task {row.get('task')!r})")
        rows.append(row)
    return sorted(rows, key=lambda r: (r["kind"], r["vocab_size"], r["model"], r["k"]))


def is_candidate(row: dict[str, Any], candidates: list[str] | None) -> bool:
    """A result the choice is made among: a dnalm model's, and one of `candidates` where they are named (a
    dnalm model from an earlier run, given as a reference, is not this run's vocabulary)."""
    return row["kind"] == "dnalm" and (candidates is None or row["model"] in candidates)


def rank_candidates(rows: list[dict[str, Any]], candidates: list[str] | None = None) -> list[dict[str, Any]]:
    """Pretrained dnalm models by mean accuracy over k (best first), with the tie rule applied."""
    ks = sorted({r["k"] for r in rows if is_candidate(r, candidates)})
    by_model: dict[str, dict[int, dict]] = {}
    for r in rows:
        if is_candidate(r, candidates):
            if r["k"] in by_model.setdefault(r["model"], {}):
                raise InputError(f"--results: two results for model {r['model']} and k={r['k']}")
            by_model[r["model"]][r["k"]] = r
    if not by_model:
        raise InputError("--results: no result of a pretrained dnalm model to choose from")
    absent = sorted(set(candidates or []) - set(by_model))
    if absent:
        raise InputError(f"--candidates: no next-k-mer result for {', '.join(absent)}")
    ranking = []
    for model, per_k in by_model.items():
        missing = [k for k in ks if k not in per_k]
        if missing:
            raise InputError(f"--results: model {model} has no result for k={','.join(map(str, missing))}")
        first = next(iter(per_k.values()))
        ranking.append({"model": model, "vocabulary": first["vocabulary"], "vocab_kind": first["vocab_kind"],
                        "merges": first.get("merges"), "vocab_size": first["vocab_size"],
                        "mean_accuracy": float(np.mean([per_k[k]["accuracy"] for k in ks])),
                        **{f"accuracy_k{k}": per_k[k]["accuracy"] for k in ks}})
    ranking.sort(key=lambda c: (-round(c["mean_accuracy"], 12), c["vocab_size"], c["model"]))
    return ranking


def fit_band(x: np.ndarray, y: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Least-squares polynomial fit in log10(cycles) (quadratic from 4 points, else linear) on `grid`, and
    the half-width of its 95% confidence band (None without residual degrees of freedom)."""
    from scipy import stats

    degree = 2 if len(x) >= 4 else 1
    design = np.vander(np.log10(x), degree + 1)
    at = np.vander(np.log10(grid), degree + 1)
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    dof = len(x) - degree - 1
    if dof < 1:
        return at @ beta, None
    sigma2 = float(np.sum((y - design @ beta) ** 2) / dof)
    cov = sigma2 * np.linalg.pinv(design.T @ design)
    half = stats.t.ppf(0.975, dof) * np.sqrt(np.einsum("ij,jk,ik->i", at, cov, at))
    return at @ beta, half


def plot_selection(rows: list[dict[str, Any]], selected: str, path: Path) -> None:
    """GROVER Fig. 2a-c: accuracy against BPE merge cycles per k, fit and band, references as lines."""
    ks = sorted({r["k"] for r in rows})
    references = sorted({r["model"] for r in rows if not _is_bpe(r)})
    palette = [pyplot().get_cmap("tab10")(i) for i in (1, 2, 4, 5, 6, 7, 8, 9)]  # blue: BPE, red: selected
    colours = {m: palette[i % len(palette)] for i, m in enumerate(references)}
    with figure(path, 1, len(ks), figsize=(3.6 * len(ks), 3.4), squeeze=False, tight_bbox=True) as (fig, axes):
        for ax, k in zip(axes[0], ks):
            at_k = [r for r in rows if r["k"] == k]
            _plot_bpe(ax, sorted((r for r in at_k if _is_bpe(r)), key=lambda r: r["merges"]), selected)
            for r in at_k:
                if not _is_bpe(r):
                    ax.axhline(r["accuracy"], linestyle=REFERENCE_STYLES.get(r["kind"], "-"), linewidth=1,
                               color="tab:red" if r["model"] == selected else colours[r["model"]], label=r["model"])
            ax.axhline(at_k[0]["random_baseline"], color="black", linewidth=0.6, label="random (1/4^k)")
            ax.set(title=f"next-{k}-mer", xlabel="BPE merge cycles", ylabel="test accuracy")
        handles, labels = axes[0][-1].get_legend_handles_labels()
        fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7)


def _is_bpe(row: dict[str, Any]) -> bool:
    return row["kind"] == "dnalm" and row["vocab_kind"] == "bpe"


def _plot_bpe(ax: Any, bpe: list[dict[str, Any]], selected: str) -> None:
    """The BPE models of one k: points (± SE), a fit in log cycles with its band, the selected one starred."""
    from matplotlib.ticker import NullLocator

    if not bpe:
        return
    x = np.array([r["merges"] for r in bpe], dtype=float)
    y = np.array([r["accuracy"] for r in bpe])
    ax.errorbar(x, y, yerr=[r["accuracy_se"] for r in bpe], fmt="o", color="tab:blue", label="BPE models (± SE)")
    if len(x) >= 2:
        grid = np.geomspace(x.min(), x.max(), 100)
        fit, half = fit_band(x, y, grid)
        ax.plot(grid, fit, color="tab:blue")
        if half is not None:  # an accuracy lies in [0, 1]: the band of a straight-line fit does not
            ax.fill_between(grid, np.clip(fit - half, 0, 1), np.clip(fit + half, 0, 1), color="tab:blue", alpha=0.2)
    ax.set_xscale("log")
    ax.set_xticks(x, [f"{int(v)}" for v in x], minor=False)
    ax.xaxis.set_minor_locator(NullLocator())
    for r in bpe:
        if r["model"] == selected:
            ax.plot(r["merges"], r["accuracy"], marker="*", markersize=16, color="tab:red", label="selected")


def select_vocabulary(result_dirs: list[Path], out: Path, candidates: list[str] | None = None) -> dict[str, Any]:
    """Gather next-k-mer results, rank the pretrained models (`candidates` only, where named), plot and write
    `selected.json`."""
    rows = read_results(result_dirs)
    ranking = rank_candidates(rows, candidates)
    best = ranking[0]
    write_tsv(out / "nextkmer_results.tsv", COLUMNS, [[r.get(c) for c in COLUMNS] for r in rows])
    header = list(ranking[0])
    write_tsv(out / "ranking.tsv", ["rank"] + header, [[i + 1] + [c[h] for h in header] for i, c in enumerate(ranking)])
    ks = sorted({r["k"] for r in rows if is_candidate(r, candidates)})
    selected = {"model": best["model"], "vocabulary": best["vocabulary"], "vocab_kind": best["vocab_kind"],
                "merges": best["merges"], "vocab_size": best["vocab_size"], "mean_accuracy": best["mean_accuracy"],
                "k": ks, "rule": RULE, "candidates": [c["model"] for c in ranking],
                "tied_with": tied_with(ranking), "above_majority_baseline": above_majority(rows)}
    write_json(out / "selected.json", selected)
    (out / "selected_model.txt").write_text(best["model"] + "\n")  # for the workflow and shell scripts
    plot_selection(rows, best["model"], out / "nextkmer_accuracy.png")
    _write_mqc(out, rows, ranking, selected)
    log.info("selected %s (mean next-k-mer accuracy %.4f over k=%s) among %d models", best["model"],
             best["mean_accuracy"], ",".join(map(str, ks)), len(ranking))
    return selected


def tied_with(ranking: list[dict[str, Any]]) -> list[str]:
    """The candidates whose mean accuracy equals the winner's: the choice among them is the tie rule's."""
    best = round(ranking[0]["mean_accuracy"], 12)
    return [c["model"] for c in ranking[1:] if round(c["mean_accuracy"], 12) == best]


def above_majority(rows: list[dict[str, Any]]) -> list[str]:
    """The pretrained models that beat the majority-class baseline by more than their standard error at
    some k; when none does, the selection reflects noise, not the vocabularies."""
    return sorted({r["model"] for r in rows if r["kind"] == "dnalm"
                   and r["accuracy"] - r["majority_baseline"] > r["accuracy_se"]})


def _verdict(rows: list[dict[str, Any]]) -> str:
    return mqc.accuracy_verdict(rows, "k", _label, {"majority_baseline": "majority-class baseline",
                                                    "random_baseline": "random next-k-mer (1/4^k)"})


def _label(row: dict[str, Any]) -> str:
    return f"{row['model']} k={row['k']}"


def selection_note(selected: dict[str, Any]) -> str:
    """Warnings about a selection that the numbers do not support ("" when they do)."""
    notes = []
    if not selected["above_majority_baseline"]:
        notes.append("No model beats the majority-class baseline by more than its standard error at any k: "
                     "the selection reflects noise, not the vocabularies.")
    if selected["tied_with"]:
        notes.append(f"{selected['model']} ties with {', '.join(selected['tied_with'])} on mean accuracy: it was "
                     "chosen by the tie rule (smaller vocabulary), not by accuracy.")
    return " ".join(notes)


def _write_mqc(out: Path, rows: list[dict[str, Any]], ranking: list[dict[str, Any]], selected: dict[str, Any]) -> None:
    scores = ["accuracy", "accuracy_se", "top5_accuracy", "macro_f1", "random_baseline", "majority_baseline"]
    mqc.write_table(out / "nextkmer_mqc.tsv", "dnalm_nextkmer", "Next-k-mer prediction",
                    "Test accuracy (± standard error) of every model and baseline per k; random = 1/4^k. "
                    + _verdict(rows),
                    ["Sample", "model", "kind", "k", *scores],
                    [[f"{r['model']} k={r['k']}", r["model"], r["kind"], r["k"], *[r[c] for c in scores]]
                     for r in rows], {c: mqc.SCORE for c in scores})
    curves: dict[str, dict[int, float]] = {}
    for r in rows:
        if r["kind"] == "dnalm" and r["vocab_kind"] == "bpe":
            curves.setdefault(f"k={r['k']}", {})[r["merges"]] = r["accuracy"]
    if curves:
        mqc.write_plot(out / "nextkmer_cycles_mqc.yaml", "dnalm_nextkmer_cycles", "Next-k-mer accuracy by BPE cycles",
                       "Test accuracy of the BPE models against their merge cycles, one line per k.", "linegraph",
                       curves, xlab="BPE merge cycles", ylab="accuracy", logswitch=True, ymin=0)
    mqc.write_table(out / "vocabulary_selection_mqc.tsv", "dnalm_vocabulary_selection", "Vocabulary selection",
                    " ".join(filter(None, [f"Chosen: {selected['model']}. Rule: {RULE}.", selection_note(selected)])),
                    ["Sample", "rank", "vocabulary", "vocab_size", "mean_accuracy"],
                    [[c["model"], i + 1, c["vocabulary"], c["vocab_size"], c["mean_accuracy"]]
                     for i, c in enumerate(ranking)], {"mean_accuracy": mqc.SCORE})

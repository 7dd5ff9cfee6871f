"""Published results beside ours: per-task numbers that papers report for benchmark tasks dnalm can import.

A researcher who fine-tunes on GUE asks at once how the result compares with DNABERT-2, the Nucleotide
Transformer and DNABERT as published, and papers mix their metrics up (DNABERT_2 issue #127: a table
labelled MCC that holds F1). So the report takes these numbers from one cited table, in the metric the paper
used, and shows nothing where no citable value exists.

`published_results.tsv` (one row per benchmark, task, model): GUE's 28 tasks for the 10 models of the
DNABERT-2 paper's all-models table (Zhou et al., ICLR 2024; arXiv 2306.15006 v1 Table 4, the same table as
v2's appendix Table 6), values as printed (x100), MCC for every task but Covid variant classification (F1,
the paper's metric table). Read from the authors' rendering of that table in their repository
(MAGICS-LAB/DNABERT_2 `figures/Performance.png`, commit 2c67d58) and checked against a second reading and
the text copies tests/test_published.py names. Per issue #127 (first author, 2024-12-14) this table is MCC
as labelled; v2's Table 9 is the one that holds F1.

A task is matched by its benchmark path: GUE's folders are `<benchmark>/<group>/<task>` (`GUE/tf/0`), so a
folder with an ancestor named as a benchmark of the table, at a path that is one of its tasks, is that task
(`benchmark_task`); `task-import` records the match in task.json, so a renamed imported task keeps it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

TABLE = Path(__file__).with_name("published_results.tsv")


@dataclass(frozen=True)
class PublishedResult:
    benchmark: str
    task: str
    model: str
    metric: str  # a metrics.json field: mcc or f1
    value: float  # on dnalm's scale (MCC in [-1, 1]): the printed value / 100
    source: str


@lru_cache(maxsize=1)
def published_results() -> tuple[PublishedResult, ...]:
    """Every row of the bundled table."""
    with open(TABLE, newline="") as fh:
        return tuple(PublishedResult(r["benchmark"], r["task"], r["model"], r["metric"], float(r["value"]) / 100,
                                     r["source"]) for r in csv.DictReader(fh, delimiter="\t"))


def benchmark_task(folder: Path) -> tuple[str, str] | None:
    """(benchmark, task) of a task folder the table knows (`GUE/prom/prom_core_tata` -> ("GUE",
    "prom/prom_core_tata")), found through its real path (a staged link resolves to the data); None else."""
    known = {(r.benchmark.lower(), r.task): (r.benchmark, r.task) for r in published_results()}
    parts = Path(folder).resolve().parts
    for i in range(len(parts) - 1, 0, -1):
        match = known.get((parts[i - 1].lower(), "/".join(parts[i:])))
        if match:
            return match
    return None


def published_for(benchmark: str | None, task: str | None) -> list[PublishedResult]:
    """The published results of one benchmark task, in the table's order (none for an unknown task)."""
    return [r for r in published_results() if (r.benchmark, r.task) == (benchmark, task)]

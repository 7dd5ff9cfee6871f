"""MultiQC custom content: every step writes `*_mqc.tsv` / `*_mqc.yaml` next to its outputs.

Numeric results go in as native MultiQC tables and plots (sortable, hoverable); PNGs only for pictures
MultiQC cannot draw. The YAML files are written as JSON, which is valid YAML and needs no extra package.

This module is the one writer of that content, so what MultiQC 1.35 would get wrong is settled here for
every step: it rounds table floats to one decimal (0.031 reads 0.0) unless a column has a format, parses
version strings as numbers (1.35 reads 1.4) unless they are quoted, keeps line-graph x values given as
JSON object keys as strings (step 1, 10, 2), hides line-graph legends, and puts names and descriptions
into the page as HTML. Names and descriptions here are plain text: they are escaped on the way out.
"""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path
from typing import Any, Callable, Sequence

from dnalm.core.outputs import tsv_cell

#: Column formats callers pass for their columns (MultiQC header options: `format`, `min`, `max`, ...).
#: Scores within [0, 1] (accuracies, F1, AUCs, baselines): 3 significant digits, bars from 0 to 1.
SCORE = {"format": "{:#.3g}", "min": 0, "max": 1}
#: Matthews correlation: 3 significant digits, bars from -1 to 1 centred on 0, so a negative MCC is short.
MCC = {"format": "{:#.3g}", "min": -1, "max": 1, "bars_zero_centrepoint": True}
#: A share shown as a percentage (the paper's MEV of 3.5 %).
PERCENT = {"format": "{:.1%}", "min": 0, "max": 1}


def write_table(path: Path, section_id: str, section_name: str, description: str, header: list[str],
                rows: list[list[Any]], columns: dict[str, dict[str, Any]] | None = None) -> None:
    """A MultiQC table: first column names the row (sample), the others are its values.

    `columns` gives a column's MultiQC header options (e.g. SCORE); any other column of floats gets 3
    significant digits (no decimals from 1000 on), so no value is rounded away. Text cells are quoted, which
    keeps MultiQC from reading a version such as 1.10 as the number 1.1."""
    q = json.dumps  # a JSON string is a valid YAML scalar, whatever quotes or colons the text holds
    columns = columns or {}
    headers = {h: {"title": h, **(columns.get(h) or _default_format([r[i] for r in rows]))}
               for i, h in enumerate(header) if i > 0}
    lines = [
        f"# id: {q(section_id)}",
        f"# section_name: {q(html.escape(section_name))}",
        f"# description: {q(html.escape(description))}",
        "# plot_type: 'table'",
        "# pconfig:",
        f"#     id: {q(section_id + '_table')}",
        f"#     title: {q(html.escape(section_name))}",
        f"# headers: {q(headers)}",
        "\t".join(header),
    ]
    lines += ["\t".join(_cell(v) for v in row) for row in rows]
    Path(path).write_text("\n".join(lines) + "\n")


def _default_format(values: list[Any]) -> dict[str, Any]:
    floats = [abs(v) for v in values if isinstance(v, float) and math.isfinite(v)]
    if not floats:
        return {}
    return {"format": "{:,.0f}" if max(floats) >= 1000 else "{:.3g}"}


def _cell(value: Any) -> str:
    """A table cell as in every TSV (`tsv_cell`), text escaped and quoted (so MultiQC keeps it as text)."""
    return f'"{html.escape(value)}"' if isinstance(value, str) else tsv_cell(value)


def write_plot(path: Path, section_id: str, section_name: str, description: str, plot_type: str,
               data: dict[str, dict[Any, float]], **pconfig: Any) -> None:
    """A MultiQC `bargraph`, `linegraph` or `heatmap` from {sample: {x or category: value}}.

    A line graph's series go in as [x, y] pairs in increasing numeric x, with a legend: MultiQC keeps
    pairs as given, where it would keep JSON object keys as strings in string order."""
    if plot_type == "linegraph":
        data = {name: sorted([_number(x), y] for x, y in series.items()) for name, series in data.items()}
        pconfig = {"showlegend": True, **pconfig}
    if plot_type == "bargraph":  # an MCC of 0 for every model is a result: MultiQC would drop the whole plot
        pconfig = {"hide_zero_cats": False, **pconfig}
    content = {
        "id": section_id,
        "section_name": html.escape(section_name),
        "description": html.escape(description),
        "plot_type": plot_type,
        "pconfig": {"id": f"{section_id}_plot", "title": html.escape(section_name), **pconfig},
        "data": {html.escape(name): values for name, values in data.items()},
    }
    Path(path).write_text(json.dumps(content, indent=1) + "\n")


def _number(x: Any) -> int | float:
    """An x value as a number (JSON object keys arrive as strings)."""
    value = float(x)
    return int(value) if value.is_integer() else value


def write_image(path: Path, section_id: str, section_name: str, description: str, png: Path) -> None:
    """A picture MultiQC cannot draw, as its own section with the name given: MultiQC names a bare
    `*_mqc.png` after its file, and strips trailing letters of `_mqc.png` on the way ("window uma")."""
    encoded = base64.b64encode(Path(png).read_bytes()).decode("ascii")
    content = {
        "id": section_id,
        "section_name": html.escape(section_name),
        "description": html.escape(description),
        "plot_type": "image",
        "data": f'<div class="mqc-custom-content-image"><img src="data:image/png;base64,{encoded}" '
                f'alt="{html.escape(section_name)}" style="max-width: 100%"/></div>',
    }
    Path(path).write_text(json.dumps(content) + "\n")


def below_baseline(results: Sequence[tuple[str, float, float, float]], baseline: str) -> str:
    """What to make of results against a baseline, in words: those of (label, value, standard error,
    baseline value) that do not beat the baseline by more than their standard error, or "" if all do."""
    weak = [f"{label} ({value:#.3g} ± {se:#.2g} vs {base:#.3g})" for label, value, se, base in results
            if not value - base > se]
    if not weak:
        return ""
    if len(weak) == len(results) > 1:
        return f"None of the {len(weak)} results beats the {baseline} by more than one standard error."
    return f"Not above the {baseline} by more than one standard error: {'; '.join(weak)}."


def accuracy_verdict(rows: Sequence[dict[str, Any]], group: str, label: Callable[[dict[str, Any]], str],
                     baselines: dict[str, str], baseline_kinds: dict[str, str] | None = None) -> str:
    """What to make of the models' accuracies, in words: those that do not beat a baseline column of their row
    (`baselines`: column -> its name in words), or the best accuracy of a baseline kind in their `group` (a
    task, a k; `baseline_kinds`: kind -> its name in words, TF-IDF by default), by more than their standard
    error. Rows of a baseline kind are not models."""
    baseline_kinds = baseline_kinds or {"tfidf": "TF-IDF"}
    models = [r for r in rows if r["kind"] not in baseline_kinds]
    best: dict[Any, float] = {}
    for r in rows:
        if r["kind"] in baseline_kinds:
            best[r[group]] = max(r["accuracy"], best.get(r[group], -1.0))
    against = [(words, lambda r, c=column: r[c]) for column, words in baselines.items()]
    against.append((f"best {' or '.join(baseline_kinds.values())} baseline", lambda r: best.get(r[group])))
    notes = [below_baseline([(label(r), r["accuracy"], r["accuracy_se"], base(r)) for r in models
                             if base(r) is not None], words) for words, base in against]
    return " ".join(n for n in notes if n) or "Every model beats its baselines by more than its standard error."

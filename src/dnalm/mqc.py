"""MultiQC custom content: every step writes `*_mqc.tsv` / `*_mqc.yaml` next to its outputs.

Numeric results go in as native MultiQC tables and plots (sortable, hoverable); PNGs only for pictures
MultiQC cannot draw. The YAML files are written as JSON, which is valid YAML and needs no extra package.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dnalm.outputs import _cell


def write_table(path: Path, section_id: str, section_name: str, description: str, header: list[str],
                rows: list[list[Any]]) -> None:
    """A MultiQC table: first column names the row (sample), the others are its values."""
    q = json.dumps  # a JSON string is a valid YAML scalar, whatever quotes or colons the text holds
    lines = [
        f"# id: {q(section_id)}",
        f"# section_name: {q(section_name)}",
        f"# description: {q(description)}",
        "# plot_type: 'table'",
        "# pconfig:",
        f"#     id: {q(section_id + '_table')}",
        f"#     title: {q(section_name)}",
        "\t".join(header),
    ]
    lines += ["\t".join(_cell(v) for v in row) for row in rows]
    Path(path).write_text("\n".join(lines) + "\n")


def write_plot(path: Path, section_id: str, section_name: str, description: str, plot_type: str,
               data: dict[str, dict[Any, float]], **pconfig: Any) -> None:
    """A MultiQC `bargraph`, `linegraph` or `heatmap` from {sample: {x or category: value}}."""
    content = {
        "id": section_id,
        "section_name": section_name,
        "description": description,
        "plot_type": plot_type,
        "pconfig": {"id": f"{section_id}_plot", "title": section_name, **pconfig},
        "data": data,
    }
    Path(path).write_text(json.dumps(content, indent=1) + "\n")

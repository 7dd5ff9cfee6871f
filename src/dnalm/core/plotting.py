"""One matplotlib set-up for every picture dnalm draws.

Cluster nodes have no display, so the Agg backend is chosen before pyplot is imported; each figure is laid
out, saved at one resolution and closed (a long step drawing many figures would otherwise keep them all).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Iterator

DPI = 110


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


@contextlib.contextmanager
def figure(path: Path, *grid: int, dpi: int = DPI, tight_bbox: bool = False, **subplots: Any) -> Iterator[tuple]:
    """`(fig, axes)` of `plt.subplots(*grid, **subplots)`, saved to `path` when the block ends without error."""
    plt = pyplot()
    fig, axes = plt.subplots(*grid, **subplots)
    try:
        yield fig, axes
        fig.tight_layout()
        fig.savefig(path, dpi=dpi, bbox_inches="tight" if tight_bbox else None)
    finally:
        plt.close(fig)

"""Settings of the evaluation commands, as frozen dataclasses handed whole to their stage.

They live apart from the stages so that the CLI parser reads their defaults (the one place a default is
written) without importing numpy or torch.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CnnSettings:
    """The network and its training; the defaults are what `cnn-baseline` runs (benchmarks/cnn_baseline.py
    measures their time)."""

    filters: int = 128
    kernel: int = 15
    second_kernel: int = 5
    pool: int = 4
    dropout: float = 0.2
    epochs: int = 30
    patience: int = 5
    min_steps: int = 1000
    batch_size: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 1e-2
    valid_fraction: float = 0.1

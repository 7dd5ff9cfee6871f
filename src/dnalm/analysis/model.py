"""Loading a pretrained dnalm model for the analyses: checked against the tokenized genome it will read."""

from __future__ import annotations

from pathlib import Path

from dnalm.vocab.model_dir import load_pretrained
from dnalm.vocab.tokenized import TokenizedGenome


def load_model(model_dir: Path, genome: TokenizedGenome, masked_lm: bool = False):
    """The model, checked first to read the tokens of `genome` (and, for `masked_lm`, to have its trained head)."""
    import torch

    genome.check_model(model_dir)
    model = load_pretrained("AutoModelForMaskedLM" if masked_lm else "AutoModel", model_dir, "--model")
    return model.to("cuda" if torch.cuda.is_available() else "cpu")

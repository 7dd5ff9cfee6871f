"""Loading a pretrained dnalm model for the analyses: checked against the tokenized genome it will read."""

from __future__ import annotations

from pathlib import Path

from dnalm.vocab.tokenized import TokenizedGenome


def load_model(model_dir: Path, genome: TokenizedGenome, masked_lm: bool = False):
    """The model, checked first to read the tokens of `genome`."""
    import torch
    from transformers import AutoModel, AutoModelForMaskedLM

    genome.check_model(model_dir)
    cls = AutoModelForMaskedLM if masked_lm else AutoModel
    model = cls.from_pretrained(model_dir).eval()
    return model.to("cuda" if torch.cuda.is_available() else "cpu")

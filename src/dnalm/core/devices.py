"""`--device` of the steps that run a model: the workflow says whether GPUs were requested.

Without it, a GPU task whose container lacks the engine's GPU flag (or a node without a driver) silently
runs on the CPU while holding GPUs: torch just reports no CUDA device."""

from __future__ import annotations

import os

from dnalm.core.errors import InputError

DEVICES = ("auto", "cpu", "cuda")


def select_device(device: str) -> None:
    """cpu hides every GPU from torch; cuda stops at once unless torch sees one; auto takes what is there."""
    if device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    elif device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise InputError("--device cuda: torch sees no CUDA GPU here; in a container the engine needs its GPU "
                             "flag (--nv, --gpus all: the workflow sets it with --gpus_per_node > 0), and the "
                             "image needs CUDA (--container_image_gpu)")

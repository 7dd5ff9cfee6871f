"""How a training step runs on the hardware: the attention kernel, the precision, the optimiser's kernel and
compilation.

They change how a step computes (rounding; SDPA and eager attention draw dropout differently), not what is
trained, so none is in the checkpoint fingerprint: a job may resume on another device, or with other kernels.
Their defaults (`dnalm pretrain --help`) were chosen by `benchmarks/pretrain_throughput.py`;
docs/performance.md has the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

ATTENTION = ("sdpa", "eager")
PRECISIONS = ("auto", "bf16", "fp32")


@dataclass(frozen=True)
class Kernels:
    """attention: `sdpa` (PyTorch's scaled_dot_product_attention, which picks flash or memory-efficient
    kernels where the GPU and dtype allow) or `eager` (BERT's matmul and softmax); precision: `auto` (bf16 on a
    GPU that has it, fp32 otherwise), `bf16` or `fp32`; fused_adamw: AdamW's single-kernel update; compile:
    `torch.compile` the model."""

    attention: str
    precision: str
    fused_adamw: bool
    compile: bool

    def resolved_precision(self) -> str:
        """The precision this process trains in."""
        import torch

        if self.precision != "auto":
            return self.precision
        return "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "fp32"

    def training_arguments(self) -> dict:
        """The HF TrainingArguments that select these kernels (attention is the model's: `attention`)."""
        precision = self.resolved_precision()
        return {"bf16": precision == "bf16", "optim": "adamw_torch_fused" if self.fused_adamw else "adamw_torch",
                "torch_compile": self.compile}

    def __str__(self) -> str:
        return (f"attention {self.attention}, {self.resolved_precision()}, "
                f"{'fused' if self.fused_adamw else 'unfused'} AdamW, {'compiled' if self.compile else 'eager mode'}")

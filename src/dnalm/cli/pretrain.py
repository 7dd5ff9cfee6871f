"""pretrain a BERT masked-token model on the windows of a tokenized genome"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from dnalm.cli.options import FRACTION, NON_NEGATIVE_INT, POSITIVE, POSITIVE_INT, PROBABILITY, add_device, add_seed

#: Under torchrun every rank trains; only rank 0 writes --out (the others get `out=None`).
RANK_ZERO_WRITES = True
#: `--deepspeed zero2`: the config dnalm ships (found inside the containers too).
ZERO2 = Path(__file__).parent.parent / "pretraining" / "deepspeed_zero2.json"
#: The presets `--deepspeed auto` trains under ZeRO-2 when there are several ranks: on 2 CPU ranks ZeRO-2 cut
#: base's peak memory per rank by 10 % at the same speed, and added memory to tiny and small, for no speed
#: (benchmarks/results/pretrain_zero.md). A single rank has nothing to partition.
ZERO2_PRESETS = ("base",)


#: The --deepspeed values that name no file: '' (none), 'auto' (resolved by `deepspeed_for`), 'zero2' (ZERO2).
#: The workflow stages any other value as a file (deepspeedFile in subworkflows/local/utils_dnalm_pipeline).
DEEPSPEED_NAMES = ("", "auto", "zero2")


def _deepspeed_config(text: str) -> Path | str | None:
    """One of DEEPSPEED_NAMES or a JSON file."""
    if text in DEEPSPEED_NAMES:
        return {"": None, "auto": text, "zero2": ZERO2}[text]
    if not Path(text).is_file():
        raise argparse.ArgumentTypeError(f"not 'zero2' and no such file: {text!r}")
    return Path(text)


def deepspeed_for(choice: Path | str | None, preset: str, world_size: int) -> Path | None:
    """The DeepSpeed config a run trains under: `auto` resolved by preset and number of ranks."""
    if choice != "auto":
        return choice
    return ZERO2 if preset in ZERO2_PRESETS and world_size > 1 else None


def add_kernels(p: argparse.ArgumentParser) -> None:
    """How each step runs on the hardware (`dnalm.pretraining.kernels`); defaults measured in
    docs/performance.md."""
    from dnalm.pretraining.kernels import ATTENTION, PRECISIONS

    p.add_argument("--attention", choices=ATTENTION, default="sdpa",
                   help="sdpa: PyTorch's fused attention (flash kernels where the GPU and dtype allow); eager: "
                        "BERT's own matmul and softmax")
    p.add_argument("--precision", choices=PRECISIONS, default="auto",
                   help="auto: bf16 on a GPU that has it, fp32 otherwise")
    p.add_argument("--fused-adamw", action=argparse.BooleanOptionalAction, default=True,
                   help="AdamW's single-kernel update")
    p.add_argument("--compile", action=argparse.BooleanOptionalAction, default=False,
                   help="torch.compile the model (compiles again for new batch shapes)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tokenized", type=Path, required=True, help="tokenize-genome output directory")
    p.add_argument("--windows", type=Path, required=True, help="make-windows output directory")
    p.add_argument("--checkpoint-dir", type=Path, required=True,
                   help="where checkpoints go and are resumed from (outside the task directory)")
    p.add_argument("--model-id", help="name of the model in reports (default: the --out name)")
    p.add_argument("--preset", choices=["tiny", "small", "base"], default="tiny",
                   help="model size; base = GROVER/DNABERT BERT-base")
    p.add_argument("--config", type=Path, help="JSON of BertConfig fields overriding the preset")
    p.add_argument("--max-steps", type=POSITIVE_INT, default=1000,
                   help="optimiser steps in all; a rerun with more steps continues from the checkpoints")
    p.add_argument("--batch-size", type=POSITIVE_INT, default=32, help="windows per device and step")
    p.add_argument("--learning-rate", type=POSITIVE, default=4e-4,
                   help="AdamW peak learning rate, after warmup, decaying linearly to 0")
    p.add_argument("--warmup-steps", type=NON_NEGATIVE_INT, default=100,
                   help="steps of linear learning-rate warmup from 0")
    p.add_argument("--weight-decay", type=FRACTION, default=0.01, help="AdamW decoupled weight decay")
    p.add_argument("--mlm-probability", type=PROBABILITY, default=0.15,
                   help="share of tokens masked (BERT 0.15; GROVER 0.022)")
    p.add_argument("--masking", choices=["random", "span", "span8"], default="random",
                   help="random: BERT; span: k contiguous overlapping k-mers (DNABERT; 1 token for other "
                        "vocabularies); span8: spans of 8 tokens (GenomeNet-BERT)")
    p.add_argument("--batching", choices=["grouped", "random"], default="grouped",
                   help="grouped: batches of windows of similar length (little padding, masking as with random "
                        "batches); random: the Trainer's random batches, padded to their longest window")
    p.add_argument("--save-steps", type=POSITIVE_INT, default=500,
                   help="a checkpoint every this many steps: a killed job loses at most these")
    p.add_argument("--keep-checkpoints", type=POSITIVE_INT, default=2,
                   help="newest checkpoints kept in --checkpoint-dir")
    p.add_argument("--eval-windows", type=NON_NEGATIVE_INT, default=2000,
                   help="held-out windows evaluated before and after training: a seeded sample, the same for "
                        "both (0: all). 2,000 windows of 20-510 tokens hold up to 150,000 masked tokens at "
                        "15%% masking (a standard error of accuracy near 0.002) and cost about 4%% of the "
                        "training of 1,000 steps of 32 windows")
    p.add_argument("--eval-batch-size", type=POSITIVE_INT, default=64,
                   help="held-out windows per forward pass when evaluating")
    p.add_argument("--deepspeed", type=_deepspeed_config, default="auto", metavar="auto|zero2|JSON",
                   help="DeepSpeed: 'zero2' (ZeRO stage 2, dnalm's config), a config file, or empty for plain "
                        f"PyTorch; auto: zero2 for the {', '.join(ZERO2_PRESETS)} preset on several ranks, where "
                        "it was measured to pay, plain PyTorch otherwise")
    add_device(p)
    add_kernels(p)
    p.add_argument("--log-window-ids", action="store_true",
                   help="record each rank's window indices and final weights under --checkpoint-dir/ranks")
    add_seed(p)


def run(args: argparse.Namespace, out: Path | None) -> None:
    from dnalm.pretraining.kernels import Kernels
    from dnalm.pretraining.pretrain import pretrain

    pretrain(tokenized_dir=args.tokenized, windows_dir=args.windows, out=out, checkpoint_dir=args.checkpoint_dir,
             model_id=args.model_id or args.out.name, preset=args.preset, config_json=args.config,
             max_steps=args.max_steps, batch_size=args.batch_size, learning_rate=args.learning_rate,
             warmup_steps=args.warmup_steps, weight_decay=args.weight_decay,
             mlm_probability=args.mlm_probability, save_steps=args.save_steps,
             keep_checkpoints=args.keep_checkpoints, eval_batch_size=args.eval_batch_size, seed=args.seed,
             masking=args.masking, log_windows=args.log_window_ids,
             deepspeed=deepspeed_for(args.deepspeed, args.preset, int(os.environ.get("WORLD_SIZE", "1"))),
             eval_windows=args.eval_windows, batching=args.batching,
             kernels=Kernels(attention=args.attention, precision=args.precision, fused_adamw=args.fused_adamw,
                             compile=args.compile))

"""score the variants of a VCF with a masked-LM: log-likelihood ratio of ALT vs REF in their genome window"""

from __future__ import annotations

import argparse
from pathlib import Path

from dnalm.cli.options import POSITIVE_INT, add_device, add_genome, add_model_id, model_name


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", type=Path, required=True, help="dnalm model directory (pretrain's model/)")
    add_model_id(p)
    add_genome(p)
    p.add_argument("--variants", type=Path, required=True,
                   help="VCF or VCF.gz (SNVs, MNVs, short indels; REF is checked against the genome)")
    p.add_argument("--window", type=POSITIVE_INT, default=500,
                   help="bp of sequence around each variant the model sees (clipped at N gaps and contig ends)")
    p.add_argument("--batch-size", type=POSITIVE_INT, default=32, help="alleles per forward pass")
    add_device(p)


def run(args: argparse.Namespace, out: Path) -> None:
    from dnalm.analysis.variant_effects import variant_effects

    variant_effects(args.model, args.genome, args.variants, out, model_id=args.model_id or model_name(args.model),
                    window=args.window, batch_size=args.batch_size)

"""score the variants of a VCF with a masked-LM: log-likelihood ratio of ALT vs REF in their genome window"""

from __future__ import annotations

import argparse
from pathlib import Path

from dnalm.cli.options import add_allele_scoring, model_name


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_allele_scoring(p)
    p.add_argument("--variants", type=Path, required=True,
                   help="VCF or VCF.gz (SNVs, MNVs, short indels; REF is checked against the genome)")


def run(args: argparse.Namespace, out: Path) -> None:
    from dnalm.analysis.variant_effects import variant_effects

    variant_effects(args.model, args.genome, args.variants, out, model_id=args.model_id or model_name(args.model),
                    classifier=args.classifier, positive=args.positive_class,
                    window=args.window, batch_size=args.batch_size, resume_dir=args.resume_dir)

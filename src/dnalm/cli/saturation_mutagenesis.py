"""score every possible SNV of some regions with a masked-LM: a tidy table and a mutation map per region"""

from __future__ import annotations

import argparse
from pathlib import Path

from dnalm.cli.options import NON_NEGATIVE_INT, POSITIVE_INT, add_allele_scoring, model_name


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_allele_scoring(p)
    p.add_argument("--regions", type=Path, required=True,
                   help="BED of the regions to mutate (each inside an N-free run)")
    p.add_argument("--max-region-bp", type=POSITIVE_INT, default=1000,
                   help="longest region accepted: each base gives 3 SNVs, each 4 windows to score")
    p.add_argument("--maps", type=NON_NEGATIVE_INT, default=20, help="mutation maps drawn, of the first regions")


def run(args: argparse.Namespace, out: Path) -> None:
    from dnalm.analysis.saturation_mutagenesis import saturation_mutagenesis

    saturation_mutagenesis(args.model, args.genome, args.regions, out,
                           model_id=args.model_id or model_name(args.model),
                           classifier=args.classifier, positive=args.positive_class, window=args.window,
                           batch_size=args.batch_size, max_region_bp=args.max_region_bp, maps=args.maps,
                           resume_dir=args.resume_dir)

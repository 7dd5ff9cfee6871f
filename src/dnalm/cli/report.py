"""the MultiQC report of a results directory (what the workflow's last step runs)"""

from __future__ import annotations

import argparse
from pathlib import Path

from dnalm.core.logs import log


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--results", type=Path, required=True, help="the results directory (--outdir of the workflow)")
    p.add_argument("--versions", type=Path, help="software_versions.tsv of the run (process, tool, version)")
    p.add_argument("--workflow-summary", type=Path, help="workflow summary (MultiQC custom content YAML) from Nextflow")
    p.add_argument("--title", default="dnalm report", help="report title")


def run(args: argparse.Namespace, out: Path) -> None:
    from dnalm.report.build import report

    html = report(results=args.results, out=out, versions=args.versions, summary=args.workflow_summary,
                  title=args.title)
    log.info("report: %s", args.out / html.relative_to(out))  # where it will be, not the partial's path

#!/usr/bin/env bash
# Install everything the tests need on a fresh Debian/Ubuntu machine, then run the test suite.
# This is the README's test command; CI (.ci/run) runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages: bedtools (pybedtools, annotation overlaps); slurm-wlm and munge (a real one-node SLURM
# for the multi-node launch test, which skips where it cannot start).
missing=""
command -v bedtools >/dev/null 2>&1 || missing="$missing bedtools"
command -v slurmctld >/dev/null 2>&1 || missing="$missing slurm-wlm"
command -v munged >/dev/null 2>&1 || missing="$missing munge"
command -v groovy >/dev/null 2>&1 || missing="$missing groovy"      # runs the workflow's Groovy helpers in a test
command -v bcftools >/dev/null 2>&1 || missing="$missing bcftools"  # reads back the VCFs variant-effects writes
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"   # renders the report in a test
command -v npm >/dev/null 2>&1 || missing="$missing npm"
if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi

# Python environment: the pinned requirements the container images use, plus the test tools.
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r containers/requirements.txt \
    -r requirements-test.txt
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -e .

# playwright-core drives Debian's chromium to render the report (tests/report/screenshot.js)
(cd tests/report && npm install --silent --no-audit --no-fund >/dev/null)

# DeepSpeed and torch extensions compile once into this directory and are reused across tests.
export TORCH_EXTENSIONS_DIR=${TORCH_EXTENSIONS_DIR:-$HOME/.cache/dnalm/torch_extensions}
export TOKENIZERS_PARALLELISM=false
export PATH="$PWD/.venv/bin:$PATH"   # dnalm and torchrun, as ranks started by `dnalm launch` need them

# Two pytest workers, each taking whole modules (module fixtures are built once; the session's shared steps
# once per worker): the suite's tiny models leave a core idle, and two workers took it from about 15 to 12
# minutes on 2 cores. `-n 0` among the arguments runs it in one process.
PYTEST=(.venv/bin/python -m pytest -n 2 --dist loadscope "$@")

# The pipeline itself runs under nf-test where Nextflow and nf-test are installed (not on CI's machines).
if command -v nextflow >/dev/null 2>&1 && command -v nf-test >/dev/null 2>&1; then
    "${PYTEST[@]}"
    PATH="$PWD/.venv/bin:$PATH" exec nf-test test
fi
echo "nf-test skipped: nextflow and nf-test are not both on PATH (tests/nextflow/*.nf.test not run)"
exec "${PYTEST[@]}"

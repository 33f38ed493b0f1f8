#!/usr/bin/env bash
# Install fairmicro with its [dev] extra into .venv (torch first, pinned) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
make_venv
install_torch
install_fairmicro ".[dev]"
# -m overrides the default "not slow" of pyproject: the whole suite runs here and in CI.
"$VENV/bin/python" -m pytest -m "slow or not slow" "$@"

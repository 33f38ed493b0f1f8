#!/usr/bin/env bash
# Install fairmicro with its [dev] extra into .venv (torch first, pinned) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
make_venv
install_torch
install_fairmicro ".[dev]"
# tests/web/test_browser.py drives Debian's chromium (Playwright cannot download browsers here); install it
# once when missing and we are root, otherwise those tests skip with one line.
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } \
        || echo "chromium not installed: the browser tests will be skipped" >&2
fi
# tests/catalog/test_ducklake*.py start a throw-away cluster from Debian's postgresql (as user postgres);
# install it once when missing and we are root, otherwise those tests skip with one line.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y -qq postgresql >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; } \
        || echo "postgresql not installed: the shared-catalog tests will be skipped" >&2
fi
# Style and types first (configured in pyproject): a finding fails the run.
"$VENV/bin/ruff" check src tests benchmarks
"$VENV/bin/ruff" format --check --quiet src tests benchmarks
"$VENV/bin/mypy"
# -m overrides the default "not slow" of pyproject: the whole suite runs here and in CI, one worker per core
# (pytest-xdist). Torch gets one thread per worker: with two workers on two cores, its default of one
# thread per core oversubscribes them and spin-waits (small runs became 10-20x slower).
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
"$VENV/bin/python" -m pytest -m "slow or not slow" -n "${FAIRMICRO_TEST_WORKERS:-auto}" "$@"

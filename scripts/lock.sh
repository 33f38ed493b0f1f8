#!/usr/bin/env bash
# Regenerate constraints.txt (exact CI pins) from the current .venv after changing dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
"$VENV/bin/python" -m pip freeze --exclude-editable \
    | grep -v '^fairmicro' | sed -E 's/^(torch==[0-9.]+)\+cpu$/\1/' > constraints.txt
echo "wrote constraints.txt ($(wc -l < constraints.txt) pins)"

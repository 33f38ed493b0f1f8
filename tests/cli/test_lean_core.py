"""A lab PC installs only the core: the CLI must not import heavy ML or HF packages."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("torch", "keras", "tensorflow", "transformers", "datasets", "sklearn", "pyarrow", "linkml")


def test_cli_help_and_query_path_import_no_heavy_packages():
    code = (
        "import sys, fairmicro.cli.app, fairmicro.catalog.ingest, fairmicro.catalog.query;"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_plugins_lists_builtin_extractors_in_order():
    out = subprocess.run([sys.executable, "-m", "fairmicro", "plugins"], capture_output=True, text=True, check=True).stdout
    names = [line.split()[1] for line in out.splitlines() if line.startswith("extractor")]
    assert {"zeiss", "fei", "generic"} <= set(names)
    assert names[-1] == "generic"

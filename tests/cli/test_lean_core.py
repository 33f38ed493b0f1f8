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


def test_core_dependencies_leave_ml_and_hf_to_extras():
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"]).lower()
    for heavy in ("torch", "keras", "tensorflow", "transformers", "datasets", "scikit-learn", "linkml"):
        assert heavy not in core, f"{heavy} must stay behind an extra"
    extras = project["optional-dependencies"]
    assert {"hf", "models", "dev", "all"} <= set(extras)


def test_missing_extra_names_the_extra(tmp_path):
    # Simulate a lab PC without scikit-learn: the texture plugin's first import fails clearly.
    code = (
        "import sys; sys.modules['sklearn'] = None\n"
        "from fairmicro.extras import require\n"
        "from fairmicro.errors import MissingExtraError\n"
        "try:\n    require('sklearn.ensemble', 'models', 'fairmicro train texture')\n"
        "except MissingExtraError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "pip install 'fairmicro[models]'" in out and "fairmicro train texture" in out


def test_version_flag():
    from fairmicro import __version__

    out = subprocess.run([sys.executable, "-m", "fairmicro", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"fairmicro {__version__}"

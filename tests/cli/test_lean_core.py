"""A lab PC installs only the core: the CLI must not import heavy ML or HF packages."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("torch", "keras", "tensorflow", "transformers", "datasets", "sklearn", "pyarrow", "linkml")


def test_cli_help_and_query_path_import_no_heavy_packages():
    code = (
        "import sys, fairmicro.cli.app, fairmicro.catalog.ingest, fairmicro.catalog.query;"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_plugins_lists_builtin_extractors_in_order():
    out = subprocess.run(
        [sys.executable, "-m", "fairmicro", "plugins"], capture_output=True, text=True, check=True
    ).stdout
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


# what a lab PC must not get with a plain `pip install fairmicro` (test tooling, RDF stacks, ML)
NOT_IN_CORE = (
    "pytest",
    "pytest-logging",
    "rdflib",
    "pyoxigraph",
    "torch",
    "keras",
    "tensorflow",
    "transformers",
    "datasets",
    "scikit-learn",
    "sklearn",
)


@pytest.mark.slow
def test_core_installs_alone_and_runs_ingest_and_query(tmp_path):
    """A fresh venv (no system site-packages) gets the core only, and ingest + query work in it."""
    import json
    from pathlib import Path

    from fairmicro.testing.samples import texture, write_zeiss_tiff

    root = Path(__file__).resolve().parents[2]
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python, fairmicro = venv / "bin" / "python", venv / "bin" / "fairmicro"
    install = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "-c",
            str(root / "constraints.txt"),
            str(root),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,  # ~1-2 min with a warm pip cache
    )
    assert install.returncode == 0, install.stderr[-2000:]
    listed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format", "json"], capture_output=True, text=True, check=True
    ).stdout
    names = {entry["name"].lower().replace("_", "-") for entry in json.loads(listed)}
    assert "fairmicro" in names
    unwanted = sorted(n for n in names if n in NOT_IN_CORE or n.startswith("linkml"))
    assert unwanted == [], f"the core pulled in {unwanted}"

    write_zeiss_tiff(tmp_path / "in" / "a b.tif", texture((48, 64)))
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "FAIRMICRO_CATALOG": str(tmp_path / "c.duckdb"),
        "HOME": str(tmp_path),
    }
    ingest = subprocess.run(
        [str(fairmicro), "ingest", str(tmp_path / "in"), "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert ingest.returncode == 0, ingest.stderr
    assert json.loads(ingest.stdout)["ingested"] == 1
    query = subprocess.run(
        [str(fairmicro), "query", "SELECT vendor, width_px FROM image_metadata", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert query.returncode == 0, query.stderr
    assert json.loads(query.stdout) == [{"vendor": "Zeiss", "width_px": 64}]

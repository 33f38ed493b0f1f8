"""Start-up: `query`, `ingest` and `--help` import no LinkML and no heavy ML/dataframe package.

Each command runs through the real console entry in a fresh interpreter, which then prints the
modules it loaded. No wall-clock asserts: the figures are in ``benchmarks/run_all.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fairmicro.testing.samples import texture, write_fei_tiff, write_zeiss_tiff

# linkml_runtime alone cost 1.1 s; pandas (+pyarrow) ~1 s, pulled in by DuckDB's parameter binding
HEAVY = (
    "linkml", "linkml_runtime", "torch", "tensorflow", "keras", "transformers", "datasets", "sklearn",
    "skimage", "pandas", "pyarrow", "matplotlib", "huggingface_hub",
)

RUN = """
import json, sys
argv = json.loads(sys.argv[1])
sys.argv = ["fairmicro", *argv]
from fairmicro.cli.app import main
code = 0
try:
    main()
except SystemExit as exc:
    code = exc.code or 0
sys.stdout.flush()
# a module deferred with importlib.util.LazyLoader sits in sys.modules unexecuted: not loaded
loaded = sorted(n for n, m in sys.modules.items() if m is not None and type(m).__name__ != "_LazyModule")
print("MODULES " + json.dumps({"code": code, "modules": loaded}))
"""


def _run(args: list[str], catalog: Path, cwd: Path) -> tuple[int, set[str], str]:
    env = {**os.environ, "FAIRMICRO_CATALOG": str(catalog)}
    result = subprocess.run(
        [sys.executable, "-c", RUN, json.dumps(args)],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=300, check=False,
    )
    [line] = [x for x in result.stdout.splitlines() if x.startswith("MODULES ")]
    report = json.loads(line.removeprefix("MODULES "))
    return report["code"], set(report["modules"]), result.stderr


def _heavy(modules: set[str]) -> list[str]:
    return sorted(name for name in HEAVY if name in modules)


@pytest.fixture
def images(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    write_zeiss_tiff(folder / "a.tif", texture((48, 64)))
    write_fei_tiff(folder / "b.tif", texture((48, 64), seed=1))
    return folder


def test_ingest_imports_no_linkml_pandas_or_ml_packages(images, catalog_path, tmp_path):
    code, modules, stderr = _run(["ingest", "--json", str(images)], catalog_path, tmp_path)
    assert code == 0, stderr
    assert _heavy(modules) == []


def test_rerun_of_ingest_imports_no_linkml_pandas_or_ml_packages(images, catalog_path, tmp_path):
    _run(["ingest", str(images)], catalog_path, tmp_path)
    code, modules, stderr = _run(["ingest", "--json", str(images)], catalog_path, tmp_path)
    assert code == 0, stderr
    assert _heavy(modules) == []


def test_query_imports_no_linkml_pandas_models_or_ingest_machinery(images, catalog_path, tmp_path):
    _run(["ingest", str(images)], catalog_path, tmp_path)
    code, modules, stderr = _run(
        ["query", "SELECT count(*) AS n FROM image_metadata WHERE width_px > 1"],
        catalog_path, tmp_path,
    )
    assert code == 0, stderr
    assert _heavy(modules) == []
    # the generated pydantic models and the extractors are ingest's business, not query's
    assert "fairmicro.schema.models" not in modules
    assert "fairmicro.catalog.ingest" not in modules
    assert "tifffile" not in modules


@pytest.mark.parametrize("args", [["--help"], ["query", "--help"], ["ingest", "--help"]])
def test_help_imports_no_linkml_pandas_or_ml_packages(args, catalog_path, tmp_path):
    code, modules, stderr = _run(args, catalog_path, tmp_path)
    assert code == 0, stderr
    assert _heavy(modules) == []
    assert "fairmicro.schema.models" not in modules


def test_top_level_help_opens_no_database(catalog_path, tmp_path):
    code, modules, stderr = _run(["--help"], catalog_path, tmp_path)
    assert code == 0, stderr
    assert "duckdb" not in modules
    assert not catalog_path.exists()

"""Shared fixtures: real vendor samples (skipped when absent) and a CLI runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REAL_TIFFS = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-tiffs"


@pytest.fixture
def real_tiffs() -> Path:
    """The shared real vendor samples; the test is skipped when they are absent."""
    if not REAL_TIFFS.is_dir():
        pytest.skip(f"real vendor samples not found at {REAL_TIFFS}")
    return REAL_TIFFS


@pytest.fixture
def catalog_path(tmp_path: Path) -> Path:
    """A catalog file path in the test's temporary folder."""
    return tmp_path / "catalog.duckdb"


class Cli:
    """Runs the real console entry (`python -m fairmicro`) in a subprocess."""

    def __init__(self, catalog: Path, cwd: Path) -> None:
        self.catalog = catalog
        self.cwd = cwd

    def __call__(self, *args: str, check: bool | None = True) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "FAIRMICRO_CATALOG": str(self.catalog)}
        result = subprocess.run(
            [sys.executable, "-m", "fairmicro", *args],
            capture_output=True,
            text=True,
            cwd=self.cwd,
            env=env,
            timeout=300,
            check=False,
        )
        if check is True and result.returncode != 0:
            raise AssertionError(f"fairmicro {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
        return result

    def rows(self, sql: str) -> list[dict]:
        """Rows of a query, via `fairmicro query --format json`."""
        return json.loads(self("query", sql, "--format", "json").stdout)


@pytest.fixture
def cli(catalog_path: Path, tmp_path: Path) -> Cli:
    """The fairmicro command line bound to a fresh catalog."""
    return Cli(catalog_path, tmp_path)

"""Fixtures of the shared-catalog tests: a throw-away PostgreSQL and one DuckLake catalog per test."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fairmicro.catalog.pg import create_database, throwaway_cluster, unavailable_reason
from fairmicro.testing.samples import texture, write_fei_tiff

_numbers = itertools.count()


@pytest.fixture(scope="session", name="pg_dsn")
def pg_dsn_fixture() -> Iterator[str]:
    """A PostgreSQL server for the session (started as user postgres when root), removed afterwards."""
    reason = unavailable_reason()
    if reason:
        pytest.skip(f"no PostgreSQL for DuckLake tests: {reason}")
    with throwaway_cluster() as dsn:
        yield dsn


class Lake:
    """One fresh DuckLake catalog (its own PostgreSQL database and data path) and a CLI bound to it."""

    def __init__(self, dsn: str, folder: Path) -> None:
        self.location = f"ducklake:postgres:{create_database(dsn, f'lake{os.getpid()}_{next(_numbers)}')}"
        self.data_path = folder / "lake-data"
        self.folder = folder

    def env(self) -> dict[str, str]:
        """The environment a fairmicro process of this catalog runs with."""
        return {**os.environ, "FAIRMICRO_CATALOG": self.location, "FAIRMICRO_DATA_PATH": str(self.data_path)}

    def start(self, *args: str) -> subprocess.Popen[str]:
        """Start ``fairmicro ARGS`` on this catalog."""
        return subprocess.Popen(
            [sys.executable, "-m", "fairmicro", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env(),
            cwd=self.folder,
        )

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(  # noqa: PLW1510  (checked below)
            [sys.executable, "-m", "fairmicro", *args],
            capture_output=True,
            text=True,
            env=self.env(),
            cwd=self.folder,
            timeout=300,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"fairmicro {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
        return result

    @property
    def catalog(self) -> str:
        """The ``--catalog`` value (what the API takes too)."""
        return self.location

    @property
    def cwd(self) -> Path:
        """The folder commands run in."""
        return self.folder

    def rows(self, sql: str) -> list[dict]:
        """Rows of a query, via `fairmicro query --format json`."""
        return json.loads(self("query", sql, "--format", "json").stdout)


@pytest.fixture(name="lake")
def lake_fixture(pg_dsn: str, tmp_path: Path) -> Lake:
    """A fresh shared catalog for one test."""
    return Lake(pg_dsn, tmp_path)


def write_images(folder: Path, numbers: range, size: int = 48) -> Path:
    """Small FEI TIFFs ``img_NNNN.tif``, each with distinct pixels (so a distinct sha256)."""
    folder.mkdir(parents=True, exist_ok=True)
    for index in numbers:
        write_fei_tiff(folder / f"img_{index:04d}.tif", texture((size, size), seed=index))
    return folder

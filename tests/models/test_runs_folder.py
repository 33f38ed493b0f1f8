"""Where run artifacts land by default, for a catalog file and for a shared DuckLake catalog."""

from __future__ import annotations

from pathlib import Path

import pytest

from fairmicro.catalog import ducklake
from fairmicro.models.runner import runs_folder

SOCKET_DSN = "ducklake:postgres:host=/var/run/postgresql dbname=fairmicro"


@pytest.fixture(autouse=True)
def _no_data_path():
    ducklake.set_data_path(None)
    yield
    ducklake.set_data_path(None)


def test_runs_sit_beside_a_catalog_file(tmp_path: Path) -> None:
    assert runs_folder(tmp_path / "lab" / "cat.duckdb", None) == tmp_path / "lab" / "fairmicro-runs"


def test_a_socket_dsn_does_not_become_a_folder_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert runs_folder(SOCKET_DSN, None) == tmp_path / "fairmicro-runs"
    monkeypatch.setenv("FAIRMICRO_CATALOG", SOCKET_DSN)
    assert runs_folder(None, None) == tmp_path / "fairmicro-runs"


def test_shared_runs_go_under_the_shared_data_path(tmp_path: Path) -> None:
    ducklake.set_data_path(tmp_path / "shared")
    assert runs_folder(SOCKET_DSN, None) == tmp_path / "shared" / "fairmicro-runs"
    assert runs_folder(SOCKET_DSN, tmp_path / "mine") == tmp_path / "mine"

"""Time travel on a shared (DuckLake) catalog: a build records the snapshot it read and rebuilds from it."""

from __future__ import annotations

import filecmp
import json
from pathlib import Path

import pytest

from tests.catalog.ducklake_support import Lake, lake_fixture, pg_dsn_fixture, write_images  # noqa: F401  (fixtures lake, pg_dsn)

pytestmark = pytest.mark.slow


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _snapshot_of_build(lake: Lake, out: Path) -> int:
    rows = json.loads(
        lake(
            "query",
            "SELECT parameters FROM datasets WHERE output_path = ?".replace("?", f"'{out}'"),
            "--format",
            "json",
        ).stdout
    )
    return json.loads(rows[0]["parameters"])["catalog_snapshot"]


def test_rebuild_at_recorded_snapshot_is_byte_identical(lake: Lake, tmp_path: Path) -> None:
    for label, numbers in (("ferrite", range(4)), ("pearlite", range(4, 8))):
        write_images(tmp_path / "first" / label, numbers)
    lake("ingest", str(tmp_path / "first"), "--label-from-folder")
    first = tmp_path / "out1"
    lake("build", "d", "--license", "MIT", "--out", str(first), "--no-validate")
    snapshot = _snapshot_of_build(lake, first)

    write_images(tmp_path / "later" / "ferrite", range(8, 12))  # later ingests change the catalog
    lake("ingest", str(tmp_path / "later"), "--label-from-folder")
    latest = tmp_path / "out-latest"
    lake("build", "d", "--license", "MIT", "--out", str(latest), "--no-validate")
    assert _tree(latest) != _tree(first)

    again = tmp_path / "again" / "out1"  # the same folder name: the card quotes the command line
    lake("build", "d", "--license", "MIT", "--out", str(again), "--no-validate", "--at-snapshot", str(snapshot))
    assert _tree(again) == _tree(first)
    assert not filecmp.dircmp(first, again).diff_files
    assert _snapshot_of_build(lake, again) == snapshot


def test_at_snapshot_on_a_catalog_file_is_refused_in_one_line(cli, tmp_path: Path) -> None:
    write_images(tmp_path / "imgs" / "a", range(2))
    cli("ingest", str(tmp_path / "imgs"), "--label-from-folder")
    out = tmp_path / "out"
    result = cli("build", "d", "--license", "MIT", "--out", str(out), "--at-snapshot", "1", check=False)
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1 and "--at-snapshot" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


def test_unknown_snapshot_is_refused_in_one_line(lake: Lake, tmp_path: Path) -> None:
    write_images(tmp_path / "imgs" / "a", range(2))
    lake("ingest", str(tmp_path / "imgs"), "--label-from-folder")
    result = lake("build", "d", "--license", "MIT", "--out", str(tmp_path / "o"), "--at-snapshot", "99999", check=False)
    assert result.returncode != 0 and result.stderr.count("\n") == 1, result.stderr
    assert not (tmp_path / "o").exists()

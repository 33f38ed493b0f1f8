"""`fairmicro query` on a shared (DuckLake) catalog is sandboxed too, and a lake copies to a file and back.

Every route of tests/cli/test_query_sandbox.py is tried on one read-only and
one writable lake connection (each confined once); the effects are checked:
no file under the test folder or the lake's data path is written or changed,
the catalog keeps its rows, and no secret appears in a message.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pytest

from fairmicro.catalog import Catalog
from fairmicro.catalog.ducklake import set_data_path
from fairmicro.catalog.query import run_query
from fairmicro.errors import FairmicroError
from tests.catalog.ducklake_support import Lake, lake_fixture, pg_dsn_fixture, write_images  # noqa: F401
from tests.cli.test_query_sandbox import ROUTES, SECRETS

pytestmark = pytest.mark.slow
LAKE_ROUTES = {
    **ROUTES,
    "postgres-query": "SELECT * FROM postgres_query('__ducklake_metadata_lake', 'SELECT 1')",
    "postgres-execute": "CALL postgres_execute('__ducklake_metadata_lake', 'DROP TABLE ducklake_snapshot')",
    "metadata-table": "SELECT * FROM __ducklake_metadata_lake.ducklake_metadata",
    "metadata-delete": "DELETE FROM __ducklake_metadata_lake.ducklake_snapshot",
    "attach-postgres": "ATTACH 'postgres:dbname=postgres host=127.0.0.1' AS p",
    "copy-into-data-path": "COPY (SELECT 1 AS a) TO '{data}/main/images/evil.parquet'",
}


def _files(*folders: Path) -> dict[str, str]:
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest()
        for folder in folders
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _names(root: Path, lake: Lake) -> dict[str, str]:
    (root / "secret.txt").write_text(SECRETS[0])
    (root / "secret.csv").write_text(f"a\n{SECRETS[0]}\n")
    (root / "secret.json").write_text(json.dumps({"a": SECRETS[0]}))
    duckdb.sql(f"COPY (SELECT '{SECRETS[0]}' AS a) TO '{root / 'secret.parquet'}'")
    duckdb.connect(str(root / "other.duckdb")).execute("CREATE TABLE t AS SELECT 1 AS a").close()
    return {
        "dir": str(root),
        "catalog": str(lake.data_path / "main"),
        "url": "http://127.0.0.1:9",
        "txt": str(root / "secret.txt"),
        "csv": str(root / "secret.csv"),
        "json": str(root / "secret.json"),
        "parquet": str(root / "secret.parquet"),
        "other": str(root / "other.duckdb"),
        "target": str(root / "written.csv"),
        "data": str(lake.data_path),
    }


def test_sandboxed_query_on_a_lake_reaches_nothing_but_the_catalog(lake: Lake, tmp_path: Path, monkeypatch) -> None:
    lake("ingest", str(write_images(tmp_path / "imgs", range(3))))
    root = tmp_path / "world"
    root.mkdir()
    names = _names(root, lake)
    monkeypatch.setenv("HOME", str(root / "home"))
    monkeypatch.setenv("FAIRMICRO_TEST_SECRET", SECRETS[0])
    set_data_path(lake.data_path)
    before = _files(root, lake.data_path)
    escaped = []
    for write in (False, True):
        with Catalog.open(lake.location, read_only=not write) as cat:
            for route, sql in sorted(LAKE_ROUTES.items()):
                try:
                    run_query(cat, sql.format(**names), write=write)
                except FairmicroError as exc:
                    assert "\n" not in str(exc).strip() and not any(s in str(exc) for s in SECRETS), route
                else:
                    escaped.append((route, write))
            rows = run_query(cat, "SELECT count(*) FROM images").rows
            assert rows == [(3,)]
    set_data_path(None)
    assert escaped == []
    assert _files(root, lake.data_path) == before
    assert not (root / "home").exists()


def test_copy_round_trip_file_lake_file(lake: Lake, tmp_path: Path, cli) -> None:
    cli("ingest", str(write_images(tmp_path / "imgs" / "ferrite", range(4))), "--label-from-folder")
    out = lake("catalog", "copy", "--catalog", str(cli.catalog), "--to", lake.location, "--json")
    first = json.loads(out.stdout)
    assert all(t["same"] for t in first) and {t["table"]: t["target_rows"] for t in first}["images"] == 4
    back = tmp_path / "back.duckdb"
    again = json.loads(lake("catalog", "copy", "--to", str(back), "--json").stdout)
    digests = {t["table"]: t["source_digest"] for t in first}
    assert {t["table"]: t["target_digest"] for t in again} == digests
    refused = lake("catalog", "copy", "--catalog", str(cli.catalog), "--to", str(back), check=False)
    assert refused.returncode == 1 and "not empty" in refused.stderr and refused.stderr.count("\n") == 1
    with Catalog.open(back, read_only=True) as cat:
        assert cat.query("SELECT count(*) FROM images").rows == [(4,)]

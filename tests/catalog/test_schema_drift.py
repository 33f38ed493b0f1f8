"""The migrated catalog must equal what the schema derives; enums are CHECKed."""

from __future__ import annotations

import duckdb
import pytest

from fairmicro.catalog import Catalog
from fairmicro.catalog.migrations import available_migrations
from fairmicro.schema import DDL_PATH
from fairmicro.schema.derive import catalog_tables


def _columns(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str, str]]:
    rows = con.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_name IN (SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE') "
        "AND table_name <> 'schema_migrations'"
    ).fetchall()
    return set(rows)


def test_migrated_catalog_matches_schema_ddl(catalog_path):
    expected = duckdb.connect()
    expected.execute(DDL_PATH.read_text(encoding="utf-8"))
    with Catalog.open(catalog_path) as catalog:
        assert _columns(catalog.con) == _columns(expected), (
            "catalog migrations drifted from the schema: add a migration for the schema change"
        )


def test_every_schema_table_exists_after_migration(catalog_path):
    with Catalog.open(catalog_path) as catalog:
        tables = {r[0] for r in catalog.con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert set(catalog_tables()) <= tables
    assert "image_metadata" in tables


def test_migrations_are_recorded_once(catalog_path):
    Catalog.open(catalog_path).close()
    with Catalog.open(catalog_path) as catalog:
        names = [r[0] for r in catalog.con.execute("SELECT name FROM schema_migrations").fetchall()]
    assert names == [name for name, _ in available_migrations()]


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO specimens (specimen_id, cooling_method) VALUES ('S1', 'dunked')",
        "INSERT INTO specimens (specimen_id, etching_time_s) VALUES ('S1', -1)",
        (
            "INSERT INTO images (sha256, path, file_format, width_px, height_px, bit_depth, channels, extractor, "
            "extractor_version) VALUES ('a', '/x', 'gif', 1, 1, 8, 1, 'generic', '0')"
        ),
    ],
)
def test_check_constraints_reject_invalid_rows(catalog_path, sql):
    with Catalog.open(catalog_path) as catalog, pytest.raises(duckdb.ConstraintException):
        catalog.con.execute(sql)


def test_view_columns_carry_schema_descriptions(catalog_path):
    with Catalog.open(catalog_path) as catalog:
        comment = catalog.con.execute(
            "SELECT comment FROM duckdb_columns() WHERE table_name = 'imaging_conditions' "
            "AND column_name = 'accelerating_voltage_kv'"
        ).fetchone()[0]
    assert "[kV]" in comment


def test_catalog_docs_are_current():
    from pathlib import Path

    from fairmicro.catalog.docs import render

    page = Path(__file__).resolve().parents[2] / "docs" / "catalog.md"
    assert page.read_text(encoding="utf-8") == render(), "run python -m fairmicro.catalog.docs docs/catalog.md"


def _shape(con: duckdb.DuckDBPyConnection) -> tuple[list, list, list]:
    columns = con.execute(
        "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns ORDER BY ALL"
    ).fetchall()
    constraints = con.execute(
        "SELECT table_name, constraint_type, constraint_text FROM duckdb_constraints() ORDER BY ALL"
    ).fetchall()
    ledger = con.execute("SELECT name FROM schema_migrations ORDER BY name").fetchall()
    return columns, constraints, ledger


def test_a_new_catalog_created_at_once_equals_one_migrated_step_by_step(tmp_path):
    """A new catalog takes every migration in one transaction; an old one upgrades one by one: same result."""
    from fairmicro.catalog.migrations import migrate

    stepwise = tmp_path / "stepwise.duckdb"
    with duckdb.connect(str(stepwise)) as con:
        first_name, first_sql = available_migrations()[0]
        con.execute("CREATE TABLE schema_migrations (name VARCHAR PRIMARY KEY, applied_at TIMESTAMP NOT NULL)")
        con.execute(first_sql)
        con.execute("INSERT INTO schema_migrations VALUES (?, now()::TIMESTAMP)", [first_name])
        assert migrate(con) == [name for name, _ in available_migrations()[1:]]  # the rest, one by one
        upgraded = _shape(con)
    with Catalog.open(tmp_path / "new.duckdb") as catalog:
        created = _shape(catalog.con)
    assert created == upgraded
    assert [row[0] for row in created[2]] == [name for name, _ in available_migrations()]


def test_a_new_catalog_whose_creation_fails_keeps_nothing(tmp_path, monkeypatch):
    """One migration failing while a new catalog is created: no table of the earlier ones is left half-made."""
    from fairmicro.catalog import migrations
    from fairmicro.errors import CatalogError

    shipped = migrations.available_migrations()
    broken = [*shipped[:3], ("0004_broken", "CREATE TABLE broken (x INTEGER); SELECT * FROM no_such_table;")]
    monkeypatch.setattr(migrations, "available_migrations", lambda: broken)
    path = tmp_path / "new.duckdb"
    with duckdb.connect(str(path)) as con:
        with pytest.raises(CatalogError, match="0004_broken"):
            migrations.migrate(con)
        tables = con.execute("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall()
    assert tables == [("schema_migrations",)]
    with duckdb.connect(str(path)) as con:
        assert con.execute("SELECT count(*) FROM schema_migrations").fetchone() == (0,)

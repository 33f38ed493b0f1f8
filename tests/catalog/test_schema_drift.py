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

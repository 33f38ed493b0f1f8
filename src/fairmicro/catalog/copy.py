"""Copy a whole catalog between backends: a lab's file into the shared DuckLake catalog, and back.

:func:`copy_catalog` creates (migrates) the target, refuses one that already
holds rows, copies every table in one transaction on one DuckDB engine that
has both catalogs attached, rebuilds the target's ``image_metadata`` view
(lab columns), and compares each table's row count and content digest on both
sides. The digest is order-independent: the md5 of the sorted md5s of each
row's text, computed by the same engine on both sides.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import duckdb

from fairmicro.catalog.ducklake import ALIAS, connect_lake, is_lake, shown_location
from fairmicro.errors import CatalogError, first_line

LEDGER = "schema_migrations"


@dataclass(frozen=True)
class TableCopy:
    """One table's row counts and content digests on both sides."""

    table: str
    source_rows: int
    target_rows: int
    source_digest: str
    target_digest: str

    @property
    def same(self) -> bool:
        """Whether the target holds exactly the source's rows."""
        return (self.source_rows, self.source_digest) == (self.target_rows, self.target_digest)


def copy_catalog(source: str | Path, target: str | Path) -> list[TableCopy]:
    """Copy every table of catalog ``source`` into the new or empty catalog ``target``.

    Raises
    ------
    CatalogError
        When both are DuckLake catalogs or the same one, the target holds rows
        already (it is left unchanged), or the copy fails (nothing is kept).
    """
    from fairmicro.catalog.store import Catalog

    if str(source) == str(target):
        raise CatalogError(f"{shown_location(str(target))}: source and target are the same catalog")
    if is_lake(source) and is_lake(target):
        raise CatalogError("copy between two DuckLake catalogs is not supported; copy through a catalog file")
    Catalog.open(source, read_only=True).close()  # exists, is a catalog, is migrated
    with Catalog.open(target) as created:  # created and migrated
        _refuse_rows(created, target)
    con, src, dst = _engine(source, target)
    try:
        tables = _tables(con, src)
        _copy(con, src, dst, tables, target)
        compared = [_compare(con, src, dst, table) for table in tables]
    finally:
        con.close()
    refresh_lab_view(target)
    return compared


def refresh_lab_view(target: str | Path) -> None:
    """Re-create ``image_metadata`` of ``target`` with the lab columns its specimen tables registered."""
    from fairmicro.catalog.backend import atomic
    from fairmicro.catalog.store import Catalog

    with Catalog.open(target) as catalog:
        atomic(catalog, catalog.refresh_image_metadata, what="image_metadata view")


def _refuse_rows(catalog: object, target: str | Path) -> None:
    tables = [t for t in _tables(catalog.con, None) if t != LEDGER]  # type: ignore[attr-defined]
    for table in tables:
        row = catalog.con.execute(f'SELECT count(*) FROM "{table}"').fetchone()  # type: ignore[attr-defined]
        if row and row[0]:
            raise CatalogError(
                f"{shown_location(str(target))}: target catalog is not empty ({table} holds {row[0]} rows); "
                "it was left unchanged. Copy into a new catalog"
            )


def _engine(source: str | Path, target: str | Path) -> tuple[duckdb.DuckDBPyConnection, str, str]:
    """One DuckDB engine with both catalogs attached: (connection, source alias, target alias)."""
    lake = source if is_lake(source) else target if is_lake(target) else None
    if lake is None:
        con = duckdb.connect()
        con.execute(f"ATTACH '{_quoted(source)}' AS src (READ_ONLY)")
        con.execute(f"ATTACH '{_quoted(target)}' AS dst")
        return con, "src", "dst"
    wrapped = connect_lake(str(lake), read_only=lake == source)
    raw = wrapped._con  # plain statements only from here on
    other = target if lake == source else source
    mode = "" if lake == source else " (READ_ONLY)"
    raw.execute(f"ATTACH '{_quoted(other)}' AS other{mode}")
    return (raw, ALIAS, "other") if lake == source else (raw, "other", ALIAS)


def _quoted(location: str | Path) -> str:
    return str(location).replace("'", "''")


def _tables(con: duckdb.DuckDBPyConnection, database: str | None) -> list[str]:
    where = "current_database()" if database is None else "?"
    sql = f"SELECT table_name FROM duckdb_tables() WHERE database_name = {where} AND schema_name = 'main' ORDER BY 1"
    rows = con.execute(sql, [] if database is None else [database]).fetchall()
    return [row[0] for row in rows]


def _columns(con: duckdb.DuckDBPyConnection, database: str, table: str) -> list[str]:
    sql = (
        "SELECT column_name FROM duckdb_columns() WHERE database_name = ? AND schema_name = 'main' "
        "AND table_name = ? ORDER BY column_index"
    )
    return [row[0] for row in con.execute(sql, [database, table]).fetchall()]


def _copy(con: duckdb.DuckDBPyConnection, src: str, dst: str, tables: list[str], target: str | Path) -> None:
    con.execute("BEGIN TRANSACTION")
    try:
        for table in tables:
            if table == LEDGER:
                continue  # the target's own migrations are recorded already
            wanted = set(_columns(con, src, table))
            columns = ", ".join(f'"{c}"' for c in _columns(con, dst, table) if c in wanted)
            con.execute(f'INSERT INTO {dst}.main."{table}" ({columns}) SELECT {columns} FROM {src}.main."{table}"')
        con.execute("COMMIT")
    except duckdb.Error as exc:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise CatalogError(f"{shown_location(str(target))}: copy failed, nothing was kept ({first_line(exc)})") from exc


def _digest(con: duckdb.DuckDBPyConnection, database: str, table: str, columns: list[str]) -> tuple[int, str]:
    listed = ", ".join(f'"{c}"' for c in columns)
    row = con.execute(
        f"SELECT count(*), md5(coalesce(string_agg(h, '' ORDER BY h), '')) FROM "
        f'(SELECT md5(CAST(r AS VARCHAR)) AS h FROM (SELECT {listed} FROM {database}.main."{table}") AS r)'
    ).fetchone()
    return int(row[0]), str(row[1])  # type: ignore[index]


def _compare(con: duckdb.DuckDBPyConnection, src: str, dst: str, table: str) -> TableCopy:
    columns = [c for c in _columns(con, src, table) if c in set(_columns(con, dst, table))]
    if table == LEDGER:
        columns = ["name"]  # applied_at is when each side migrated
    source_rows, source_digest = _digest(con, src, table, columns)
    target_rows, target_digest = _digest(con, dst, table, columns)
    return TableCopy(table, source_rows, target_rows, source_digest, target_digest)

"""Named, ordered schema migrations, each applied once in its own transaction.

A new local catalog takes them all in one transaction instead (created whole
or not at all, and one commit to disk).

A migration is a file ``NNNN_name.sql`` in ``catalog/sql/``; applied
names are recorded in ``schema_migrations``. Never edit an applied migration:
add a new one (tests fail if the migrated catalog drifts from the schema).
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from importlib import resources

import duckdb

from fairmicro.catalog.binding import execute_bound
from fairmicro.errors import CatalogError, first_line

LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    name VARCHAR PRIMARY KEY,
    applied_at TIMESTAMP NOT NULL
)
"""


def available_migrations() -> list[tuple[str, str]]:
    """(name, sql) of every migration shipped with the package, in order."""
    folder = resources.files("fairmicro.catalog") / "sql"
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)
    return [(f.name.removesuffix(".sql"), f.read_text(encoding="utf-8")) for f in files]


def applied_migrations(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Names of migrations already applied to this catalog."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
    ).fetchone()
    if not exists or not exists[0]:
        return []
    return [row[0] for row in con.execute("SELECT name FROM schema_migrations ORDER BY name").fetchall()]


def pending_migrations(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Names of shipped migrations not yet applied."""
    done = set(applied_migrations(con))
    return [name for name, _ in available_migrations() if name not in done]


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply pending migrations; returns the names applied.

    On a shared (DuckLake) catalog two processes may start together: a
    migration that conflicts with the other's is retried, and then finds
    itself recorded (see :func:`fairmicro.catalog.backend.atomic`).
    """
    if hasattr(con, "snapshot"):  # a LakeConnection
        from fairmicro.catalog.backend import backoff, is_conflict

        for attempt in range(1, 13):
            try:
                return _migrate(con)
            except (duckdb.Error, CatalogError) as exc:
                if attempt == 12 or not (is_conflict(exc) or "already exists" in str(exc)):
                    raise
                backoff(attempt)
    return _migrate(con)


def _migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    con.execute(LEDGER)
    done = set(applied_migrations(con))
    if not done and not hasattr(con, "snapshot"):
        return _create(con)
    applied = []
    for name, sql in available_migrations():
        if name in done:
            continue
        try:
            con.execute("BEGIN TRANSACTION")
            if _recorded(con, name):  # another process applied it since the ledger was read (a shared catalog)
                con.execute("ROLLBACK")
                continue
            con.execute(sql)
            execute_bound(
                con, "INSERT INTO schema_migrations VALUES (?, ?)", [name, datetime.now(UTC).replace(tzinfo=None)]
            )
            con.execute("COMMIT")
        except duckdb.Error as exc:
            with contextlib.suppress(duckdb.Error):  # a failed COMMIT has ended the transaction already
                con.execute("ROLLBACK")
            raise CatalogError(f"migration {name} failed: {first_line(exc)}") from exc
        applied.append(name)
    return applied


def _create(con: duckdb.DuckDBPyConnection) -> list[str]:
    """A new local catalog: every migration in one transaction (one commit to disk instead of one per migration).

    The result is the same catalog, and the same ledger, as applying them one by one.
    """
    migrations = available_migrations()
    now = datetime.now(UTC).replace(tzinfo=None)
    try:
        con.execute("BEGIN TRANSACTION")
        for name, sql in migrations:
            try:
                con.execute(sql)
            except duckdb.Error as exc:
                raise CatalogError(f"migration {name} failed: {first_line(exc)}") from exc
        execute_bound(
            con,
            "INSERT INTO schema_migrations SELECT unnest(?::VARCHAR[]), ?",
            [[name for name, _ in migrations], now],
        )
        con.execute("COMMIT")
    except (duckdb.Error, CatalogError) as exc:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        if isinstance(exc, CatalogError):
            raise
        raise CatalogError(f"creating the catalog failed: {first_line(exc)}") from exc
    return [name for name, _ in migrations]


def _recorded(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    row = execute_bound(con, "SELECT count(*) FROM schema_migrations WHERE name = ?", [name]).fetchone()
    return bool(row and row[0])

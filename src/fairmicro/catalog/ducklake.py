"""A shared lab catalog: DuckLake, its metadata in PostgreSQL, its data files under a shared data path.

``--catalog ducklake:postgres:dbname=fairmicro host=... user=...`` with
``--data-path DIR`` (or ``$FAIRMICRO_DATA_PATH``) opens an in-memory DuckDB,
loads the ``ducklake`` and ``postgres_scanner`` extensions from their pinned
``duckdb-extension-*`` packages (never from the network: autoinstall and
autoload stay off), attaches the lake and makes it the default database. The
connection is wrapped in :class:`LakeConnection`, which answers the calls the
catalog makes exactly as a catalog file's connection does (``ON CONFLICT`` is
rewritten to ``MERGE``, constraints are stripped from DDL: see
:mod:`fairmicro.catalog.lake_sql`), so nothing above the catalog knows which
backend it talks to.

Several writers at once: DuckLake lets concurrent appends commit side by side,
so two writers could both add the same image. Every write transaction
therefore first touches one ledger row (``schema_migrations``' first entry):
two write transactions that overlap conflict at commit, and the later one is
retried (:func:`fairmicro.catalog.backend.atomic`) and then sees the other's
rows. Reading and extracting files happens outside transactions, so writers
still work in parallel; only their short commits take turns.

Every other write transaction (recording a build, a run, its predictions, a
review, a qualification, a publication) is retried the same way, without its
caller's help: the connection keeps a journal of the statements of the open
write transaction, and when its COMMIT conflicts it rolls back, waits
(jittered backoff) and replays the journal in a new transaction. Replaying is
sound because these transactions decide in SQL, not in Python, what a
concurrent writer may have changed (``ON CONFLICT``/``MERGE``, ``coalesce``
fills, ``WHERE`` guards). :func:`fairmicro.catalog.backend.atomic` turns
replaying off for its own work, which it re-runs whole instead.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import duckdb

from fairmicro.catalog.lake_sql import lake_ddl, rewrite_conflict
from fairmicro.errors import CatalogError, SandboxError, first_line

PREFIX = "ducklake:"
DATA_PATH_ENV = "FAIRMICRO_DATA_PATH"
ALIAS = "lake"
METADATA = f"__ducklake_metadata_{ALIAS}"
EXTENSIONS = ("postgres_scanner", "ducklake")
WRITE_TOKEN = "UPDATE schema_migrations SET applied_at = applied_at WHERE name = '0001_initial'"
CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}
_INIT_RACE = re.compile(r"Failed to initialize DuckLake|duplicate key|already exists|conflict", re.IGNORECASE)
_BEGIN = re.compile(r"^\s*BEGIN\b", re.IGNORECASE)
_COMMIT = re.compile(r"^\s*(COMMIT|END)\b", re.IGNORECASE)
_ROLLBACK = re.compile(r"^\s*(ROLLBACK|ABORT)\b", re.IGNORECASE)
_DDL = re.compile(r"\bCREATE\b", re.IGNORECASE)
# Routes out of the lake that external-access-off does not close: the attached metadata database
# (PostgreSQL, with its connection string) and the postgres scanner's pass-through functions.
_METADATA_ROUTE = re.compile(r"__ducklake_metadata|\bpostgres_\w+\s*\(|\bducklake_\w+\s*\(", re.IGNORECASE)


@dataclass
class _Settings:
    data_path: str | None = None
    at_snapshot: int | None = None


SETTINGS = _Settings()


def is_lake(location: str | Path | None) -> bool:
    """Whether a ``--catalog`` value names a DuckLake catalog rather than a DuckDB file."""
    return location is not None and str(location).startswith(PREFIX)


def set_data_path(path: str | Path | None) -> None:
    """This process's ``--data-path`` (overrides ``$FAIRMICRO_DATA_PATH``)."""
    SETTINGS.data_path = str(path) if path else None


def set_snapshot(snapshot: int | None) -> None:
    """Open DuckLake catalogs read-only at this snapshot (``build --at-snapshot``); None: the latest."""
    SETTINGS.at_snapshot = snapshot


def data_path() -> str | None:
    """The data path asked for, absolute for a local folder; URLs (``s3://...``) pass through."""
    raw = SETTINGS.data_path or os.environ.get(DATA_PATH_ENV) or None
    if raw is None or "://" in raw:
        return raw
    return str(Path(raw).expanduser().absolute()) + "/"


def extension_file(name: str) -> Path:
    """The pinned extension ``name`` for this DuckDB, from its ``duckdb-extension-<name>`` package.

    Raises
    ------
    CatalogError
        When the package is not installed.
    """
    spec = importlib.util.find_spec(f"duckdb_extension_{name}")
    folder = Path(next(iter(spec.submodule_search_locations or ()), "")) if spec else None
    version = duckdb.__version__
    path = folder / "extensions" / f"v{version}" / f"{name}.duckdb_extension" if folder else None
    if path is None or not path.is_file():
        raise CatalogError(
            f"DuckLake catalogs need the DuckDB extension {name!r} for DuckDB {version}; "
            f"install it with `pip install duckdb-extension-{name}=={version}` (or fairmicro[shared])"
        )
    return path


def _escaped(text: str) -> str:
    return text.replace("'", "''")


def connect_lake(location: str, *, read_only: bool) -> LakeConnection:
    """Open the DuckLake catalog ``location`` (``ducklake:postgres:...``).

    Raises
    ------
    CatalogError
        One line naming the catalog when an extension is missing, PostgreSQL
        cannot be reached or the data path does not match the catalog's.
    """
    from fairmicro.catalog.backend import RETRIES, backoff

    files = [extension_file(name) for name in EXTENSIONS]
    for attempt in range(1, RETRIES + 1):
        con = duckdb.connect(config=CONFIG)
        try:
            for file in files:
                con.execute(f"LOAD '{_escaped(str(file))}'")
            options = _attach_options(read_only)
            con.execute(f"ATTACH '{_escaped(location)}' AS {ALIAS}" + (f" ({', '.join(options)})" if options else ""))
            con.execute(f"USE {ALIAS}")
            return LakeConnection(con, location, read_only)
        except duckdb.Error as exc:
            con.close()
            if attempt < RETRIES and _INIT_RACE.search(str(exc)):
                backoff(attempt)  # another process is creating the lake's metadata tables right now
                continue
            raise CatalogError(
                f"{shown_location(location)}: cannot open the DuckLake catalog ({first_line(exc)})"
            ) from exc
    raise AssertionError("unreachable")


def _attach_options(read_only: bool) -> list[str]:
    options: list[str] = []
    path = data_path()
    if read_only:
        options.append("READ_ONLY")
        if SETTINGS.at_snapshot is not None:
            options.append(f"SNAPSHOT_VERSION {int(SETTINGS.at_snapshot)}")
    elif path:
        if "://" not in path:
            Path(path).mkdir(parents=True, exist_ok=True)
        options.append(f"DATA_PATH '{_escaped(path)}'")
    return options


def shown_location(location: str) -> str:
    """The location without a password, for messages."""
    return re.sub(r"password=\S+", "password=***", location)


class LakeConnection:
    """A DuckDB connection whose default database is a DuckLake catalog; quacks as ``DuckDBPyConnection``."""

    def __init__(self, con: duckdb.DuckDBPyConnection, location: str, read_only: bool) -> None:
        self._con = con
        self.location = location
        self.read_only = read_only
        self.sandboxed = False
        self.replay = True  # retry a conflicting COMMIT by replaying the transaction's statements
        self._journal: list[tuple[str, Any]] | None = None  # statements of the open write transaction

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
        """Run ``sql`` as the catalog file would (see the module docstring)."""
        if self.sandboxed and _METADATA_ROUTE.search(sql):
            raise SandboxError(
                "refused: the query reaches the shared catalog's metadata database or its extensions; "
                "`fairmicro query` is sandboxed (pass --unsafe to allow it)"
            )
        if _COMMIT.match(sql) and self._journal is not None:
            return self._commit()
        if _ROLLBACK.match(sql):
            self._journal = None
        result = self._run(sql, params)
        if _BEGIN.match(sql) and not self.read_only:
            self._con.execute(WRITE_TOKEN)
            self._journal = []
        elif self._journal is not None:
            self._journal.append((sql, params))
        return result

    def _run(self, sql: str, params: Sequence[Any] | dict[str, Any] | None) -> duckdb.DuckDBPyConnection:
        if params is None and _DDL.search(sql):
            return self._ddl(sql)
        return self._con.execute(rewrite_conflict(sql), params) if params else self._con.execute(rewrite_conflict(sql))

    def _commit(self) -> duckdb.DuckDBPyConnection:
        """COMMIT the open write transaction; after a conflict, replay it in a new one (bounded, with backoff)."""
        from fairmicro.catalog.backend import RETRIES, backoff, is_conflict

        journal, self._journal = self._journal or [], None
        for attempt in range(1, RETRIES + 1):
            try:
                return self._con.execute("COMMIT")
            except duckdb.Error as exc:
                if attempt == RETRIES or not self.replay or not is_conflict(exc):
                    raise
                with contextlib.suppress(duckdb.Error):
                    self._con.execute("ROLLBACK")
                backoff(attempt)
                self._replay(journal)
        raise AssertionError("unreachable")

    def _replay(self, journal: list[tuple[str, Any]]) -> None:
        self._con.execute("BEGIN TRANSACTION")
        try:
            self._con.execute(WRITE_TOKEN)
            for sql, params in journal:
                self._run(sql, params)
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                self._con.execute("ROLLBACK")
            raise

    def _ddl(self, sql: str) -> duckdb.DuckDBPyConnection:
        result = self._con
        for statement in self._con.extract_statements(sql):
            translated = lake_ddl(statement.query)
            if translated is not None:
                result = self._con.execute(translated)
        return result

    def cursor(self) -> LakeConnection:
        """A cursor on the same lake (its own connection, the lake its default database)."""
        cursor = self._con.cursor()
        cursor.execute(f"USE {ALIAS}")
        twin = LakeConnection(cursor, self.location, self.read_only)
        twin.sandboxed = self.sandboxed
        return twin

    def snapshot(self) -> int:
        """The id of the lake snapshot this connection reads."""
        row = self._con.execute(f"SELECT id FROM {ALIAS}.current_snapshot()").fetchone()
        return int(row[0]) if row else 0

    def data_path(self) -> str:
        """Where the lake keeps its data files."""
        row = self._con.execute(f"SELECT value FROM {METADATA}.ducklake_metadata WHERE key = 'data_path'").fetchone()
        return str(row[0]) if row else ""

    def close(self) -> None:
        """Close the connection."""
        self._con.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""Read-only, sandboxed SQL over the catalog's documented views and tables.

Two layers keep ``fairmicro query`` from touching anything but the catalog:

1. the engine: the connection is confined by :func:`fairmicro.catalog.sandbox.sandbox`
   (no file, network or extension access, configuration locked) and, unless
   ``write``, opened read-only. This layer holds on its own for read-only queries.
2. a statement check: only SELECT (and EXPLAIN of an allowed statement) runs by
   default; ``write`` adds statements that change the catalog's tables; statements
   that reach files, extensions or settings (COPY, EXPORT, ATTACH, LOAD/INSTALL,
   SET, PRAGMA, CALL, PREPARE/EXECUTE) need ``unsafe``.

``unsafe`` lifts both layers' file restrictions (the caller warns the user).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import duckdb

from fairmicro.catalog.sandbox import sandbox
from fairmicro.catalog.store import Catalog, QueryResult
from fairmicro.errors import FairmicroError, ReadOnlyQueryError, SandboxError, first_line

ST = duckdb.StatementType
READ_ONLY_STATEMENTS = frozenset({ST.SELECT, ST.EXPLAIN})
CATALOG_WRITES = frozenset(
    {
        ST.INSERT,
        ST.UPDATE,
        ST.DELETE,
        ST.CREATE,
        ST.DROP,
        ST.ALTER,
        ST.TRANSACTION,
        ST.MERGE_INTO,
        ST.CREATE_FUNC,
        ST.ANALYZE,
        ST.VACUUM,
    }
)
# Everything else (COPY, EXPORT, COPY_DATABASE, ATTACH, DETACH, LOAD, SET, PRAGMA,
# CALL, PREPARE, EXECUTE, ...) can reach files, extensions or settings.

# Table functions that change the engine itself, whatever statement calls them. On a
# writable connection DuckDB still lets enable_logging(storage='file') point at paths it
# allows (the catalog's temp folder), and a failed log write aborts the process later.
_ENGINE_STATE = re.compile(
    r"\b(enable_logging|disable_logging|truncate_duckdb_logs|checkpoint|force_checkpoint)\s*\(",
    re.IGNORECASE,
)
_SKIP = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", re.DOTALL)
_EXPLAIN = re.compile(r"EXPLAIN\b", re.IGNORECASE)
_ANALYZE = re.compile(r"ANALY[SZ]E\b", re.IGNORECASE)


def statement_types(con: duckdb.DuckDBPyConnection, sql: str) -> list[duckdb.StatementType]:
    """Types of the statements in ``sql`` (parsing only, nothing runs)."""
    try:
        return [statement.type for statement in con.extract_statements(sql)]
    except duckdb.Error as exc:
        raise FairmicroError(f"query does not parse: {first_line(exc, 2)}") from exc


def explained_statement(sql: str) -> str | None:
    """The statement an ``EXPLAIN [ANALYZE] [(options)] ...`` statement would run, or None if unclear."""
    position = _SKIP.match(sql).end()  # type: ignore[union-attr]
    match = _EXPLAIN.match(sql, position)
    if not match:
        return None
    position = _SKIP.match(sql, match.end()).end()  # type: ignore[union-attr]
    if analyze := _ANALYZE.match(sql, position):
        position = _SKIP.match(sql, analyze.end()).end()  # type: ignore[union-attr]
    if sql.startswith("(", position):
        close = sql.find(")", position)
        if close < 0:
            return None
        position = close + 1
    return sql[position:]


def engine_state_call(sql: str) -> str | None:
    """The name of a function in ``sql`` that changes the engine's logging or checkpoints, if any."""
    match = _ENGINE_STATE.search(sql)
    return match.group(1) if match else None


def refusal(
    con: duckdb.DuckDBPyConnection, statement: str, kind: duckdb.StatementType, *, write: bool, unsafe: bool
) -> str | None:
    """Why ``statement`` (of type ``kind``) may not run with these flags, or None when it may."""
    if not unsafe and (name := engine_state_call(statement)):
        return f"{name}() changes the database engine's logging or checkpoints (--unsafe allows it)"
    if kind == ST.EXPLAIN:
        inner = explained_statement(statement)
        kinds = statement_types(con, inner) if inner and inner.strip() else []
        if len(kinds) != 1:
            return None if unsafe else "EXPLAIN of a statement fairmicro cannot identify"
        return refusal(con, inner or "", kinds[0], write=write, unsafe=unsafe)
    if kind in READ_ONLY_STATEMENTS or (unsafe and kind not in CATALOG_WRITES):
        return None
    if kind in CATALOG_WRITES:
        if write:
            return None
        return (
            f"{kind.name} statement would change the catalog; "
            "`fairmicro query` is read-only (pass --write to allow changes)"
        )
    return (
        f"{kind.name} statement can read or write files, extensions or settings outside the catalog; "
        "`fairmicro query` is read-only and sandboxed (--write allows changes to the catalog's tables, "
        "--unsafe allows file access)"
    )


def check_statements(catalog: Catalog, sql: str, *, write: bool = False, unsafe: bool = False) -> list[str]:
    """The statements of ``sql``, refused (second layer) unless the flags allow each one.

    Raises
    ------
    ReadOnlyQueryError
        Naming the first statement the flags do not allow.
    FairmicroError
        If ``sql`` does not parse or is empty.
    """
    try:
        statements = catalog.con.extract_statements(sql)
    except duckdb.Error as exc:
        raise FairmicroError(f"query does not parse: {first_line(exc, 2)}") from exc
    if not statements:
        raise FairmicroError("query is empty")
    for statement in statements:
        reason = refusal(catalog.con, statement.query, statement.type, write=write, unsafe=unsafe)
        if reason:
            raise ReadOnlyQueryError(f"refused: {reason}")
    return [statement.query for statement in statements]


def run_query(
    catalog: Catalog,
    sql: str,
    *,
    write: bool = False,
    unsafe: bool = False,
    params: Sequence[Any] | Mapping[str, Any] | None = None,
) -> QueryResult:
    """Run ``sql`` on a sandboxed connection; unless ``write``, anything but SELECT/EXPLAIN is refused.

    With several statements the result of the last one is returned.

    Parameters
    ----------
    params
        Values bound to the ``?`` (or ``$name``) placeholders of ``sql``, which
        must then be one statement.
    write
        Allow statements that change the catalog's tables (the catalog must be open read-write).
    unsafe
        Run without the sandbox: statements may read and write files, install
        and load extensions and change settings.

    Raises
    ------
    ReadOnlyQueryError
        For a statement the flags do not allow.
    SandboxError
        When the engine refused to reach a file, the network or an extension.
    FairmicroError
        When the query does not parse or fails.
    """
    statements = check_statements(catalog, sql, write=write, unsafe=unsafe)
    if params is not None and len(statements) > 1:
        raise FairmicroError(f"query has {len(statements)} statements; bound parameters need exactly one")
    if not unsafe:
        sandbox(catalog.con, read_only=catalog.read_only)
    result = QueryResult([], [])
    try:
        for statement in statements:
            result = catalog.query(statement, params)  # type: ignore[arg-type]  # DuckDB binds a dict by name
    except duckdb.PermissionException as exc:
        raise SandboxError(
            f"refused: the query tried to reach files, the network or extensions outside the catalog "
            f"({first_line(exc)}); `fairmicro query` is sandboxed (pass --unsafe to allow file access)"
        ) from exc
    except duckdb.Error as exc:
        raise FairmicroError(f"query failed: {first_line(exc, 2)}") from exc
    return result

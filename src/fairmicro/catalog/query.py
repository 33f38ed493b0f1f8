"""Read-only SQL over the catalog's documented views and tables."""

from __future__ import annotations

import duckdb

from fairmicro.catalog.store import Catalog, QueryResult
from fairmicro.errors import FairmicroError, ReadOnlyQueryError, first_line

READ_ONLY_STATEMENTS = frozenset({duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN})


def statement_types(con: duckdb.DuckDBPyConnection, sql: str) -> list[duckdb.StatementType]:
    """Types of the statements in ``sql`` (parsing only, nothing runs)."""
    try:
        return [statement.type for statement in con.extract_statements(sql)]
    except duckdb.Error as exc:
        raise FairmicroError(f"query does not parse: {first_line(exc, 2)}") from exc


def run_query(catalog: Catalog, sql: str, *, write: bool = False) -> QueryResult:
    """Run ``sql``; unless ``write``, anything but SELECT/EXPLAIN is refused.

    With several statements the result of the last one is returned.
    """
    types = statement_types(catalog.con, sql)
    if not types:
        raise FairmicroError("query is empty")
    refused = [t.name for t in types if t not in READ_ONLY_STATEMENTS]
    if refused and not write:
        raise ReadOnlyQueryError(
            f"refused: {refused[0]} statement would change the catalog; "
            "`fairmicro query` is read-only (pass --write to allow changes)"
        )
    result = QueryResult([], [])
    try:
        for statement in catalog.con.extract_statements(sql):
            result = catalog.query(statement.query)
    except duckdb.Error as exc:
        raise FairmicroError(f"query failed: {first_line(exc, 2)}") from exc
    return result

"""The catalog's SQL, adapted to DuckLake from the one schema (``catalog/sql/*.sql``).

DuckLake 1.5.5 has no PRIMARY KEY, UNIQUE, CHECK or FOREIGN KEY constraints,
no indexes, sequences or user types, and so no ``INSERT ... ON CONFLICT``. It
does have NOT NULL, DEFAULT, ``ALTER TABLE ADD/DROP/RENAME COLUMN``, views,
comments and ``MERGE INTO``. So, per statement:

* :func:`lake_ddl` strips the constraints from ``CREATE TABLE`` (NOT NULL and
  DEFAULT stay) and drops ``CREATE INDEX``; everything else runs as written.
* :func:`rewrite_conflict` turns ``INSERT INTO t (cols) <rows> ON CONFLICT
  [(keys)] DO NOTHING | DO UPDATE SET ...`` into the ``MERGE INTO`` that does
  the same, keyed on the table's primary key. The keys come from the same
  migrations applied to an in-memory DuckDB (:func:`primary_keys`), never
  typed a second time. Uniqueness across writers is then kept by content
  addressing plus serialised write transactions (see :mod:`fairmicro.catalog.ducklake`).
"""

from __future__ import annotations

import functools
import re

import duckdb

_CONSTRAINT_ITEM = re.compile(r"\s*(PRIMARY\s+KEY|UNIQUE|CHECK|FOREIGN\s+KEY|CONSTRAINT)\b", re.IGNORECASE)
_COLUMN_CONSTRAINT = re.compile(r"\s+(PRIMARY\s+KEY|UNIQUE)\b", re.IGNORECASE)
_CHECK = re.compile(r"\s+CHECK\s*\(", re.IGNORECASE)
_REFERENCES = re.compile(r"\s+REFERENCES\s+\w+\s*(\([^)]*\))?", re.IGNORECASE)
_LEADING = re.compile(r"^(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", re.DOTALL)
_CREATE_TABLE = re.compile(r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?TABLE\b", re.IGNORECASE)
_UNSUPPORTED = re.compile(r"^\s*CREATE\s+(?:UNIQUE\s+)?(INDEX|SEQUENCE|TYPE)\b", re.IGNORECASE)
_INSERT_CONFLICT = re.compile(
    r"^\s*INSERT\s+INTO\s+(?P<table>\w+)\s*\((?P<columns>[^)]*)\)\s*(?P<rows>.*?)\s+"
    r"ON\s+CONFLICT\s*(?:\((?P<keys>[^)]*)\))?\s*DO\s+(?P<action>NOTHING|UPDATE\s+SET\s+(?P<sets>.*?))\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)


def _close_paren(text: str, start: int) -> int:
    """Index just past the parenthesis that closes the one opened at ``text[start]``."""
    depth, quote = 0, False
    for index in range(start, len(text)):
        char = text[index]
        if char == "'":
            quote = not quote
        elif not quote and char == "(":
            depth += 1
        elif not quote and char == ")":
            depth -= 1
            if depth == 0:
                return index + 1
    return len(text)


def _split_items(body: str) -> list[str]:
    """Top-level comma-separated items of a ``CREATE TABLE`` body."""
    items, depth, quote, start = [], 0, False, 0
    for index, char in enumerate(body):
        if char == "'":
            quote = not quote
        elif not quote and char in "()":
            depth += 1 if char == "(" else -1
        elif not quote and char == "," and depth == 0:
            items.append(body[start:index])
            start = index + 1
    items.append(body[start:])
    return [item for item in items if item.strip()]


def _strip_column(item: str) -> str:
    while match := _CHECK.search(item):
        item = item[: match.start()] + item[_close_paren(item, match.end() - 1) :]
    item = _REFERENCES.sub("", item)
    return _COLUMN_CONSTRAINT.sub("", item)


def lake_ddl(statement: str) -> str | None:
    """``statement`` as DuckLake accepts it; None for a statement DuckLake has no use for (an index)."""
    statement = _LEADING.sub("", statement, count=1)
    if _UNSUPPORTED.match(statement):
        return None
    if not _CREATE_TABLE.match(statement) or "(" not in statement:
        return statement
    open_at = statement.index("(")
    close_at = _close_paren(statement, open_at)
    items = _split_items(statement[open_at + 1 : close_at - 1])
    kept = [_strip_column(item) for item in items if not _CONSTRAINT_ITEM.match(item)]
    return f"{statement[: open_at + 1]}{','.join(kept)}\n{statement[close_at - 1 :]}"


@functools.cache
def primary_keys() -> dict[str, tuple[str, ...]]:
    """Primary-key columns of every catalog table, from the migrations applied to an in-memory DuckDB."""
    from fairmicro.catalog.migrations import migrate

    with duckdb.connect() as con:
        migrate(con)
        rows = con.execute(
            "SELECT table_name, constraint_column_names FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY'"
        ).fetchall()
    return {table: tuple(columns) for table, columns in rows}


def rewrite_conflict(sql: str) -> str:
    """An ``INSERT ... ON CONFLICT`` as the equivalent ``MERGE INTO``; any other statement unchanged.

    Rows given twice in one statement (same key) are inserted once.
    """
    match = _INSERT_CONFLICT.match(sql)
    if not match:
        return sql
    table = match["table"]
    columns = [c.strip() for c in match["columns"].split(",")]
    keys = [k.strip() for k in match["keys"].split(",")] if match["keys"] else list(primary_keys().get(table, ()))
    if not keys:
        return f"INSERT INTO {table} ({match['columns']}) {match['rows']}"
    source = (
        f"(SELECT * FROM ({match['rows']}) AS incoming({', '.join(columns)}) "
        f"QUALIFY row_number() OVER (PARTITION BY {', '.join(keys)}) = 1)"
    )
    on = " AND ".join(f"{table}.{key} = excluded.{key}" for key in keys)
    merge = f"MERGE INTO {table} USING {source} AS excluded ON ({on})"
    if match["sets"]:
        merge += f" WHEN MATCHED THEN UPDATE SET {match['sets']}"
    values = ", ".join(f"excluded.{c}" for c in columns)
    return f"{merge} WHEN NOT MATCHED THEN INSERT ({', '.join(columns)}) VALUES ({values})"

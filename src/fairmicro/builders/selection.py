"""Which images a build reads: a SQL predicate over the ``image_metadata`` view.

The predicate is the user's own SQL (``--where "material = 'HCCI'"``); values
can also be passed separately as bound parameters (``material = ?``). It is
checked to be one read-only SELECT before anything runs, and rows are streamed
in ``sha256`` order with a cursor, never fetched all at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

from fairmicro.catalog.query import READ_ONLY_STATEMENTS, statement_types
from fairmicro.catalog.store import Catalog
from fairmicro.errors import DatasetBuildError

VIEW = "image_metadata"
FETCH_ROWS = 512


@dataclass(frozen=True)
class Selection:
    """A predicate over ``image_metadata`` and its bound parameters.

    Parameters
    ----------
    where
        SQL boolean expression, e.g. ``"material = 'HCCI' AND label IS NOT NULL"``.
    params
        Values for ``?`` placeholders in ``where``.
    """

    where: str = "TRUE"
    params: tuple[Any, ...] = field(default_factory=tuple)

    def sql(self, columns: Sequence[str]) -> str:
        """The full SELECT of ``columns`` for this predicate, in ``sha256`` order.

        The predicate stands on its own lines, so a trailing ``--`` comment in
        it cannot swallow the ORDER BY.
        """
        names = ", ".join(_quote_identifier(c) for c in columns)
        return f"SELECT {names} FROM {VIEW} WHERE (\n{self.where}\n)\nORDER BY sha256"


def _quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def view_columns(catalog: Catalog) -> list[str]:
    """Column names of ``image_metadata`` in this catalog."""
    cursor = catalog.con.cursor()
    try:
        cursor.execute(f"SELECT * FROM {VIEW} LIMIT 0")
        return [d[0] for d in cursor.description]
    finally:
        cursor.close()


def check_selection(catalog: Catalog, selection: Selection, needed: Sequence[str]) -> None:
    """Refuse a predicate that is not one SELECT, or columns the view lacks.

    Raises
    ------
    DatasetBuildError
        Naming the offending statement or column and the columns available.
    """
    available = view_columns(catalog)
    missing = [c for c in needed if c not in available]
    if missing:
        raise DatasetBuildError(
            f"column {missing[0]!r} is not in {VIEW}; available: {', '.join(available)}"
        )
    types = statement_types(catalog.con, selection.sql(["sha256"]))
    if len(types) != 1 or types[0] not in READ_ONLY_STATEMENTS:
        raise DatasetBuildError(
            f"--where {selection.where!r} must be a single boolean expression over {VIEW}, "
            "not further statements"
        )


def iter_rows(catalog: Catalog, selection: Selection, columns: Sequence[str]) -> Iterator[dict[str, Any]]:
    """Selected rows as dicts of ``columns``, streamed in ``sha256`` order.

    Raises
    ------
    DatasetBuildError
        If the predicate fails to run (bad column, type error, wrong number of parameters).
    """
    cursor = catalog.con.cursor()
    try:
        try:
            cursor.execute(selection.sql(columns), list(selection.params))
        except duckdb.Error as exc:
            raise DatasetBuildError(f"--where {selection.where!r} failed: {_first_line(exc)}") from exc
        while batch := cursor.fetchmany(FETCH_ROWS):
            for row in batch:
                yield dict(zip(columns, row, strict=True))
    finally:
        cursor.close()


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__

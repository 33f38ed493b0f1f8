"""Which images a build reads: a SQL predicate over the ``image_metadata`` view.

The predicate is the user's own SQL (``--where "material = 'HCCI'"``); values
can also be passed separately as bound parameters (``material = ?``). It is
checked to be one read-only SELECT before anything runs, and rows are streamed
in ``sha256`` order with a cursor, never fetched all at once. Label and group
columns may also be extra columns of the lab's specimen table.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

from fairmicro.catalog.query import READ_ONLY_STATEMENTS, statement_types
from fairmicro.catalog.store import Catalog
from fairmicro.errors import DatasetBuildError

VIEW = "image_metadata"
ATTRIBUTES = "specimen_attributes"
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

    def sql(self, columns: Sequence[str], computed: Mapping[str, str] | None = None) -> str:
        """The full SELECT of ``columns`` for this predicate, in ``sha256`` order.

        ``computed`` maps output names to SQL expressions (see :func:`resolve_columns`).
        The predicate stands on its own lines, so a trailing ``--`` comment in
        it cannot swallow the ORDER BY.
        """
        computed = computed or {}
        names = ", ".join(
            f"{computed[c]} AS {_quote_identifier(c)}" if c in computed else _quote_identifier(c)
            for c in columns
        )
        return f"SELECT {names} FROM {VIEW} WHERE (\n{self.where}\n)\nORDER BY sha256"


def _quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def attribute_expr(key: str) -> str:
    """SQL reading one key of the specimen table's extra columns (``specimen_attributes`` JSON)."""
    path = '$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'
    quoted = path.replace("'", "''")
    return f"json_extract_string({ATTRIBUTES}, '{quoted}')"


def view_columns(catalog: Catalog) -> list[str]:
    """Column names of ``image_metadata`` in this catalog."""
    return catalog.columns(VIEW)


def resolve_columns(catalog: Catalog, names: Sequence[str]) -> dict[str, str]:
    """Expressions for names that are not view columns but specimen-table columns.

    A lab's specimen table may carry columns the schema has no slot for (say
    ``primary_microconstituent``); ingest keeps them in ``specimen_attributes``.
    Such a name can still be a label or a split group.

    Raises
    ------
    DatasetBuildError
        If a name is neither a view column nor a key of any specimen's attributes.
    """
    available = view_columns(catalog)
    computed = {}
    for name in dict.fromkeys(names):
        if name in available:
            continue
        expr = attribute_expr(name)
        found = catalog.query(f"SELECT count(*) FROM {VIEW} WHERE {expr} IS NOT NULL").rows[0][0]
        if not found:
            raise DatasetBuildError(
                f"{name!r} is neither a column of {VIEW} nor a specimen-table column; "
                f"available: {', '.join(available)}"
            )
        computed[name] = expr
    return computed


def check_selection(catalog: Catalog, selection: Selection) -> None:
    """Refuse a predicate that is anything but one boolean expression.

    Raises
    ------
    DatasetBuildError
        Naming the predicate.
    """
    types = statement_types(catalog.con, selection.sql(["sha256"]))
    if len(types) != 1 or types[0] not in READ_ONLY_STATEMENTS:
        raise DatasetBuildError(
            f"--where {selection.where!r} must be a single boolean expression over {VIEW}, "
            "not further statements"
        )


def iter_rows(
    catalog: Catalog,
    selection: Selection,
    columns: Sequence[str],
    computed: Mapping[str, str] | None = None,
) -> Iterator[dict[str, Any]]:
    """Selected rows as dicts of ``columns``, streamed in ``sha256`` order.

    Raises
    ------
    DatasetBuildError
        If the predicate fails to run (bad column, type error, wrong number of parameters).
    """
    rows = catalog.stream(selection.sql(columns, computed), selection.params, FETCH_ROWS)
    try:
        first = next(rows, None)
    except duckdb.Error as exc:
        raise DatasetBuildError(f"--where {selection.where!r} failed: {_first_line(exc)}") from exc
    if first is None:
        return
    yield dict(zip(columns, first, strict=True))
    for row in rows:
        yield dict(zip(columns, row, strict=True))


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__

"""Which images a build reads: a SQL predicate over the ``image_metadata`` view.

The predicate is the user's own SQL (``--where "material = 'HCCI'"``); values
can also be passed separately as bound parameters (``material = ?``). It is
checked to be one read-only SELECT before anything runs, it runs on a sandboxed
connection (no file, network or extension access), and rows are streamed
in ``sha256`` order with a cursor, never fetched all at once. Label and group
columns may also be extra columns of the lab's specimen table; their names are
bound parameters too, never written into the SQL.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

from fairmicro.catalog.query import READ_ONLY_STATEMENTS, engine_state_call, statement_types
from fairmicro.catalog.sandbox import sandbox
from fairmicro.catalog.store import Catalog
from fairmicro.errors import DatasetBuildError, FairmicroError, SandboxError, first_line

VIEW = "image_metadata"
ATTRIBUTES = "specimen_attributes"
# One key of the specimen table's extra columns; the key's JSON path is a bound parameter.
ATTRIBUTE_SQL = f"json_extract_string({ATTRIBUTES}, ?)"
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

    def query(
        self, columns: Sequence[str], attributes: Collection[str] | Mapping[str, str] = ()
    ) -> tuple[str, tuple[Any, ...]]:
        """The full SELECT of ``columns`` for this predicate, in ``sha256`` order, and its parameters.

        Names in ``attributes`` (see :func:`resolve_columns`) are read from the
        specimen table's extra columns (under the key ``attributes`` maps them to,
        when it is a mapping); their JSON paths are bound ahead of
        ``params``, as their placeholders stand before the predicate's. The
        predicate stands on its own lines, so a trailing ``--`` comment in it
        cannot swallow the ORDER BY.
        """
        names = ", ".join(
            f"{ATTRIBUTE_SQL} AS {_quote_identifier(c)}" if c in attributes else _quote_identifier(c) for c in columns
        )
        keys = attributes if isinstance(attributes, Mapping) else {a: a for a in attributes}
        paths = tuple(attribute_path(keys[c]) for c in columns if c in keys)
        sql = f"SELECT {names} FROM {VIEW} WHERE (\n{self.where}\n)\nORDER BY sha256"
        return sql, (*paths, *self.params)


def _quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def attribute_path(key: str) -> str:
    """The JSON path of one key of ``specimen_attributes``, to bind to :data:`ATTRIBUTE_SQL`."""
    return '$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def view_columns(catalog: Catalog) -> list[str]:
    """Column names of ``image_metadata`` in this catalog."""
    return catalog.columns(VIEW)


def resolve_columns(catalog: Catalog, names: Sequence[str]) -> dict[str, str]:
    """Those of ``names`` that are not view columns but specimen-table columns, with their keys.

    A lab's specimen-table columns are view columns (``primary_microconstituent``);
    their headers as written (``Primary microconstituent``) name them too, and so
    do keys of ``specimen_attributes`` that no view column exposes. Such a name can
    be a label or a split group: pass the result as ``attributes`` to :func:`iter_rows`.

    Raises
    ------
    DatasetBuildError
        If a name is neither a view column nor a key of any specimen's attributes.
    """
    available = view_columns(catalog)
    headers = {c.source_header: c.column_name for c in catalog.specimen_columns() if c.source_header}
    attributes = {}
    for name in dict.fromkeys(names):
        if name in available:
            continue
        key = headers.get(name, name)
        found = catalog.query(
            f"SELECT count(*) FROM {VIEW} WHERE {ATTRIBUTE_SQL} IS NOT NULL", [attribute_path(key)]
        ).rows[0][0]
        if not found:
            raise DatasetBuildError(
                f"{name!r} is neither a column of {VIEW} nor a specimen-table column; available: {', '.join(available)}"
            )
        attributes[name] = key
    return attributes


def check_selection(catalog: Catalog, selection: Selection) -> None:
    """Refuse a predicate that is anything but one boolean expression.

    Raises
    ------
    DatasetBuildError
        Naming the predicate, when it does not parse or holds further statements.
    """
    sql, _ = selection.query(["sha256"])
    try:
        types = statement_types(catalog.con, sql)
    except FairmicroError as exc:
        raise DatasetBuildError(
            f"--where {selection.where!r} must be one boolean expression over {VIEW}; "
            f"it does not parse: {first_line(exc.__cause__ or exc)}"
        ) from exc
    if name := engine_state_call(selection.where):
        raise DatasetBuildError(
            f"--where {selection.where!r} calls {name}(), which changes the database engine; "
            f"a selection may only read {VIEW}"
        )
    if len(types) != 1 or types[0] not in READ_ONLY_STATEMENTS:
        raise DatasetBuildError(
            f"--where {selection.where!r} must be one boolean expression over {VIEW}, not further statements"
        )


def iter_rows(
    catalog: Catalog,
    selection: Selection,
    columns: Sequence[str],
    attributes: Collection[str] = (),
) -> Iterator[dict[str, Any]]:
    """Selected rows as dicts of ``columns``, streamed in ``sha256`` order.

    ``attributes`` names those columns that are specimen-table columns (see
    :func:`resolve_columns`).

    Raises
    ------
    DatasetBuildError
        If the predicate fails to run (bad column, type error, wrong number of parameters).
    SandboxError
        If the predicate tries to reach files, the network or extensions: it runs
        on a sandboxed connection (:func:`fairmicro.catalog.sandbox.sandbox`).
    """
    check_selection(catalog, selection)
    sandbox(catalog.con, read_only=catalog.read_only)
    rows = catalog.stream(*selection.query(columns, attributes), FETCH_ROWS)
    try:
        for row in rows:
            yield dict(zip(columns, row, strict=True))
    except duckdb.PermissionException as exc:
        raise SandboxError(
            f"--where {selection.where!r} tried to reach files, the network or extensions outside the catalog "
            f"({first_line(exc)}); a selection may only read the catalog"
        ) from exc
    except duckdb.Error as exc:
        raise DatasetBuildError(f"--where {selection.where!r} failed: {first_line(exc)}") from exc

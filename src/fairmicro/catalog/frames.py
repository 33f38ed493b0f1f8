"""Query results: :class:`QueryResult` and its Arrow, pandas and Polars forms.

A :class:`QueryResult` holds Python rows (what the CLI prints) and the DuckDB type of each column. Building the Arrow table from those
types, not from the values, keeps an all-NULL ``DOUBLE`` column a float column
and a ``TIMESTAMP`` column a datetime column. pyarrow, pandas and polars are
imported here only, when a frame is asked for.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from types import ModuleType
from typing import TYPE_CHECKING, Any

from fairmicro.errors import FairmicroError

if TYPE_CHECKING:
    import pandas
    import polars
    import pyarrow as pa

_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")
_SIMPLE: dict[str, Callable[[ModuleType], Any]] = {
    "BOOLEAN": lambda pa: pa.bool_(),
    "TINYINT": lambda pa: pa.int8(),
    "SMALLINT": lambda pa: pa.int16(),
    "INTEGER": lambda pa: pa.int32(),
    "BIGINT": lambda pa: pa.int64(),
    "UTINYINT": lambda pa: pa.uint8(),
    "USMALLINT": lambda pa: pa.uint16(),
    "UINTEGER": lambda pa: pa.uint32(),
    "UBIGINT": lambda pa: pa.uint64(),
    "FLOAT": lambda pa: pa.float32(),
    "DOUBLE": lambda pa: pa.float64(),
    "VARCHAR": lambda pa: pa.string(),
    "JSON": lambda pa: pa.string(),
    "UUID": lambda pa: pa.string(),
    "BLOB": lambda pa: pa.binary(),
    "DATE": lambda pa: pa.date32(),
    "TIME": lambda pa: pa.time64("us"),
    "TIMESTAMP": lambda pa: pa.timestamp("us"),
    "TIMESTAMP_S": lambda pa: pa.timestamp("s"),
    "TIMESTAMP_MS": lambda pa: pa.timestamp("ms"),
    "TIMESTAMP_NS": lambda pa: pa.timestamp("ns"),
    "TIMESTAMP WITH TIME ZONE": lambda pa: pa.timestamp("us", tz="UTC"),
    "INTERVAL": lambda pa: pa.duration("us"),
}
_AS_TEXT = frozenset({"UUID"})  # values DuckDB hands back as Python objects pyarrow does not take


class MissingPackageError(FairmicroError, ImportError):
    """A data-frame method needs a package that is not installed (pyarrow, pandas or polars)."""

    def __init__(self, module: str, method: str) -> None:
        super().__init__(f"{method} needs the '{module}' package: install it with pip install {module}")
        self.name = module


def need(module: str, method: str) -> ModuleType:
    """Import ``module`` for ``method``; a missing one is one line naming what to install.

    Raises
    ------
    MissingPackageError
        ``QueryResult.df() needs the 'pandas' package: pip install pandas``.
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingPackageError(module, method) from exc


def arrow_type(pa: ModuleType, duckdb_type: str) -> Any:
    """The Arrow type of a DuckDB column type, or None to let pyarrow infer it (nested, HUGEINT, ...)."""
    if duckdb_type in _SIMPLE:
        return _SIMPLE[duckdb_type](pa)
    match = _DECIMAL.fullmatch(duckdb_type)
    if match:
        return pa.decimal128(int(match.group(1)), int(match.group(2)))
    if duckdb_type.startswith("ENUM("):
        return pa.string()
    return None


def _column(pa: ModuleType, values: list[Any], duckdb_type: str | None) -> pa.Array:
    if duckdb_type in _AS_TEXT:
        values = [None if v is None else str(v) for v in values]
    wanted = arrow_type(pa, duckdb_type) if duckdb_type else None
    if wanted is not None:
        try:
            return pa.array(values, type=wanted)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            pass  # a value the declared type cannot hold: let pyarrow choose below
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def to_arrow(result: QueryResult) -> pa.Table:
    """The result as a ``pyarrow.Table`` with one typed column per result column."""
    pa = need("pyarrow", "QueryResult.arrow()")
    types: Sequence[str | None] = result.types or [None] * len(result.columns)
    columns = list(zip(*result.rows, strict=True)) if result.rows else [() for _ in result.columns]
    arrays = [_column(pa, list(values), kind) for values, kind in zip(columns, types, strict=True)]
    # duplicate names (SELECT 1 AS a, 2 AS a) are legal in SQL and in Arrow
    return pa.Table.from_arrays(arrays, names=list(result.columns))


def to_pandas(result: QueryResult) -> Any:
    """The result as a ``pandas.DataFrame`` (through Arrow, so column types follow the query's)."""
    need("pandas", "QueryResult.df()")
    return to_arrow(result).to_pandas()


def to_polars(result: QueryResult) -> Any:
    """The result as a ``polars.DataFrame`` (through Arrow)."""
    polars = need("polars", "QueryResult.pl()")
    return polars.from_arrow(to_arrow(result))


SHOWN_ROWS = 20


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, (datetime, date)):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def describe(result: QueryResult) -> str:
    """A short text form: the columns, the row count and the first rows."""
    lines = [f"QueryResult: {len(result.rows)} row(s) x {len(result.columns)} column(s)"]
    lines.append("  " + " | ".join(result.columns))
    lines.extend("  " + " | ".join(_cell(v) for v in row) for row in result.rows[:SHOWN_ROWS])
    if len(result.rows) > SHOWN_ROWS:
        lines.append(f"  ... {len(result.rows) - SHOWN_ROWS} more row(s)")
    return "\n".join(lines)


def html_table(result: QueryResult) -> str:
    """An HTML table of the first rows (a notebook's display of a result); every cell escaped."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in result.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>" for row in result.rows[:SHOWN_ROWS]
    )
    more = len(result.rows) - SHOWN_ROWS
    note = f"<p>{len(result.rows)} row(s)" + (f", first {SHOWN_ROWS} shown" if more > 0 else "") + "</p>"
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"


@dataclass(frozen=True)
class QueryResult:
    """Column names and rows of a query, and the engine's type of each column (e.g. ``"TIMESTAMP"``).

    Iterating gives the rows; :meth:`df`, :meth:`arrow` and :meth:`pl` return
    typed data frames (built through Arrow, typed by ``types``).
    """

    columns: list[str]
    rows: list[tuple[Any, ...]]
    types: list[str] | None = field(default=None, compare=False)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return describe(self)

    def _repr_html_(self) -> str:
        return html_table(self)

    def arrow(self) -> pa.Table:
        """The result as a ``pyarrow.Table``, columns typed as the query typed them."""
        return to_arrow(self)

    def df(self) -> pandas.DataFrame:
        """The result as a ``pandas.DataFrame`` (timestamps as ``datetime64``, numbers as numbers)."""
        return to_pandas(self)

    def pl(self) -> polars.DataFrame:
        """The result as a ``polars.DataFrame`` (needs ``pip install polars``)."""
        return to_polars(self)

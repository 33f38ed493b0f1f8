"""Formatting of query results and summaries for the terminal."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from fairmicro.errors import FairmicroError

if TYPE_CHECKING:  # `query` must not import the ingest machinery
    from fairmicro.catalog.ingest import IngestSummary
    from fairmicro.catalog.store import QueryResult

FORMATS = ("table", "csv", "json")


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def render_result(result: QueryResult, fmt: str, console: Console) -> None:
    """Print a query result as a table, CSV or JSON."""
    if fmt not in FORMATS:
        raise FairmicroError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if fmt == "json":
        records = [{c: _plain(v) for c, v in zip(result.columns, row, strict=True)} for row in result.rows]
        console.file.write(json.dumps(records, ensure_ascii=False, default=str) + "\n")
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(result.columns)
        writer.writerows([[_plain(v) for v in row] for row in result.rows])
        console.file.write(buffer.getvalue())
    else:
        table = Table(*result.columns, show_lines=False)
        for row in result.rows:
            table.add_row(*("" if v is None else str(_plain(v)) for v in row))
        # A pipe or file gets the whole table, not one squeezed to 80 columns.
        wide = console if console.is_terminal else Console(file=console.file, width=100_000)
        wide.print(table, crop=False)
        wide.print(f"{len(result.rows)} row(s)", style="dim")


def render_summary(summary: IngestSummary, console: Console) -> None:
    """The human closing summary of an ingest."""
    console.print(
        f"ingested {summary.ingested}, already present {summary.present}, rejected {len(summary.rejected)}"
    )
    for _path, reason in summary.rejected:
        console.print(f"  rejected: {reason}", markup=False, highlight=False)
    if summary.warnings:
        console.print(f"warnings ({len(summary.warnings)}):")
        for warning in summary.warnings:
            console.print(f"  {warning}", markup=False, highlight=False)

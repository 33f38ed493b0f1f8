"""Formatting of query results and summaries for the terminal."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Column, Table
from rich.text import Text

from fairmicro.catalog.walk import display
from fairmicro.errors import FairmicroError
from fairmicro.extractors.source import IMAGE_SUFFIXES

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
        table = Table(*(Column(header=Text(display(c))) for c in result.columns), show_lines=False)
        for row in result.rows:
            table.add_row(*(Text("" if v is None else display(str(_plain(v)))) for v in row))
        # A pipe or file gets the whole table, not one squeezed to 80 columns.
        wide = console if console.is_terminal else Console(file=console.file, width=100_000)
        wide.print(table, crop=False)
        wide.print(f"{len(result.rows)} row(s)", style="dim")


def render_summary(summary: IngestSummary, console: Console) -> None:
    """The human closing summary of an ingest; every name is escaped (a name cannot forge a line)."""
    console.print(
        f"ingested {summary.ingested}, already present {summary.present}, rejected {len(summary.rejected)}, "
        f"skipped {len(summary.skipped)}",
        markup=False,
        highlight=False,
    )
    for _path, reason in summary.rejected:
        console.print(f"  rejected: {display(reason)}", markup=False, highlight=False)
    for path, reason in summary.skipped:
        console.print(f"  skipped: {display(path)}: {reason}", markup=False, highlight=False)
    if summary.warnings:
        console.print(f"warnings ({len(summary.warnings)}):", markup=False, highlight=False)
        for warning in summary.warnings:
            console.print(f"  {display(warning)}", markup=False, highlight=False)


def no_files_message(paths: Sequence[Path], skipped: Sequence[tuple[str, str]]) -> str:
    """The one-line error when the inputs hold no image file to ingest."""
    suffixes = ", ".join(sorted(IMAGE_SUFFIXES))
    message = f"no image files ({suffixes}) under {', '.join(display(p) for p in paths)}"
    if skipped:
        path, reason = skipped[0]
        more = f" and {len(skipped) - 1} more" if len(skipped) > 1 else ""
        message += f"; skipped {display(path)}: {reason}{more}"
    return message

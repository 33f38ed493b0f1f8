"""Formatting of query results and summaries for the terminal.

Nothing here imports rich unless a table goes to a terminal: ``fairmicro query``
into a pipe or file, and every ``--format csv|json``, print through plain
writes (rich costs a noticeable share of the command's start-up).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

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


def is_terminal(file: TextIO) -> bool:
    """Whether ``file`` is a terminal, as rich decides it (``$FORCE_COLOR`` set counts as one)."""
    if os.environ.get("FORCE_COLOR") is not None:
        return True
    isatty = getattr(file, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def render_result(result: QueryResult, fmt: str, file: TextIO | None = None) -> None:
    """Print a query result as a table, CSV or JSON.

    Parameters
    ----------
    result
        Column names and rows of a query.
    fmt
        ``table``, ``csv`` or ``json``.
    file
        Where to write (default: ``sys.stdout`` at call time).

    Raises
    ------
    FairmicroError
        If ``fmt`` is not one of :data:`FORMATS`.
    """
    if fmt not in FORMATS:
        raise FairmicroError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    file = sys.stdout if file is None else file
    if fmt == "json":
        records = [{c: _plain(v) for c, v in zip(result.columns, row, strict=True)} for row in result.rows]
        file.write(json.dumps(records, ensure_ascii=False, default=str) + "\n")
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(result.columns)
        writer.writerows([[_plain(v) for v in row] for row in result.rows])
        file.write(buffer.getvalue())
    else:
        header = [display(c) for c in result.columns]
        cells = [["" if v is None else display(str(_plain(v))) for v in row] for row in result.rows]
        if is_terminal(file):
            _rich_table(header, cells, file)
        else:  # a pipe or file gets the whole table, not one squeezed to 80 columns
            file.write(plain_table(header, cells))
            file.write(f"{len(cells)} row(s)\n")


def _rich_table(header: list[str], cells: list[list[str]], file: TextIO) -> None:
    from rich.console import Console
    from rich.table import Column, Table
    from rich.text import Text

    table = Table(*(Column(header=Text(c)) for c in header), show_lines=False)
    for row in cells:
        table.add_row(*(Text(c) for c in row))
    console = Console(file=file, soft_wrap=True)
    console.print(table, crop=False)
    console.print(f"{len(cells)} row(s)", style="dim")


def _width_function(texts: list[str]) -> Any:
    if all(text.isascii() for text in texts):
        return len
    from rich.cells import cell_len  # light: the width table only, not the console

    return cell_len


def plain_table(header: Sequence[str], cells: Sequence[Sequence[str]]) -> str:
    """The table rich prints to a pipe (heavy head, one space of padding), without importing rich.

    Cells must be single-line, already escaped text (:func:`fairmicro.catalog.walk.display`).
    """
    if not header:
        return "\n"
    width_of = _width_function([*header, *(c for row in cells for c in row)])
    widths = [width_of(h) for h in header]
    for row in cells:
        widths = [max(w, width_of(c)) for w, c in zip(widths, row, strict=True)]

    def rule(left: str, fill: str, cross: str, right: str) -> str:
        return left + cross.join(fill * (w + 2) for w in widths) + right + "\n"

    def line(edge: str, row: Sequence[str]) -> str:
        padded = (f" {c}{' ' * (w - width_of(c))} " for c, w in zip(row, widths, strict=True))
        return edge + edge.join(padded) + edge + "\n"

    parts = [rule("┏", "━", "┳", "┓"), line("┃", header), rule("┡", "━", "╇", "┩")]
    parts.extend(line("│", row) for row in cells)
    parts.append(rule("└", "─", "┴", "┘"))
    return "".join(parts)


def render_summary(summary: IngestSummary, file: TextIO | None = None) -> None:
    """The human closing summary of an ingest; every name is escaped (a name cannot forge a line)."""
    counts = (
        f"ingested {summary.ingested}, already present {summary.present}, rejected {len(summary.rejected)}, "
        f"skipped {len(summary.skipped)}"
    )
    lines = [counts]
    lines.extend(f"  rejected: {display(reason)}" for _path, reason in summary.rejected)
    lines.extend(f"  skipped: {display(path)}: {reason}" for path, reason in summary.skipped)
    if summary.warnings:
        lines.append(f"warnings ({len(summary.warnings)}):")
        lines.extend(f"  {display(warning)}" for warning in summary.warnings)
    (sys.stdout if file is None else file).write("".join(line + "\n" for line in lines))


def no_files_message(paths: Sequence[Path], skipped: Sequence[tuple[str, str]]) -> str:
    """The one-line error when the inputs hold no image file to ingest."""
    suffixes = ", ".join(sorted(IMAGE_SUFFIXES))
    message = f"no image files ({suffixes}) under {', '.join(display(p) for p in paths)}"
    if skipped:
        path, reason = skipped[0]
        more = f" and {len(skipped) - 1} more" if len(skipped) > 1 else ""
        message += f"; skipped {display(path)}: {reason}{more}"
    return message


def _jsonable(value: Any) -> Any:
    """JSON for the values commands report (paths, dates, numpy numbers, dataclasses)."""
    import dataclasses

    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    for method in ("tolist", "item"):  # numpy arrays and scalars
        if callable(getattr(value, method, None)):
            return getattr(value, method)()
    return str(value)  # Path and anything else: its text


def write_json(document: Any, file: TextIO | None = None) -> None:
    """``document`` as one strict JSON document (one line; NaN as null): what ``--json`` prints on stdout."""
    plain = json.loads(json.dumps(document, default=_jsonable))  # numpy, paths, dates -> JSON values
    text = json.dumps(_no_nan(plain), ensure_ascii=False, allow_nan=False)
    (sys.stdout if file is None else file).write(text + "\n")


def _no_nan(value: Any) -> Any:
    """NaN and infinities as null (strict JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_nan(v) for v in value]
    return value


@contextlib.contextmanager
def stdout_to_stderr(enabled: bool = True) -> Iterator[None]:
    """While a ``--json`` command runs, whatever a library prints goes to stderr: stdout holds only the document."""
    if not enabled:
        yield
        return
    with contextlib.redirect_stdout(sys.stderr):
        yield


@contextlib.contextmanager
def activity(label: str, quiet: bool = False, total: int | None = None) -> Iterator[Callable[[], None]]:
    """A rich progress line on stderr (spinner, count, elapsed time); yields the callback advancing it.

    Off (a no-op callback) with ``quiet`` (``--json``/``--quiet``) or when stderr is not a terminal.
    """
    if quiet or not is_terminal(sys.stderr):
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    counted = (BarColumn(), MofNCompleteColumn()) if total else (TextColumn("{task.completed} done"),)
    columns = (SpinnerColumn(), TextColumn(label), *counted, TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True, soft_wrap=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda: bar.advance(task)


def deprecated(old: str, new: str) -> None:
    """The one stderr line an old option spelling gets (it still works)."""
    sys.stderr.write(f"warning: {old} is deprecated; use {new}\n")
    sys.stderr.flush()

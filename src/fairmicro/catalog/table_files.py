"""Cells of a CSV, TSV or XLSX table with the row numbers a spreadsheet shows.

The first non-empty row holds the headers. Empty rows are skipped (row
numbers stay those of the file), a column without a header is called
``column_N`` when it holds anything, and a header used twice or a row with
more cells than headers is refused: the table's columns would be ambiguous.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fairmicro.errors import SpecimenTableError, first_line

XLSX_SUFFIXES = (".xlsx", ".xlsm")


@dataclass
class RawTable:
    """Headers and (row number, cells) of a table; every row has one cell per header."""

    path: Path
    headers: list[str]
    rows: list[tuple[int, list[Any]]]
    header_row: int = 1


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _decoded(path: Path) -> str:
    """The file's text: UTF-8 (with or without BOM), else Windows-1252 as spreadsheet software on Windows writes it."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252")


def _csv_rows(path: Path) -> list[list[Any]]:
    text = _decoded(path)
    first = text.splitlines()[0] if text else ""
    if path.suffix.lower() == ".tsv" or ("\t" in first and "," not in first):
        delimiter = "\t"
    elif ";" in first and "," not in first:
        delimiter = ";"  # what spreadsheet software writes where the decimal mark is a comma
    else:
        delimiter = ","
    return [list(row) for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]


def _xlsx_rows(path: Path) -> list[list[Any]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile/KeyError/... on bad files
        raise SpecimenTableError(f"{path}: cannot read workbook ({first_line(exc)})") from exc
    try:
        return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()


def _headers(path: Path, number: int, cells: list[Any], width: int, rows: Iterable[list[Any]]) -> list[str]:
    headers = [str(h).strip() if h is not None else "" for h in cells] + [""] * (width - len(cells))
    seen: dict[str, int] = {}
    for index, header in enumerate(headers, start=1):
        if not header:
            continue
        if header in seen:
            raise SpecimenTableError(
                f"{path.name} row {number}: columns {seen[header]} and {index} are both named {header!r}; rename one"
            )
        seen[header] = index
    used = {i for row in rows for i, v in enumerate(row) if not _empty(v)}
    return [h or (f"column_{i + 1}" if i in used else "") for i, h in enumerate(headers)]


def read_table(path: Path) -> RawTable:
    """Read a specimen table.

    Raises
    ------
    SpecimenTableError
        If the file cannot be read, a header repeats, or a row has more cells than headers.
    """
    try:
        rows = _xlsx_rows(path) if path.suffix.lower() in XLSX_SUFFIXES else _csv_rows(path)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SpecimenTableError(f"{path}: cannot read specimen table ({first_line(exc)})") from exc
    numbered = [(n, row) for n, row in enumerate(rows, start=1) if not all(_empty(v) for v in row)]
    if not numbered:
        return RawTable(path, [], [])
    (header_row, header_cells), body = numbered[0], numbered[1:]
    width = len(header_cells)
    for number, row in body:
        if len(row) > width and any(not _empty(v) for v in row[width:]):
            raise SpecimenTableError(
                f"{path.name} row {number}: {len(row)} cells but {width} headers in row {header_row} "
                "(an unquoted comma inside a value?); nothing was ingested"
            )
    headers = _headers(path, header_row, header_cells, width, (r for _, r in body))
    keep = [i for i, h in enumerate(headers) if h]
    padded = [(n, [(row[i] if i < len(row) else None) for i in keep]) for n, row in body]
    return RawTable(path, [headers[i] for i in keep], padded, header_row)

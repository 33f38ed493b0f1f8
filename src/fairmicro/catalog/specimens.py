"""Read a lab's specimen table (CSV, TSV or XLSX) into validated Specimen records.

Columns are matched to schema slots by normalised name (case, spaces and
hyphens ignored, plus a few common aliases); every other column is kept in
the specimen's ``attributes`` JSON. A table may also carry a file-name column
(``file``, ``filename``, ``file_name``, ``image``) to join rows to files.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydantic

from fairmicro.errors import SpecimenTableError, first_line
from fairmicro.extractors.units import parse_number
from fairmicro.schema import models
from fairmicro.schema.derive import class_columns

ALIASES = {
    "id": "specimen_id",
    "specimen": "specimen_id",
    "sample": "specimen_id",
    "sample_id": "specimen_id",
    "temperature_c": "heat_treatment_temperature_c",
    "duration_h": "heat_treatment_duration_h",
    "cooling": "cooling_method",
    "quench": "cooling_method",
    "etch_time_s": "etching_time_s",
    "file": "file_name",
    "filename": "file_name",
    "image": "file_name",
}
FLOAT_SLOTS = tuple(c.name for c in class_columns("Specimen") if c.sql_type == "DOUBLE")
SPECIMEN_SLOTS = tuple(models.Specimen.model_fields)
COOLING = {m.value for m in models.CoolingMethod}


@dataclass(frozen=True)
class FileRow:
    """What the table says about one file."""

    specimen_id: str | None
    label: str | None


@dataclass
class SpecimenTable:
    """A parsed specimen table."""

    path: Path
    specimens: dict[str, models.Specimen] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # specimen_id -> label
    files: dict[str, FileRow] = field(default_factory=dict)  # file name -> row
    warnings: list[str] = field(default_factory=list)


def normalise_header(name: str) -> str:
    """``"Heat Treatment-Temperature (C)"`` -> ``"heat_treatment_temperature_c"``."""
    key = re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")
    return ALIASES.get(key, key)


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a CSV, TSV or XLSX file as dicts keyed by the original header."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            return _read_xlsx(path)
        with path.open(newline="", encoding="utf-8-sig") as handle:
            sample = handle.read(4096)
            handle.seek(0)
            delimiter = "\t" if suffix == ".tsv" or ("\t" in sample and "," not in sample) else ","
            return list(csv.DictReader(handle, delimiter=delimiter))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SpecimenTableError(f"{path}: cannot read specimen table ({first_line(exc)})") from exc


def _read_xlsx(path: Path) -> list[dict[str, Any]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile/KeyError/... on bad files
        raise SpecimenTableError(f"{path}: cannot read workbook ({first_line(exc)})") from exc
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    book.close()
    if not rows:
        return []
    header = [str(h) if h is not None else "" for h in rows[0]]
    return [dict(zip(header, row, strict=False)) for row in rows[1:] if any(v is not None for v in row)]


def _cooling(raw: str) -> str | None:
    key = re.sub(r"[^a-z]+", "_", raw.lower()).strip("_").replace("quenched", "quench").replace("cooled", "cool")
    for candidate in (key, f"{key}_quench", f"{key}_cool"):
        if candidate in COOLING:
            return candidate
    return None


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _specimen(row: dict[str, Any], where: str, label_column: str | None, warnings: list[str]) -> models.Specimen:
    values: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    for header, raw in row.items():
        slot = normalise_header(header)
        if _blank(raw) or slot in ("file_name",) or header == label_column:
            continue
        if slot in FLOAT_SLOTS:
            try:
                values[slot] = parse_number(raw)
            except ValueError:
                warnings.append(f"{where}: column {header!r}: {raw!r} is not a number; left empty")
        elif slot == "cooling_method":
            method = _cooling(str(raw))
            if method is None:
                warnings.append(f"{where}: column {header!r}: {raw!r} is not one of {', '.join(sorted(COOLING))}; kept in attributes")
                attributes[header] = raw
            else:
                values[slot] = method
        elif slot in SPECIMEN_SLOTS and slot != "attributes":
            values[slot] = str(raw).strip()
        else:
            attributes[header] = raw
    values["attributes"] = json.dumps(attributes, default=str, ensure_ascii=False, sort_keys=True) if attributes else None
    try:
        return models.Specimen(**values)
    except pydantic.ValidationError as exc:
        err = exc.errors()[0]
        raise SpecimenTableError(f"{where}: {'.'.join(map(str, err['loc']))}: {err['msg']}") from exc


def load_specimen_table(path: Path, label_column: str | None = None) -> SpecimenTable:
    """Parse the table; bad cells become warnings, a missing id column is an error."""
    rows = read_rows(path)
    table = SpecimenTable(path)
    headers = {normalise_header(h): h for h in (rows[0].keys() if rows else [])}
    if "specimen_id" not in headers and "file_name" not in headers:
        raise SpecimenTableError(
            f"{path}: needs a 'specimen_id' column (or a file-name column); found {', '.join(headers.values()) or 'no columns'}"
        )
    if label_column and rows and label_column not in rows[0]:
        raise SpecimenTableError(f"{path}: --label-column {label_column!r} is not a column of the table")
    for number, row in enumerate(rows, start=2):
        where = f"{path.name} row {number}"
        specimen_id = row.get(headers.get("specimen_id", ""))
        specimen_id = None if _blank(specimen_id) else str(specimen_id).strip()
        label = row.get(label_column) if label_column else None
        label = None if _blank(label) else str(label).strip()
        if "file_name" in headers and not _blank(row.get(headers["file_name"])):
            table.files[Path(str(row[headers["file_name"]]).strip()).name] = FileRow(specimen_id, label)
        if specimen_id is None:
            continue
        table.specimens[specimen_id] = _specimen(row, where, label_column, table.warnings)
        if label and "file_name" not in headers:
            table.labels[specimen_id] = label
    return table

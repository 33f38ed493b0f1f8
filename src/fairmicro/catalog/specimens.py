"""Read a lab's specimen table (CSV, TSV or XLSX) into validated Specimen records.

Columns are matched to schema slots by normalised name (case, spaces and
hyphens ignored, plus a few common aliases, a unit in brackets converted to
the slot's unit), or by an explicit mapping (``--map SOURCE=SLOT``). Every
other column is a *lab column*: it gets a safe SQL name (see
:mod:`fairmicro.catalog.lab_columns`), a type (number when every value is
one, else text) and is kept in the specimen's ``attributes`` JSON under that
name; the catalog exposes it as a typed column of ``image_metadata``. A
table may also carry a file-name column (``file``, ``filename``,
``file_name``, ``image``) to join rows to files.

The whole table is read and checked before anything is written: an unknown
unit, a number that does not parse in a numeric column, or two different
rows for one specimen is a :class:`~fairmicro.errors.SpecimenTableError`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import cached_property
from pathlib import Path
from typing import Any

import pydantic

from fairmicro.catalog import lab_columns
from fairmicro.catalog.table_files import RawTable, read_table
from fairmicro.errors import SpecimenTableError
from fairmicro.extractors.units import parse_number
from fairmicro.schema import models
from fairmicro.schema.derive import class_columns

ALIASES = {
    "id": "specimen_id",
    "specimen": "specimen_id",
    "sample": "specimen_id",
    "sample_id": "specimen_id",
    "sample_no": "specimen_id",
    "specimen_no": "specimen_id",
    "temperature_c": "heat_treatment_temperature_c",
    "duration_h": "heat_treatment_duration_h",
    "cooling": "cooling_method",
    "quench": "cooling_method",
    "etch_time_s": "etching_time_s",
    "sample_name": "specimen_id",
    "sample_key": "specimen_id",
    "specimen_name": "specimen_id",
    "file": "file_name",
    "filename": "file_name",
    "image": "file_name",
    "image_name": "file_name",
    "image_file": "file_name",
    "path": "file_name",
    "file_path": "file_name",
    "image_path": "file_name",
}
SLOT_UNITS = {c.name: c.unit for c in class_columns("Specimen") if c.sql_type == "DOUBLE"}
FLOAT_SLOTS = tuple(SLOT_UNITS)
SPECIMEN_SLOTS = tuple(models.Specimen.model_fields)
MAPPABLE_SLOTS = tuple(s for s in SPECIMEN_SLOTS if s != "attributes")
COOLING = {m.value for m in models.CoolingMethod}
# Cell texts that mean "no value".
MISSING = frozenset({"", "na", "n/a", "n.a.", "nan", "null", "-", "--", "—", "–", "?"})
FILE_COLUMN = "file_name"


@dataclass(frozen=True)
class FileRow:
    """What the table says about one file."""

    specimen_id: str | None
    label: str | None


@dataclass
class SpecimenTable:
    """A parsed specimen table.

    ``columns`` describes the lab columns (those that are not schema slots),
    by the names they have in ``image_metadata`` and in built datasets.
    """

    path: Path
    specimens: dict[str, models.Specimen] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # specimen_id -> label
    files: dict[str, FileRow] = field(default_factory=dict)  # file name -> row
    warnings: list[str] = field(default_factory=list)
    columns: list[models.SpecimenColumn] = field(default_factory=list)

    def file_row(self, name: str) -> FileRow | None:
        """The row for a file name: as written, else ignoring case, else by stem when only one row has it."""
        if name in self.files:
            return self.files[name]
        folded, stems = self._file_index
        found = folded.get(name.casefold())
        if found is None:
            matches = stems.get(Path(name).stem.casefold(), [])
            found = matches[0] if len(matches) == 1 else None
        return found

    @cached_property
    def _file_index(self) -> tuple[dict[str, FileRow], dict[str, list[FileRow]]]:
        folded = {key.casefold(): row for key, row in self.files.items()}
        stems: dict[str, list[FileRow]] = {}
        for key, row in self.files.items():
            stems.setdefault(Path(key).stem.casefold(), []).append(row)
        return folded, stems


@dataclass
class _Column:
    """How one column of the table is read."""

    index: int
    header: str
    role: str  # "id" | "file" | "label" | "slot" | "lab"
    name: str = ""  # the slot, or the lab column's name
    unit: str | None = None
    numeric: bool = False


def normalise_header(name: str) -> str:
    """``"Heat Treatment-Temperature (C)"`` -> ``"heat_treatment_temperature_c"``."""
    key = re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")
    return ALIASES.get(key, key)


def blank(value: Any) -> bool:
    """Whether a cell holds no value (empty, or a placeholder such as ``n/a`` or ``-``)."""
    return value is None or (isinstance(value, str) and value.strip().lower() in MISSING)


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return str(value).strip()


# ------------------------------------------------------------------ mapping
def parse_mapping(pairs: Iterable[str] = (), mapping_file: Path | None = None) -> dict[str, str]:
    """``--map SOURCE=SLOT`` options and a YAML ``SOURCE: SLOT`` file as one dict.

    Raises
    ------
    SpecimenTableError
        For a malformed pair or file, or a slot the schema does not have.
    """
    mapping: dict[str, str] = {}
    if mapping_file is not None:
        mapping.update(_read_mapping_file(mapping_file))
    for pair in pairs:
        source, sep, slot = pair.rpartition("=")
        if not sep or not source.strip() or not slot.strip():
            raise SpecimenTableError(
                f"--map {pair!r}: expected SOURCE=SLOT, e.g. 'Anneal T [°C]=heat_treatment_temperature_c'"
            )
        mapping[source.strip()] = slot.strip()
    for source, slot in mapping.items():
        if slot not in MAPPABLE_SLOTS:
            raise SpecimenTableError(
                f"--map {source}={slot}: {slot!r} is not a specimen slot; valid slots: {', '.join(MAPPABLE_SLOTS)}"
            )
    return mapping


def _read_mapping_file(path: Path) -> dict[str, str]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise SpecimenTableError(f"{path}: cannot read mapping file ({str(exc).splitlines()[0]})") from exc
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise SpecimenTableError(
            f"{path}: a mapping file holds 'SOURCE: slot' lines, e.g. 'Anneal T [°C]: heat_treatment_temperature_c'"
        )
    return {k.strip(): v.strip() for k, v in data.items()}


# ------------------------------------------------------------------ columns
def _slot_for(header: str) -> tuple[str, str | None] | None:
    """(slot or 'specimen_id'/'file_name', unit) a header names by itself, if any."""
    key = normalise_header(header)
    base, unit = lab_columns.split_unit(header)
    if key in SPECIMEN_SLOTS or key == FILE_COLUMN:
        return key, unit if key in FLOAT_SLOTS else None
    if unit is None:
        return None
    base_key = normalise_header(base)
    if base_key in SPECIMEN_SLOTS or base_key == FILE_COLUMN:
        return base_key, unit if base_key in FLOAT_SLOTS else None
    for slot in FLOAT_SLOTS:  # "heat treatment temperature [K]" -> heat_treatment_temperature_c
        if base_key == slot.rsplit("_", 1)[0]:
            return slot, unit
    return None


def _mapped(header: str, mapping: Mapping[str, str]) -> str | None:
    if header in mapping:
        return mapping[header]
    key = normalise_header(header)
    return next((slot for source, slot in mapping.items() if normalise_header(source) == key), None)


def _plan_columns(table: RawTable, label_column: str | None, mapping: Mapping[str, str]) -> list[_Column]:
    unused = [
        s
        for s in mapping
        if s not in table.headers and all(normalise_header(s) != normalise_header(h) for h in table.headers)
    ]
    if unused:
        raise SpecimenTableError(
            f"{table.path}: --map source {unused[0]!r} is not a column; columns: {', '.join(table.headers)}"
        )
    columns = []
    for index, header in enumerate(table.headers, start=1):
        if header == label_column:
            columns.append(_Column(index, header, "label"))
            continue
        slot = _mapped(header, mapping)
        found = (
            (slot, lab_columns.split_unit(header)[1] if slot in FLOAT_SLOTS else None) if slot else _slot_for(header)
        )
        if found is None:
            columns.append(_Column(index, header, "lab"))
        else:
            role = {"specimen_id": "id", FILE_COLUMN: "file"}.get(found[0], "slot")
            columns.append(_Column(index, header, role, found[0], found[1], found[0] in FLOAT_SLOTS))
    _refuse_double_slots(table.path, columns)
    return columns


def _refuse_double_slots(path: Path, columns: list[_Column]) -> None:
    seen: dict[str, str] = {}
    for column in columns:
        if column.role in ("id", "file", "slot"):
            if column.name in seen:
                raise SpecimenTableError(
                    f"{path}: columns {seen[column.name]!r} and {column.header!r} both give {column.name}; "
                    "rename one or map it elsewhere with --map"
                )
            seen[column.name] = column.header


def _type_lab_columns(table: RawTable, columns: list[_Column]) -> None:
    """Name and type every lab column from its header and its values."""
    taken: set[str] = set()
    for column in columns:
        if column.role != "lab":
            continue
        values = [
            (number, cells[column.index - 1]) for number, cells in table.rows if not blank(cells[column.index - 1])
        ]
        numbers = [_is_number(v) for _, v in values]
        base, unit = lab_columns.split_unit(column.header)
        if unit is not None and ((values and all(numbers)) or lab_columns.is_unit(unit)):
            _check_unit(table.path, table.header_row, column.header, unit)
            column.unit, column.numeric = unit, True
            column.name = lab_columns.lab_name(base, unit, taken)
        else:  # no unit, or a remark in brackets over text: "Notes (optional)"
            column.numeric = bool(values) and all(numbers)
            column.name = lab_columns.lab_name(column.header, None, taken)
        taken.add(column.name)


def _check_unit(path: Path, row: int, header: str, unit: str) -> None:
    if not lab_columns.is_unit(unit):
        raise SpecimenTableError(
            f"{path.name} row {row}, column {header!r}: unknown unit {unit!r}; write a unit pint knows "
            "(e.g. °C, K, min, h, wt%, MPa) or drop the brackets; nothing was ingested"
        )


def _is_number(value: Any) -> bool:
    try:
        parse_number(value)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------- rows
def _number(path: Path, number: int, column: _Column, raw: Any) -> float:
    where = f"{path.name} row {number}, column {column.header!r}"
    try:
        value = parse_number(raw)
    except ValueError:
        raise SpecimenTableError(f"{where}: {_text(raw)!r} is not a number; nothing was ingested") from None
    if column.unit is None or column.role == "lab":
        return value
    try:
        return lab_columns.convert(value, column.unit, SLOT_UNITS[column.name] or "1")
    except ValueError as exc:
        raise SpecimenTableError(f"{where}: {exc}; nothing was ingested") from None


def _cooling(raw: str) -> str | None:
    key = re.sub(r"[^a-z]+", "_", raw.lower()).strip("_").replace("quenched", "quench").replace("cooled", "cool")
    for candidate in (key, f"{key}_quench", f"{key}_cool"):
        if candidate in COOLING:
            return candidate
    return None


def _row_values(
    path: Path, number: int, cells: list[Any], columns: list[_Column], warnings: list[str]
) -> dict[str, Any]:
    """The specimen values of one row: slots by slot name, lab columns under ``attributes``."""
    values: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    for column in columns:
        raw = cells[column.index - 1]
        if blank(raw) or column.role in ("file", "label"):
            continue
        if column.numeric:
            target = attributes if column.role == "lab" else values
            target[column.name] = _number(path, number, column, raw)
        elif column.role == "lab":
            attributes[column.name] = _text(raw)
        elif column.name == "cooling_method":
            method = _cooling(_text(raw))
            if method is None:
                warnings.append(
                    f"{path.name} row {number}: column {column.header!r}: {_text(raw)!r} is not one of "
                    f"{', '.join(sorted(COOLING))}; left empty"
                )
            values["cooling_method"] = method
        else:
            values[column.name] = _text(raw)
    values["attributes"] = json.dumps(attributes, ensure_ascii=False, sort_keys=True) if attributes else None
    return values


def _specimen(values: dict[str, Any], where: str) -> models.Specimen:
    try:
        return models.Specimen(**values)
    except pydantic.ValidationError as exc:
        err = exc.errors()[0]
        raise SpecimenTableError(
            f"{where}: {'.'.join(map(str, err['loc']))}: {err['msg']}; nothing was ingested"
        ) from exc


# ------------------------------------------------------------- duplicates
def _differing(a: dict[str, Any], b: dict[str, Any], headers: Mapping[str, str]) -> str:
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key):
            return f"column {headers.get(key, key)!r}: {a.get(key)!r} vs {b.get(key)!r}"
    return ""


class _Rows:
    """The first row seen per key, to refuse a second, different row."""

    def __init__(self, path: Path, what: str, headers: Mapping[str, str]) -> None:
        self.path, self.what, self.headers = path, what, headers
        self.seen: dict[str, tuple[int, dict[str, Any]]] = {}

    def is_new(self, key: str, number: int, content: dict[str, Any]) -> bool:
        """True the first time; False for an identical repeat; raises for a different one."""
        if key not in self.seen:
            self.seen[key] = (number, content)
            return True
        first, before = self.seen[key]
        if before == content:
            return False
        raise SpecimenTableError(
            f"{self.path.name}: {self.what} {key!r} is in rows {first} and {number} with different values "
            f"({_differing(before, content, self.headers)}); keep one row per {self.what} or make them identical; "
            "nothing was ingested"
        )


# -------------------------------------------------------------------- table
def _lab_records(path: Path, columns: list[_Column]) -> list[models.SpecimenColumn]:
    return [
        models.SpecimenColumn(
            column_name=c.name,
            source_file=path.name,
            source_header=c.header,
            source_unit=c.unit,
            value_type="number" if c.numeric else "text",
        )
        for c in columns
        if c.role == "lab"
    ]


def _check_columns(table: RawTable, columns: list[_Column], label_column: str | None) -> None:
    roles = {c.role for c in columns}
    if "id" not in roles and "file" not in roles:
        raise SpecimenTableError(
            f"{table.path}: needs a 'specimen_id' column (or a file-name column; or --map YOUR_COLUMN=specimen_id); "
            f"found {', '.join(table.headers) or 'no columns'}"
        )
    if label_column and label_column not in table.headers:
        raise SpecimenTableError(f"{table.path}: --label-column {label_column!r} is not a column of the table")


def load_specimen_table(
    path: Path, label_column: str | None = None, mapping: Mapping[str, str] | None = None
) -> SpecimenTable:
    """Parse and check the whole table.

    Parameters
    ----------
    path
        CSV, TSV or XLSX file; the first non-empty row holds the headers.
    label_column
        Header of the column holding image labels.
    mapping
        Header -> schema slot, for headers the automatic matching misses
        (see :func:`parse_mapping`).

    Raises
    ------
    SpecimenTableError
        One line naming the file, row and column: no id column, an unknown
        unit, a number that does not parse, two different rows for one
        specimen or file. Nothing of the table is used then.
    """
    raw = read_table(path)
    columns = _plan_columns(raw, label_column, mapping or {})
    _check_columns(raw, columns, label_column)
    _type_lab_columns(raw, columns)
    table = SpecimenTable(path, columns=_lab_records(path, columns))
    by_role = {c.role: c for c in columns}
    headers = {c.name or c.header: c.header for c in columns} | {"label": label_column or "label"}
    specimens = _Rows(path, "specimen", headers)
    files = _Rows(path, "file", headers)
    for number, cells in raw.rows:
        specimen_id = _cell(cells, by_role.get("id"))
        label = _cell(cells, by_role.get("label"))
        file_name = _cell(cells, by_role.get("file"))
        values = _row_values(path, number, cells, columns, table.warnings)
        flat = _flat(values)
        if file_name is not None and files.is_new(
            Path(file_name).name, number, {**flat, "specimen_id": specimen_id, "label": label}
        ):
            table.files[Path(file_name).name] = FileRow(specimen_id, label)
        if specimen_id is None:
            continue
        content = {**flat, "label": label} if "file" not in by_role else flat
        if specimens.is_new(specimen_id, number, content):
            table.specimens[specimen_id] = _specimen(
                {**values, "specimen_id": specimen_id}, f"{path.name} row {number}"
            )
            if label and "file" not in by_role:
                table.labels[specimen_id] = label
    return table


def _flat(values: dict[str, Any]) -> dict[str, Any]:
    """Slot values and lab-column values side by side (to compare two rows cell by cell)."""
    attributes = json.loads(values["attributes"]) if values.get("attributes") else {}
    return {k: v for k, v in values.items() if k != "attributes"} | attributes


def _cell(cells: list[Any], column: _Column | None) -> str | None:
    if column is None:
        return None
    value = cells[column.index - 1]
    return None if blank(value) else _text(value)

"""Names and units of a lab's specimen-table columns.

A header like ``Anneal T [°C]`` has a name part and a unit in brackets. Lab
columns (those that are not schema slots) become real columns of
``image_metadata`` and of built datasets, so their names are made safe SQL
identifiers (``[a-z][a-z0-9_]*``, never a reserved keyword, never one of the
view's or the dataset's own columns); the unit stays in the name
(``anneal_t_c``) and is recorded. Values under a unit are converted to a
schema slot's unit with pint (imported lazily).
"""

from __future__ import annotations

import math
import re
import unicodedata
from functools import lru_cache
from typing import TYPE_CHECKING

from fairmicro.schema.derive import class_columns

if TYPE_CHECKING:
    import pint

# A unit at the end of a header: "anneal_time [min]", "T (°C)".
_UNIT = re.compile(r"^(?P<base>.*?)\s*(?:\[(?P<square>[^\[\]]*)\]|\((?P<round>[^()]*)\))\s*$", re.DOTALL)
SAFE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
MAX_NAME = 63

# Columns the catalog view or a built dataset already has besides the schema slots.
BUILDER_COLUMNS = frozenset(
    {
        "image",
        "label",
        "image_sha256",
        "specimen_attributes",
        "tile_x_px",
        "tile_y_px",
        "tile_width_px",
        "tile_height_px",
        "split",
    }
)
VIEW_CLASSES = ("Image", "Instrument", "ImagingConditions", "Specimen")

# Lab spellings pint does not know, and their pint definitions.
_UNIT_DEFINITIONS = (
    "weight_percent = 0.01 = wt_pct",
    "atomic_percent = 0.01 = at_pct",
    "volume_percent = 0.01 = vol_pct",
    "vickers_hardness = [hardness_vickers] = HV",
    "brinell_hardness = [hardness_brinell] = HB",
    "rockwell_c_hardness = [hardness_rockwell_c] = HRC",
)
_UNIT_SPELLINGS = (
    (re.compile(r"^(?:wt|mass|m)\s*\.?\s*-?\s*%$", re.IGNORECASE), "wt_pct"),
    (re.compile(r"^%\s*(?:wt|mass)\.?$", re.IGNORECASE), "wt_pct"),
    (re.compile(r"^(?:at|atom|mol)\s*\.?\s*-?\s*%$", re.IGNORECASE), "at_pct"),
    (re.compile(r"^(?:vol|v)\s*\.?\s*-?\s*%$", re.IGNORECASE), "vol_pct"),
    (re.compile(r"^HV\s*[0-9.]*$"), "HV"),
    (re.compile(r"^HB[A-Z]?\s*[0-9./]*$"), "HB"),
    (re.compile(r"^HRC$"), "HRC"),
    (re.compile(r"^(?:deg|°)\s*C$|^℃$|^Cel$|^celsius$", re.IGNORECASE), "degC"),
    (re.compile(r"^(?:deg|°)\s*F$|^℉$|^fahrenheit$", re.IGNORECASE), "degF"),
    (re.compile(r"^hrs?$|^hours?$", re.IGNORECASE), "hour"),
    (re.compile(r"^mins?$|^minutes?$", re.IGNORECASE), "minute"),
    (re.compile(r"^secs?$|^seconds?$", re.IGNORECASE), "second"),
)
# UCUM codes of the schema's slot units, as pint spells them.
_UCUM_TO_PINT = {"Cel": "degC", "h": "hour", "min": "minute", "s": "second", "%": "percent", "K": "kelvin"}


def split_unit(header: str) -> tuple[str, str | None]:
    """``"Anneal T [°C]"`` -> ``("Anneal T", "°C")``; a header without brackets has no unit."""
    match = _UNIT.match(header.strip())
    if not match or not match.group("base").strip():
        return header.strip(), None
    unit = match.group("square") if match.group("square") is not None else match.group("round")
    return match.group("base").strip(), unit.strip() or None


def safe_name(text: str) -> str:
    """Lower-case ASCII ``[a-z0-9_]`` words of ``text`` (``"Cr [wt%]"`` -> ``"cr_wt_pct"``)."""
    text = text.replace("%", " pct ").replace("/", " per ").replace("°", " ").replace("µ", "u").replace("μ", "u")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    name = re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_")
    if not name:
        name = "column"
    if not name[0].isalpha():
        name = f"c_{name}"
    return name[:MAX_NAME].rstrip("_")


@lru_cache(maxsize=1)
def reserved_names() -> frozenset[str]:
    """Names a lab column may not take: the view's and datasets' own columns, SQL keywords."""
    import duckdb

    names = {c.name for cls in VIEW_CLASSES for c in class_columns(cls)} | BUILDER_COLUMNS
    with duckdb.connect() as con:
        keywords = con.execute(
            "SELECT keyword_name FROM duckdb_keywords() WHERE keyword_category <> 'unreserved'"
        ).fetchall()
    return frozenset(names | {row[0].lower() for row in keywords})


def lab_name(header: str, unit: str | None, taken: set[str]) -> str:
    """The column name of a lab column: safe, unit kept as a suffix, unique among ``taken``.

    A name that is a schema, view or dataset column or an SQL keyword gets a
    ``lab_`` prefix; a name taken by an earlier header gets ``_2``, ``_3``, ...
    """
    name = safe_name(f"{header} {unit}" if unit else header)
    if name in reserved_names():
        name = f"lab_{name}"[:MAX_NAME]
    candidate, number = name, 2
    while candidate in taken or candidate in reserved_names():
        suffix = f"_{number}"
        candidate, number = name[: MAX_NAME - len(suffix)] + suffix, number + 1
    return candidate


@lru_cache(maxsize=1)
def _registry() -> pint.UnitRegistry:
    import pint

    registry: pint.UnitRegistry = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    for definition in _UNIT_DEFINITIONS:
        registry.define(definition)
    return registry


def _pint_spelling(unit: str) -> str:
    text = unit.strip().replace("µ", "u").replace("μ", "u").replace("²", "^2").replace("³", "^3")
    for pattern, spelling in _UNIT_SPELLINGS:
        if pattern.match(text):
            return spelling
    return re.sub(r"(?<=[A-Za-z])([23])$", r"^\1", text)  # "mm2" -> "mm^2"


def parse_unit(unit: str) -> pint.Unit:
    """The pint unit of a header's unit text.

    Raises
    ------
    ValueError
        If pint does not know the unit.
    """
    spelling = _pint_spelling(unit)
    if not spelling:
        raise ValueError("empty unit")
    try:
        parsed = _registry().parse_units(spelling)
    except Exception as exc:  # pint's parser raises assorted errors (AssertionError, ZeroDivisionError, ...)
        raise ValueError(f"unknown unit {unit!r}") from exc
    return parsed


def is_unit(unit: str) -> bool:
    """Whether pint understands ``unit``."""
    try:
        parse_unit(unit)
    except ValueError:
        return False
    return True


def convert(value: float, unit: str, slot_ucum: str) -> float:
    """``value`` in the header's ``unit`` converted to a slot's UCUM unit (12 significant digits).

    Raises
    ------
    ValueError
        If the unit is unknown or not of the slot's dimension.
    """
    import pint

    source = parse_unit(unit)
    target = _registry().parse_units(_UCUM_TO_PINT.get(slot_ucum, slot_ucum))
    try:
        converted = _registry().Quantity(value, source).to(target).magnitude
    except pint.errors.DimensionalityError as exc:
        raise ValueError(f"{unit!r} cannot be converted to {slot_ucum!r}") from exc
    if not math.isfinite(converted):
        raise ValueError(f"{value!r} {unit} is not a finite value")
    return float(f"{converted:.12g}")

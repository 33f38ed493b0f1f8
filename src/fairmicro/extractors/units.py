"""Unit normalisation: vendor unit strings to the units in the schema's slot names."""

from __future__ import annotations

import math
import re
from functools import lru_cache

# (dimension, factor to the dimension's base unit)
_BASE_UNITS: dict[str, tuple[str, float]] = {
    "m": ("length", 1.0),
    "V": ("voltage", 1.0),
    "A": ("current", 1.0),
    "s": ("time", 1.0),
    "Pa": ("pressure", 1.0),
    "rad": ("angle", 1.0),
    "deg": ("angle", math.pi / 180.0),
    "%": ("ratio", 0.01),
    "X": ("magnification", 1.0),
    "Cel": ("temperature", 1.0),
    "h": ("time", 3600.0),
    "min": ("time", 60.0),
}
_PREFIXES = {"f": 1e-15, "p": 1e-12, "n": 1e-9, "u": 1e-6, "m": 1e-3, "c": 1e-2, "k": 1e3, "M": 1e6}
_ALIASES = {
    "µ": "u",
    "μ": "u",
    "°": "deg",
    "degrees": "deg",
    "Secs": "s",
    "sec": "s",
    "secs": "s",
    "Volt": "V",
    "Volts": "V",
    "x": "X",
    "micron": "um",
    "microns": "um",
    "K X": "kX",
    "KX": "kX",
    "k X": "kX",
}


def _canonical(unit: str) -> str:
    unit = unit.strip()
    if unit in _ALIASES:
        return _ALIASES[unit]
    for alias, replacement in (("µ", "u"), ("μ", "u")):
        unit = unit.replace(alias, replacement)
    return _ALIASES.get(unit, unit)


@lru_cache(maxsize=1024, typed=True)
def unit_factor(unit: str) -> tuple[str, float]:
    """Return (dimension, factor to base) for a unit string like ``"kV"`` or ``"µm"``.

    Cached: files of one instrument write the same few unit strings.

    Raises
    ------
    ValueError
        If the unit is not known.
    """
    unit = _canonical(unit)
    if unit in _BASE_UNITS:
        return _BASE_UNITS[unit]
    prefix, rest = unit[:1], unit[1:]
    if prefix in _PREFIXES and rest in _BASE_UNITS:
        dimension, factor = _BASE_UNITS[rest]
        return dimension, factor * _PREFIXES[prefix]
    raise ValueError(f"unknown unit {unit!r}")


@lru_cache(maxsize=1024, typed=True)
def unit_factors(from_unit: str, to_unit: str) -> tuple[float, float]:
    """(factor of ``from_unit``, factor of ``to_unit``) to their common base unit.

    Raises
    ------
    ValueError
        If a unit is not known or the two measure different dimensions.
    """
    from_dim, from_factor = unit_factor(from_unit)
    to_dim, to_factor = unit_factor(to_unit)
    if from_dim != to_dim:
        raise ValueError(f"cannot convert {from_unit} ({from_dim}) to {to_unit} ({to_dim})")
    return from_factor, to_factor


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """Convert ``value`` between two units of the same dimension (12 significant digits)."""
    from_factor, to_factor = unit_factors(from_unit, to_unit)
    return float(f"{value * from_factor / to_factor:.12g}")  # drop float noise of the scaling


_NUMBER = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")


def parse_number(raw: object) -> float:
    """Parse a plain number (int, float or numeric text); ``ValueError`` otherwise."""
    if isinstance(raw, bool):
        raise ValueError(f"{raw!r} is not a number")  # noqa: TRY004 - the documented error for every non-number
    if isinstance(raw, (int, float)):
        value = float(raw)
    else:
        match = _NUMBER.match(str(raw))
        if not match or match.group(2):
            raise ValueError(f"{raw!r} is not a number")
        value = float(match.group(1))
    if not math.isfinite(value):
        raise ValueError(f"{raw!r} is not a finite number")
    return value


def parse_quantity(raw: object) -> tuple[float, str]:
    """Split text like ``"15000 Volt"`` or ``"7706.35 um"`` into (number, unit)."""
    match = _NUMBER.match(str(raw))
    if not match:
        raise ValueError(f"{raw!r} is not a number with a unit")
    value = float(match.group(1))
    if not math.isfinite(value):
        raise ValueError(f"{raw!r} is not a finite number")
    return value, match.group(2)

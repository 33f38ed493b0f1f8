"""tifffile's CZ_SEM and FEI block parsers, with a faster ``astype`` for the common values.

``read_cz_sem`` and ``read_fei_metadata`` are tifffile's own functions (2026.3)
line for line; only ``astype`` differs: a value that is plainly an integer or a
decimal number, or a text that no number parser can accept, is converted
without trying each type and catching its exception. Every other value goes
through tifffile's ``astype`` itself. ``tests/extractors/test_ifd_reader.py``
checks the output equals tifffile's on the vendor samples and on random text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

# group 1: an integer int() reads; otherwise a decimal number float() reads and int() rejects (point or exponent)
_NUMBER = re.compile(r"[+-]?(?:([0-9]+)|[0-9]+\.?[0-9]*(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?)")
_fullmatch = _NUMBER.fullmatch
_DIGIT = re.compile(r"\d")  # any Unicode decimal digit: int() and float() accept them all
_SPECIAL = frozenset({"nan", "inf", "infinity"})


_MODULE: list[Any] = []


def _tifffile() -> Any:
    """``tifffile.tifffile``, imported on first use."""
    if not _MODULE:
        import tifffile

        _MODULE.append(tifffile.tifffile)
    return _MODULE[0]


_NUMBERS = (int, float)


def astype(value: Any, types: Sequence[Callable[..., Any]] | None = None) -> Any:
    """tifffile's ``astype`` (int, then float, then bool, then text) for ``str`` values, faster."""
    if type(value) is str and (types is None or types == _NUMBERS):
        return _convert(value, types is None)
    return _tifffile().astype(value, types)


def _convert(value: str, to_bool: bool) -> Any:
    """``astype(value)`` (``to_bool``) or ``astype(value, (int, float))`` of a ``str``."""
    match = _NUMBER.fullmatch(value)
    if match is not None:
        return int(value) if match.group(1) is not None else float(value)
    if not _DIGIT.search(value):
        word = value.strip().lower()
        if word.lstrip("+-") not in _SPECIAL:  # int() and float() both fail on it
            if not to_bool:
                return value
            # asbool accepts only "true"/"false"; bytes2str returns a str unchanged
            return True if word == "true" else False if word == "false" else value
    return _astype_text(value, to_bool)


_FAILURES = (ValueError, AttributeError, TypeError, UnicodeEncodeError)  # what tifffile's astype catches


def _astype_text(value: str, to_bool: bool) -> Any:
    """tifffile's ``astype`` of a ``str`` step by step: int, float, then (``to_bool``) its ``asbool``; else unchanged.

    Its last step, ``bytes2str``, raises TypeError on a ``str`` and so returns it unchanged.
    """
    for kind in (int, float):
        try:
            return kind(value)
        except _FAILURES:
            pass
    if to_bool:
        word = value.strip().lower()
        if word == "true":
            return True
        if word == "false":
            return False
    return value


def _text(fh: Any, count: int) -> str:
    """tifffile's ``bytes2str`` (no encoding given), without importing tifffile and numpy for it."""
    data = fh.read(count)
    end = data.find(b"\x00")
    if end >= 0:
        data = data[:end]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252")


def read_fei_metadata(fh: Any, byteorder: str, dtype: int, count: int, offsetsize: int, /) -> dict[str, Any]:
    """tifffile's ``read_fei_metadata``."""
    result: dict[str, Any] = {}
    section: dict[str, Any] = {}
    for line in _text(fh, count).splitlines():
        line = line.strip()  # as tifffile: the loop variable is reused
        if line.startswith("["):
            section = {}
            result[line[1:-1]] = section
            continue
        key, separator, value = line.partition("=")  # as ``line.split("=", 1)``, without the exception
        if not separator:
            continue
        value = value.strip()
        match = _fullmatch(value)
        if match is None:
            section[key.strip()] = _convert(value, True)
        else:
            section[key.strip()] = int(value) if match.group(1) is not None else float(value)
    return result


def read_cz_sem(fh: Any, byteorder: str, dtype: int, count: int, offsetsize: int, /) -> dict[str, Any]:
    """tifffile's ``read_cz_sem``."""
    result: dict[str, Any] = {"": ()}
    key = None
    for line in _text(fh, count).splitlines():
        if line.isupper():
            key = line.lower()
        elif key:
            entry = _cz_sem_entry(line)
            if entry is None:
                continue
            result[key] = entry
            key = None
        else:
            result[""] += (_convert(line, False),)
    return result


def _cz_sem_entry(line: str) -> tuple[Any, ...] | None:
    """(label, value[, unit]) of a ``label = value`` (or ``label: value``) line, as tifffile reads it."""
    value: Any
    name, separator, value = line.partition("=")  # as ``line.split("=", 1)``, without the exception
    if not separator:
        name, separator, value = line.partition(":")
        if not separator:
            return None
    value = value.strip()
    unit = ""
    parts = value.split()
    if len(parts) == 2:  # tifffile: ``v, u = value.split()`` succeeded
        number = _convert(parts[0], False)
        if number != parts[0]:
            value = number
            unit = parts[1]
    else:
        number = _convert(value, False)
        if number != value:
            value = number
        if value in {"No", "Off"}:
            value = False
        elif value in {"Yes", "On"}:
            value = True
    return (name.strip(), value, unit) if unit else (name.strip(), value)


PARSERS: dict[int, Callable[..., dict[str, Any]]] = {
    34118: read_cz_sem,
    34680: read_fei_metadata,
    34682: read_fei_metadata,
}

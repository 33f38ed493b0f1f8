"""Vendor text: decoding sidecar files and tag bytes, parsing INI and ``$KEY value`` lines.

TESCAN, Hitachi and JEOL keep their metadata as text, either in a TIFF tag or
in a sidecar file next to the image (same stem, ``.hdr`` or ``.txt``). The
text may be UTF-16 (Hitachi, with or without BOM), UTF-8 or Latin-1 (older
Windows software) and may carry NUL bytes. NUL padding (at the start or end
of the text or of a line) is dropped; a NUL *inside* a line is shown as
:data:`~fairmicro.extractors.base.NUL_MARK`, so parsing goes on past it and the
value holding it is never read cut short (``HV=20\\x00000`` is not 20 V); the
mapping tables then leave that value empty with a warning. Values are kept as
raw strings; the mapping tables convert them.
"""

from __future__ import annotations

import codecs
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from fairmicro.errors import UnreadableFileError
from fairmicro.extractors.base import NUL_MARK

log = logging.getLogger(__name__)

MAX_SIDECAR_BYTES = 4 << 20  # vendor sidecars are a few kB; anything this large is not one
SNIFF_BYTES = 4096

Sections = dict[str, dict[str, str]]

_LINE_PADDING = re.compile(r"\x00+(?=[\r\n]|$)|(?:^|(?<=[\r\n]))\x00+")


def decode_text(data: bytes) -> str:
    """Decode vendor text: UTF-16 (BOM, or NUL in every second byte), UTF-8, else Latin-1."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = data.decode("utf-16", errors="replace")
    elif _looks_utf16le(data):
        text = data.decode("utf-16-le", errors="replace")
    elif data.startswith(codecs.BOM_UTF8):
        text = data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace")
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
    return mark_nuls(text)


def mark_nuls(text: str) -> str:
    """Drop NUL padding at the ends of the text and of its lines; show other NULs as ``NUL_MARK``."""
    if "\x00" not in text:
        return text
    return _LINE_PADDING.sub("", text).replace("\x00", NUL_MARK)


def restore_damaged_keys(block: dict[str, Any]) -> dict[str, Any]:
    """``block`` where a key damaged by a NUL is also found under its intact name (a copy when one is).

    ``Data\u2400Size=128x96`` would otherwise read as "no DataSize", and an
    absent key often has a meaning (no stored frame: calibrations refer to the
    saved image). Under the intact name the value carries ``NUL_MARK``, so it
    is reported and left empty like any other value a NUL touched. Sections
    (nested dicts) are restored the same way, every value in them marked.
    """
    if not _damaged(block):
        return block  # nothing to restore (the usual case): the block itself, not a copy
    restored = {key: restore_damaged_keys(v) if isinstance(v, dict) else v for key, v in block.items()}
    for key, value in block.items():
        intact = key.replace(NUL_MARK, "") if isinstance(key, str) else key
        if intact != key and intact not in restored:
            restored[intact] = _marked(value)
    return restored


def _damaged(block: dict[str, Any]) -> bool:
    """Whether a key of ``block`` or of a section in it holds ``NUL_MARK``."""
    for key, value in block.items():
        if (isinstance(key, str) and NUL_MARK in key) or (isinstance(value, dict) and _damaged(value)):
            return True
    return False


def _marked(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _marked(v) for key, v in value.items()}
    if isinstance(value, (tuple, list)):  # tifffile's Zeiss entries: (label, value[, unit])
        return (value[0], *(_marked(v) for v in value[1:])) if value else value
    return value if isinstance(value, str) and NUL_MARK in value else f"{NUL_MARK}{value}"


def count_nuls(block: object) -> int:
    """How many keys and values of a parsed block (nested dicts, lists) hold ``NUL_MARK``."""
    if isinstance(block, str):
        return int(NUL_MARK in block)
    if isinstance(block, dict):
        return sum(count_nuls(k) + count_nuls(v) for k, v in block.items())
    if isinstance(block, (list, tuple)):
        return sum(map(count_nuls, block))
    return 0


def _looks_utf16le(data: bytes) -> bool:
    sample = data[:512]
    return len(sample) >= 8 and sample[1::2].count(0) > 0.9 * (len(sample) // 2) and sample[0::2].count(0) == 0


def read_head(path: Path | None, size: int = SNIFF_BYTES) -> str | None:
    """The decoded first ``size`` bytes of a file, or ``None`` if unreadable (never raises)."""
    if path is None:
        return None
    try:
        with path.open("rb") as handle:
            return decode_text(handle.read(size))
    except OSError:
        return None


def matching_sidecar(candidates: Iterable[Path | None], accept: Callable[[str], bool]) -> Path | None:
    """The first existing candidate whose decoded head ``accept`` recognises (never raises)."""
    for path in candidates:
        head = read_head(path)
        if head is not None and accept(head):
            return path
    return None


def read_sidecar(path: Path) -> str:
    """The whole decoded text of a sidecar file.

    Raises
    ------
    UnreadableFileError
        If the file cannot be read or is too large to be vendor text.
    """
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_SIDECAR_BYTES + 1)
    except OSError as exc:
        raise UnreadableFileError(f"{path}: sidecar cannot be read ({exc.strerror or exc})") from exc
    if len(data) > MAX_SIDECAR_BYTES:
        raise UnreadableFileError(
            f"{path}: sidecar is larger than {MAX_SIDECAR_BYTES} bytes, so not vendor metadata; "
            "rename or move it away from the image"
        )
    return decode_text(data)


def parse_ini(text: str, default_section: str | None = None) -> Sections:
    """``[Section]`` headers and ``key=value`` lines; later keys win, other lines are ignored.

    Lines before the first header belong to ``default_section`` (dropped when it is ``None``).
    """
    sections: Sections = {}
    current = sections.setdefault(default_section, {}) if default_section else None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]") and len(line) > 2:
            current = sections.setdefault(line[1:-1].strip(), {})
            continue
        key, sep, value = line.partition("=")
        if sep and key.strip() and current is not None:
            current[key.strip()] = value.strip()
    return {name: values for name, values in sections.items() if values}


def parse_dollar_lines(text: str) -> dict[str, str]:
    """JEOL-style ``$KEY value`` lines (key kept with its ``$``/``$$``); later keys win."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("$"):
            continue
        key, _, value = line.partition(" ")
        if key.strip("$"):
            values[key] = value.strip()
    return values


def section_lookup(sections: Mapping[str, Mapping[str, str]]) -> Callable[[str], str | None]:
    """A lookup of ``"Section/key"`` paths in parsed INI sections."""

    def lookup(path: str) -> str | None:
        section, _, key = path.partition("/")
        return sections.get(section, {}).get(key)

    return lookup

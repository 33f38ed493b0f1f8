"""The extractor contract and the mapping-table machinery every vendor module uses.

An extractor has a ``name``, a ``priority`` (higher is tried first; the generic
fallback has the lowest), ``sniff(source) -> bool`` (cheap, pure, never raises)
and ``extract(source) -> Extraction``. Vendor fields are mapped by a table of
:class:`FieldMap` rows (source key -> schema slot, converter), never by an
if/elif ladder; a value that is present but cannot be converted is left empty
and named in a warning.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from fairmicro.extractors.units import convert, parse_number, parse_quantity, unit_factors

# Vendor text shows a NUL byte inside a value as this symbol, so the value is never cut short there.
NUL_MARK = "\u2400"
from fairmicro.schema import ingest_records

if TYPE_CHECKING:
    import tifffile
    from PIL import Image as PILImage

    from fairmicro.extractors.ifd import FirstPage


@dataclass
class SourceFile:
    """An opened input file: a TIFF (``tiff``) or another raster image (``pil``)."""

    path: Path
    file_format: str
    tiff: tifffile.TiffFile | None = None
    pil: PILImage.Image | None = None
    size: int | None = None  # bytes: of the data read, or from fstat when opened (None: ask the file system)
    ifd: FirstPage | None = None  # a plain single-page TIFF read without tifffile (``tiff`` then opens on first use)
    _names: frozenset[str] | Literal[False] | None = field(default=None, init=False, repr=False, compare=False)

    def sidecar(self, *suffixes: str) -> Path | None:
        """The first existing file with the same stem and one of ``suffixes``.

        The folder's names are listed once (and again only when the folder's
        mtime changes), not one stat per candidate and extractor; a candidate
        is stat-ed only when a name matches it ignoring case, so
        case-insensitive file systems behave as before.
        """
        names = self._listing()
        stem = self.path.stem  # ``with_suffix(s).name`` is ``stem + s``: no path is built for a name not listed
        for suffix in suffixes:
            for variant in (suffix, suffix.upper()):
                if names is not None and (stem + variant).casefold() not in names:
                    continue
                candidate = self.path.with_suffix(variant)
                if candidate.is_file():
                    return candidate
        return None

    def may_exist(self, name: str) -> bool:
        """Whether a file ``name`` next to this one may exist: it is listed, or the folder cannot be listed."""
        names = self._listing()
        return names is None or name.casefold() in names

    def _listing(self) -> frozenset[str] | None:
        if self._names is None:
            self._names = folder_names(os.path.dirname(self.path) or ".")  # no Path built: this runs per file
        return self._names or None


_FOLDERS: dict[str, tuple[int, frozenset[str]]] = {}
_FOLDERS_KEPT = 8
_RACY_NS = 2_000_000_000  # a listing this close to the folder's mtime may miss a file added in the same tick


def folder_names(folder: Path | str) -> frozenset[str] | Literal[False]:
    """Case-folded names in ``folder`` (``False``: it cannot be listed).

    A listing is reused while the folder's mtime is unchanged and was already
    2 s old when listed (as git does for racy index entries), so a file added
    since is never missed.
    """
    try:
        stamp = os.stat(folder).st_mtime_ns
        cached = _FOLDERS.get(str(folder))
        if cached is not None and cached[0] == stamp:
            return cached[1]
        with os.scandir(folder) as entries:
            names = frozenset(entry.name.casefold() for entry in entries)
    except OSError:
        return False
    if time.time_ns() - stamp > _RACY_NS:
        if len(_FOLDERS) >= _FOLDERS_KEPT:
            _FOLDERS.pop(next(iter(_FOLDERS)))
        _FOLDERS[str(folder)] = (stamp, names)
    return names


@dataclass(frozen=True)
class FieldSource:
    """Where one normalised value came from."""

    slot: str
    source_key: str
    raw_value: str
    conversion: str

    def __init__(self, slot: str, source_key: str, raw_value: str, conversion: str) -> None:
        # A file makes dozens of these: filling __dict__ directly is several times faster than the
        # frozen dataclass's generated __init__ (one object.__setattr__ per field); still immutable.
        fields = self.__dict__
        fields["slot"], fields["source_key"], fields["raw_value"], fields["conversion"] = (
            slot,
            source_key,
            raw_value,
            conversion,
        )


@dataclass(frozen=True)
class FieldWarning:
    """A value that was present but could not be used (the slot stays empty), or sources that disagree."""

    slot: str
    message: str


@dataclass
class Extraction:
    """What an extractor read from one file, before validation."""

    file_format: str
    width_px: int
    height_px: int
    bit_depth: int
    channels: int
    page_index: int = 0
    page_count: int = 1
    data_bar_height_px: int | None = None
    vendor: str | None = None
    instrument_model: str | None = None
    instrument_serial: str | None = None
    conditions: dict[str, Any] = field(default_factory=dict)
    sources: list[FieldSource] = field(default_factory=list)
    warnings: list[FieldWarning] = field(default_factory=list)
    vendor_metadata: dict[str, Any] | None = None

    # Instrument slots are attributes of the extraction; every other slot is a condition.
    INSTRUMENT_SLOTS: ClassVar[tuple[str, ...]] = tuple(
        f for f in ingest_records.Instrument.model_fields if f != "instrument_id"
    )
    _INSTRUMENT: ClassVar[frozenset[str]] = frozenset(INSTRUMENT_SLOTS)

    def set(self, slot: str, value: Any, source: FieldSource) -> None:
        """Store a converted value (instrument slots go to their attributes)."""
        if slot in self._INSTRUMENT:
            setattr(self, slot, value)
        else:
            self.conditions[slot] = value
        self.sources.append(source)

    def has(self, slot: str) -> bool:
        """Whether a slot already holds a value."""
        if slot in self._INSTRUMENT:
            return getattr(self, slot) is not None
        return slot in self.conditions

    def warn(self, slot: str, message: str) -> None:
        """Record a per-field warning."""
        self.warnings.append(FieldWarning(slot, message))

    def vendor_metadata_json(self) -> str | None:
        """The raw vendor block as JSON text."""
        if self.vendor_metadata is None:
            return None
        return json.dumps(self.vendor_metadata, default=str, ensure_ascii=False, sort_keys=True)


# ------------------------------------------------------------------ converters


@dataclass(frozen=True)
class Converter:
    """A named function from a raw vendor value to a normalised one."""

    describe: str
    func: Callable[[Any], Any]

    def __call__(self, raw: Any) -> Any:
        return self.func(raw)


# Converter factories are cached: a file's mapping asks for the same few (units, ratio, pixels).
@lru_cache(maxsize=1, typed=True)
def text() -> Converter:
    """Keep a value as stripped text."""

    def _text(raw: Any) -> str:
        value = str(raw).strip()
        if not value:
            raise ValueError("empty text")
        return value

    return Converter("text", _text)


@lru_cache(maxsize=1, typed=True)
def number() -> Converter:
    """A plain number, no unit change."""
    return Converter("number", parse_number)


@lru_cache(maxsize=256, typed=True)
def scaled(from_unit: str, to_unit: str) -> Converter:
    """A number in ``from_unit`` converted to ``to_unit``."""

    def _scaled(raw: Any) -> float:
        value = parse_number(raw)
        from_factor, to_factor = unit_factors(from_unit, to_unit)  # as :func:`convert`, units looked up once
        return float(f"{value * from_factor / to_factor:.12g}")

    return Converter(f"{from_unit} -> {to_unit}", _scaled)


@lru_cache(maxsize=256, typed=True)
def quantity(to_unit: str) -> Converter:
    """A number that carries its own unit, e.g. ``(25.0, 'kV')`` or ``"15000 Volt"``."""

    def _quantity(raw: Any) -> float:
        if isinstance(raw, (tuple, list)) and len(raw) == 2:
            value, unit = parse_number(raw[0]), str(raw[1])
        else:
            value, unit = parse_quantity(raw)
        if not unit:
            raise ValueError(f"{raw!r} has no unit")
        from_factor, to_factor = unit_factors(unit, to_unit)  # as :func:`convert`
        return float(f"{value * from_factor / to_factor:.12g}")

    return Converter(f"own unit -> {to_unit}", _quantity)


@lru_cache(maxsize=256, typed=True)
def reciprocal(to_unit: str) -> Converter:
    """A resolution ``(pixels per unit, unit)`` turned into the size of one pixel."""

    def _reciprocal(raw: Any) -> float:
        per_unit, unit = parse_number(raw[0]), str(raw[1])
        if per_unit <= 0:
            raise ValueError(f"resolution {per_unit} is not positive")
        return convert(1.0 / per_unit, unit, to_unit)

    return Converter(f"1 / (pixels per unit) -> {to_unit}", _reciprocal)


@lru_cache(maxsize=256, typed=True)
def timestamp(*formats: str) -> Converter:
    """Date and time parts joined with a space and parsed with the first format that fits."""

    def _timestamp(raw: Any) -> datetime:
        joined = " ".join(str(part).strip() for part in raw) if isinstance(raw, tuple) else str(raw)
        for fmt in formats:
            try:
                return datetime.strptime(joined.strip(), fmt)
            except ValueError:
                continue
        raise ValueError(f"{joined!r} matches none of {', '.join(formats)}")

    return Converter(f"datetime ({' | '.join(formats)})", _timestamp)


# --------------------------------------------------------------- mapping table


@dataclass(frozen=True)
class FieldMap:
    """One row of a vendor mapping table: source key(s) -> slot via converter.

    ``key`` may be a tuple of keys whose raw values are passed together (e.g.
    a date and a time). Rows for the same slot are fallbacks, first hit wins.
    """

    slot: str
    key: str | tuple[str, ...]
    converter: Converter


def _present(raw: Any) -> bool:
    return raw is not None and not (isinstance(raw, str) and not raw.strip())


def apply_mapping(mapping: Sequence[FieldMap], lookup: Callable[[str], Any], extraction: Extraction) -> None:
    """Fill ``extraction`` from ``mapping``; unparseable values become warnings.

    Tables with placeholders (``{beam}``) are resolved first with
    :func:`resolve_placeholders`, so the per-field trail names the real keys.
    """
    conditions, instrument, warn = extraction.conditions, Extraction._INSTRUMENT, extraction.warn
    for row in mapping:
        slot = row.slot
        if slot in instrument:  # Extraction.has and Extraction.set, inlined: this loop runs for every row of every file
            if getattr(extraction, slot) is not None:
                continue
        elif slot in conditions:
            continue
        converted = convert_row(row, lookup, warn)
        if converted is None:
            continue
        value, source = converted
        if slot in instrument:
            setattr(extraction, slot, value)
        else:
            conditions[slot] = value
        extraction.sources.append(source)


def convert_row(
    row: FieldMap, lookup: Callable[[str], Any], warn: Callable[[str, str], None]
) -> tuple[Any, FieldSource] | None:
    """(value, trail) of one mapping row, ``None`` when its keys are absent or the value is unusable.

    An unusable value (unparseable, non-finite, or holding a NUL byte, shown as
    :data:`NUL_MARK`) is reported through ``warn(slot, message)``.
    """
    key = row.key
    if type(key) is str:
        raw = lookup(key)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        key_text = key
    elif isinstance(key, tuple):
        raws = tuple(lookup(k) for k in key)
        if not all(_present(r) for r in raws):
            return None
        raw = raws if len(raws) > 1 else raws[0]
        key_text = " + ".join(key)
    else:
        raw = lookup(key)
        if not _present(raw):
            return None
        key_text = key
    raw_text = raw if type(raw) is str else _raw_text(raw)  # once: the NUL check, the warning and the trail
    converter = row.converter
    try:
        if NUL_MARK in raw_text:
            raise ValueError(f"holds a NUL byte (shown as {NUL_MARK}); the value around it cannot be trusted")
        value = converter.func(raw) if type(converter) is Converter else converter(raw)
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{value} after conversion is not a finite number")
    except (ValueError, TypeError, OverflowError) as exc:
        warn(row.slot, f"{key_text}={raw_text}: {exc}")
        return None
    return value, FieldSource(row.slot, key_text, raw_text, converter.describe)


def _raw_text(raw: Any) -> str:
    if isinstance(raw, tuple):
        return " ".join([_raw_text(r) if isinstance(r, tuple) else str(r) for r in raw])
    return str(raw)


_RESOLVED: dict[tuple[tuple[FieldMap, ...], tuple[tuple[str, str], ...]], tuple[FieldMap, ...]] = {}
_RESOLVED_LIMIT = 256  # distinct (table, names) pairs kept; files of one instrument share a handful
_RESOLVED_BY_ID: dict[tuple[int, tuple[tuple[str, str], ...]], tuple[tuple[FieldMap, ...], tuple[FieldMap, ...]]] = {}


def resolve_placeholders(mapping: Sequence[FieldMap], names: dict[str, str]) -> tuple[FieldMap, ...]:
    """The table with placeholders such as ``{beam}`` replaced, so the trail names real keys.

    Results are cached: the files of one collection resolve the same few tables.
    """
    items = tuple(names.items())
    if isinstance(mapping, tuple):  # by identity: hashing every row of a table costs more than resolving it
        cached = _RESOLVED_BY_ID.get((id(mapping), items))
        if cached is not None and cached[0] is mapping:
            return cached[1]
    key = (tuple(mapping), items)
    try:
        resolved = _RESOLVED[key]
    except KeyError:
        if len(_RESOLVED) >= _RESOLVED_LIMIT:
            _RESOLVED.clear()
        resolved = _RESOLVED[key] = _resolve_placeholders(mapping, names)
    except TypeError:  # an unhashable converter: resolve without the cache
        return _resolve_placeholders(mapping, names)
    if isinstance(mapping, tuple):
        if len(_RESOLVED_BY_ID) >= _RESOLVED_LIMIT:
            _RESOLVED_BY_ID.clear()
        _RESOLVED_BY_ID[(id(mapping), items)] = (mapping, resolved)  # holds the table: its id stays its own
    return resolved


def _resolve_placeholders(mapping: Sequence[FieldMap], names: dict[str, str]) -> tuple[FieldMap, ...]:
    def resolve(key: str) -> str:
        for placeholder, name in names.items():
            key = key.replace(placeholder, name)
        return key

    def resolve_row(row: FieldMap) -> FieldMap:
        key = tuple(map(resolve, row.key)) if isinstance(row.key, tuple) else resolve(row.key)
        return FieldMap(row.slot, key, row.converter)

    return tuple(map(resolve_row, mapping))


def mapping_slots(mapping: Sequence[FieldMap]) -> set[str]:
    """Every target slot of a mapping table (checked against the schema in tests)."""
    return {row.slot for row in mapping}


class Extractor:
    """Base class of extractors; subclasses set ``name``, ``priority`` and ``mapping``."""

    name: ClassVar[str] = ""
    priority: ClassVar[int] = 0
    mapping: ClassVar[Sequence[FieldMap]] = ()

    @property
    def version(self) -> str:
        """Extractor version; built-ins share the fairmicro version."""
        from fairmicro import __version__

        return __version__

    def sniff(self, source: SourceFile) -> bool:  # pragma: no cover - interface
        """Whether this extractor recognises the file. Must never raise."""
        raise NotImplementedError

    def extract(self, source: SourceFile) -> Extraction:  # pragma: no cover - interface
        """Read the image facts and the vendor metadata."""
        raise NotImplementedError

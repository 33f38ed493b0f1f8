"""The stored frame versus the saved image: data bars and rescaled pixel sizes.

Several vendors state the size of the frame the instrument stored (JEOL
``$CM_FULL_SIZE``, Hitachi ``DataSize``) and give calibrations in pixels of
that frame. The saved file can be taller (a data bar is appended below the
image) or, rarely, saved at another width. Calibrations are therefore scaled
by stored width / saved width, and rows below the (scaled) stored frame are the
data bar.

When a file gives the pixel size of the saved image in several ways (a
vendor pixel size, the field width over the saved pixels, an unrounded copy),
:func:`choose_pixel_size` takes the first in the vendor's order of preference,
cross-checks it against the others (a warning when two disagree by more than
:data:`AGREE`), swaps in an unrounded value that rounds to it, and writes into
the trail which source won and how far the others were.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from fairmicro.extractors.base import (
    Converter,
    Extraction,
    FieldMap,
    FieldSource,
    apply_mapping,
    convert_row,
    quantity,
    scaled,
)
from fairmicro.extractors.units import convert, parse_number, parse_quantity

PIXEL_SLOTS = ("pixel_size_x_nm", "pixel_size_y_nm")
AGREE = 0.01  # two sources of one pixel size further apart than this (relative) are reported
_FRAME = re.compile(r"^\s*([0-9]{1,6})\s*[x*X ,]\s*([0-9]{1,6})\s*$")
_WRITTEN = re.compile(r"[-+]?(\d*)(?:\.(\d*))?(?:[eE]([-+]?\d+))?")


@dataclass(frozen=True)
class Frame:
    """Width and height, in pixels, of the frame the instrument stored."""

    width: int
    height: int

    @classmethod
    def parse(cls, raw: object) -> Frame:
        """Read ``"1280 960"``, ``"1280x960"`` or ``"1024 * 768"``; ``ValueError`` otherwise."""
        match = _FRAME.match(str(raw))
        if not match or not int(match.group(1)) or not int(match.group(2)):
            raise ValueError(f"{raw!r} is not a frame size 'width height' in pixels")
        return cls(int(match.group(1)), int(match.group(2)))


def apply_frame(extraction: Extraction, key: str, raw: str | None) -> float | None:
    """Record the data bar below the stored frame; return stored width / saved width.

    Returns 1.0 when the vendor states no frame (calibrations then refer to the
    saved image) and ``None``, with a warning, when the frame cannot be read,
    because a calibration in pixels of an unknown frame cannot be used.
    """
    if raw is None or not str(raw).strip():
        return 1.0
    try:
        frame = Frame.parse(raw)
    except ValueError as exc:
        for slot in PIXEL_SLOTS:
            extraction.warn(slot, f"{key}={raw}: {exc}; the calibration's frame is unknown")
        return None
    image_rows = round(frame.height * extraction.width_px / frame.width)
    extraction.data_bar_height_px = max(extraction.height_px - image_rows, 0)
    return frame.width / extraction.width_px


def frame_pixel_size(
    extraction: Extraction,
    lookup: Callable[[str], Any],
    frame_key: str,
    pixel_key: str | tuple[str, ...],
    converter: Callable[[float], Converter],
) -> None:
    """Data bar from ``frame_key``, then square pixels from ``pixel_key`` via ``converter``."""
    ratio = apply_frame(extraction, frame_key, lookup(frame_key))
    if ratio is not None:
        both = square(converter(ratio))
        apply_mapping(tuple(FieldMap(slot, pixel_key, both) for slot in PIXEL_SLOTS), lookup, extraction)


def _ratio_text(ratio: float) -> str:
    return "" if ratio == 1 else f", x {ratio:.6g} (stored/saved width)"


# Converter factories are cached: the files of a collection share a few (units, ratio, pixels).
@lru_cache(maxsize=256, typed=True)
def pixel_size(from_unit: str, to_unit: str, ratio: float = 1.0) -> Converter:
    """Pixel size of the saved image in ``to_unit`` from a positive one of the stored frame."""

    def _pixel_size(raw: Any) -> float:
        value = parse_number(raw)
        if value <= 0:
            raise ValueError(f"pixel size {value} is not positive (uncalibrated)")
        return convert(value * ratio, from_unit, to_unit)

    return Converter(f"{from_unit} -> {to_unit}{_ratio_text(ratio)}", _pixel_size)


@lru_cache(maxsize=256, typed=True)
def pixel_quantity(to_unit: str, ratio: float = 1.0) -> Converter:
    """Like :func:`pixel_size` for a value that carries its own unit, e.g. ``(12.33, 'nm')``."""
    base = quantity(to_unit)

    def _pixel_quantity(raw: Any) -> float:
        value = base(raw)
        if value <= 0:
            raise ValueError(f"pixel size {value} is not positive (uncalibrated)")
        return value * ratio

    return Converter(f"{base.describe}{_ratio_text(ratio)}", _pixel_quantity)


@lru_cache(maxsize=256, typed=True)
def square(converter: Converter) -> Converter:
    """``converter`` noted as giving the pixel size of both axes."""
    return Converter(f"{converter.describe}, square pixels", converter.func)


@lru_cache(maxsize=256, typed=True)
def marker_per_bar(to_unit: str, ratio: float) -> Converter:
    """Pixel size from a scale marker (``"100um"``) and its bar length in stored pixels."""

    def _per_bar(raw: Any) -> float:
        marker, bar = raw
        length, unit = parse_quantity(marker)
        pixels = parse_number(bar)
        if not unit:
            raise ValueError(f"marker {marker!r} has no unit")
        if length <= 0 or pixels <= 0:
            raise ValueError(f"marker {marker!r} over {bar!r} px is not a positive length per pixel")
        return convert(length / pixels * ratio, unit, to_unit)

    return Converter(f"marker length / bar pixels -> {to_unit}{_ratio_text(ratio)}", _per_bar)


@lru_cache(maxsize=256, typed=True)
def field_per_pixel(to_unit: str, pixels: int, from_unit: str | None = None) -> Converter:
    """Pixel size from a field width (or height) over the saved image's ``pixels``.

    ``from_unit=None`` reads values that carry their own unit, e.g. ``(2.677, 'mm')``.
    """
    base = quantity(to_unit) if from_unit is None else scaled(from_unit, to_unit)

    def _per_pixel(raw: Any) -> float:
        return float(f"{base(raw) / pixels:.12g}")  # drop float noise of the division

    return Converter(f"{base.describe}, / {pixels} px of the saved image", _per_pixel)


@lru_cache(maxsize=256, typed=True)
def field_per_pixel_row(slot: str, key: str, pixels: int, from_unit: str | None = None) -> FieldMap:
    """A row reading a field width (or height) ``key`` over ``pixels`` of the saved image into ``slot``."""
    return FieldMap(slot, key, field_per_pixel("nm", pixels, from_unit))


def image_rows(extraction: Extraction) -> int:
    """Rows of the saved image proper (the data bar excluded)."""
    return extraction.height_px - (extraction.data_bar_height_px or 0)


@dataclass(frozen=True)
class Estimate:
    """One source's value for a pixel size, with its trail."""

    value: float
    source: FieldSource


def _estimates(
    rows: Sequence[FieldMap], lookup: Callable[[str], Any], warn: Callable[[str, str], None]
) -> list[Estimate]:
    found = []
    for row in rows:
        converted = convert_row(row, lookup, warn)
        if converted is not None and isinstance(converted[0], float):
            found.append(Estimate(*converted))
    return found


def apart(a: float, b: float) -> float:
    """Relative difference of two positive values (0 = equal, 1 = one is twice ... the other)."""
    return abs(a - b) / min(abs(a), abs(b)) if min(abs(a), abs(b)) else math.inf


def written_tolerance(raw: str) -> float:
    """Half a unit in the last written digit of the first number in ``raw``, relative to it."""
    for match in _WRITTEN.finditer(raw):
        if not (match.group(1) or match.group(2)):
            continue
        value = float(match.group(0))
        decimals, exponent = len(match.group(2) or ""), int(match.group(3) or 0)
        return 0.5 * 10.0 ** (exponent - decimals) / abs(value) if value else 0.0
    return 0.0


def choose_pixel_size(
    extraction: Extraction,
    slot: str,
    rows: Sequence[FieldMap],
    lookup: Callable[[str], Any],
    refine: Sequence[FieldMap] = (),
) -> Estimate | None:
    """Fill ``slot`` from the first usable row of ``rows``, cross-checked against the others.

    Every other usable row is compared with the winner: more than :data:`AGREE`
    apart is a warning (the winner is still kept: the rows are in the vendor's
    order of trust). A ``refine`` row (an unrounded copy of the same quantity)
    replaces the winner when it rounds to the winner's written digits. The
    trail's conversion names the winner and how far every other source was.
    """
    if extraction.has(slot):
        return None
    found = _estimates(rows, lookup, extraction.warn)
    if not found:
        return None
    best, notes = found[0], []
    for other in found[1:]:
        gap = apart(best.value, other.value)
        notes.append(f"{other.source.source_key} ({gap:.2%} apart)")
        if gap > AGREE:
            extraction.warn(
                slot,
                f"{best.source.source_key} gives {best.value:.6g} nm but {other.source.source_key} gives "
                f"{other.value:.6g} nm ({gap:.1%} apart); kept {best.source.source_key}",
            )
    chosen = _refined(best, refine, lookup) if refine else best
    source = chosen.source
    if notes or source.slot != slot:
        checked = f"; chosen over {', '.join(notes)}" if notes else ""
        source = FieldSource(slot, source.source_key, source.raw_value, source.conversion + checked)
    extraction.set(slot, chosen.value, source)
    return chosen


def _refined(best: Estimate, refine: Sequence[FieldMap], lookup: Callable[[str], Any]) -> Estimate:
    """An unrounded refine row that rounds to ``best``'s written digits, else ``best``."""
    tolerance = written_tolerance(best.source.raw_value) * (1 + 1e-6) + 1e-12
    for fine in _estimates(refine, lookup, lambda slot, message: None):
        if apart(fine.value, best.value) <= tolerance:
            source = fine.source
            describe = f"{source.conversion}, unrounded {best.source.source_key}={best.source.raw_value}"
            return Estimate(fine.value, FieldSource(source.slot, source.source_key, source.raw_value, describe))
    return best


def square_from(extraction: Extraction, slot: str, other: str) -> None:
    """``slot`` := ``other`` (square pixels) when ``slot`` has no source at all, not even a bad one."""
    if extraction.has(slot) or not extraction.has(other) or any(w.slot == slot for w in extraction.warnings):
        return
    source = next(s for s in reversed(extraction.sources) if s.slot == other)
    trail = FieldSource(slot, source.source_key, source.raw_value, f"{source.conversion}, square pixels")
    extraction.set(slot, extraction.conditions[other], trail)

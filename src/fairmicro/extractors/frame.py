"""The stored frame versus the saved image: data bars and rescaled pixel sizes.

Several vendors state the size of the frame the instrument stored (JEOL
``$CM_FULL_SIZE``, Hitachi ``DataSize``) and give calibrations in pixels of
that frame. The saved file can be taller (a data bar is appended below the
image) or, rarely, saved at another width. Calibrations are therefore scaled
by stored width / saved width, and rows below the (scaled) stored frame are the
data bar.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fairmicro.extractors.base import (
    Converter,
    Extraction,
    FieldMap,
    apply_mapping,
    quantity,
    scaled,
)
from fairmicro.extractors.units import convert, parse_number, parse_quantity

PIXEL_SLOTS = ("pixel_size_x_nm", "pixel_size_y_nm")
_FRAME = re.compile(r"^\s*([0-9]{1,6})\s*[x*X ,]\s*([0-9]{1,6})\s*$")


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
        square = converter(ratio)
        square = Converter(f"{square.describe}, square pixels", square.func)
        apply_mapping(
            tuple(FieldMap(slot, pixel_key, square) for slot in PIXEL_SLOTS), lookup, extraction
        )


def _ratio_text(ratio: float) -> str:
    return "" if ratio == 1 else f", x {ratio:.6g} (stored/saved width)"


def pixel_size(from_unit: str, to_unit: str, ratio: float = 1.0) -> Converter:
    """Pixel size of the saved image in ``to_unit`` from a positive one of the stored frame."""

    def _pixel_size(raw: Any) -> float:
        value = parse_number(raw)
        if value <= 0:
            raise ValueError(f"pixel size {value} is not positive (uncalibrated)")
        return convert(value * ratio, from_unit, to_unit)

    return Converter(f"{from_unit} -> {to_unit}{_ratio_text(ratio)}", _pixel_size)


def marker_per_bar(to_unit: str, ratio: float) -> Converter:
    """Pixel size from a scale marker (``"100um"``) and its bar length in stored pixels."""

    def _per_bar(raw: Any) -> float:
        marker, bar = raw
        length, unit = parse_quantity(marker)
        pixels = parse_number(bar)
        if not unit:
            raise ValueError(f"marker {marker!r} has no unit")
        if length <= 0 or pixels <= 0:
            raise ValueError(
                f"marker {marker!r} over {bar!r} px is not a positive length per pixel"
            )
        return convert(length / pixels * ratio, unit, to_unit)

    return Converter(f"marker length / bar pixels -> {to_unit}{_ratio_text(ratio)}", _per_bar)


def field_per_pixel(to_unit: str, pixels: int, from_unit: str | None = None) -> Converter:
    """Pixel size from a field width (or height) over the saved image's ``pixels``.

    ``from_unit=None`` reads values that carry their own unit, e.g. ``(2.677, 'mm')``.
    """
    base = quantity(to_unit) if from_unit is None else scaled(from_unit, to_unit)

    def _per_pixel(raw: Any) -> float:
        return base(raw) / pixels

    return Converter(f"{base.describe}, / {pixels} px of the saved image", _per_pixel)


def field_mapping(width_key: str, height_key: str, extraction: Extraction, from_unit: str | None = None) -> tuple[FieldMap, ...]:
    """Pixel sizes from field width and height over the saved image (data bar excluded)."""
    rows = extraction.height_px - (extraction.data_bar_height_px or 0)
    return (
        FieldMap(PIXEL_SLOTS[0], width_key, field_per_pixel("nm", extraction.width_px, from_unit)),
        FieldMap(PIXEL_SLOTS[1], height_key, field_per_pixel("nm", rows, from_unit)),
    )

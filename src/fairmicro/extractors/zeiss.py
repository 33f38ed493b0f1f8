"""Zeiss SmartSEM TIFFs: the ``CZ_SEM`` block in TIFF tag 34118.

tifffile parses the block into ``{key: (label, value[, unit])}``; values that
carry a unit are converted from that unit. Zeiss "Pixel Size" refers to the
*store* resolution, so the pixel size of the saved image is derived from the
field width (``ap_width``/``ap_height``) and the saved size in pixels.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from fairmicro.extractors.base import (
    Extraction,
    Extractor,
    FieldMap,
    FieldSource,
    SourceFile,
    apply_mapping,
    quantity,
    text,
    timestamp,
)
from fairmicro.extractors.source import base_extraction
from fairmicro.extractors.tagblock import read_block
from fairmicro.extractors.units import convert, parse_number

CZ_SEM_TAG = 34118

MAPPING: tuple[FieldMap, ...] = (
    FieldMap("instrument_model", "dp_column_type", text()),
    FieldMap("instrument_serial", "sv_serial_number", text()),
    FieldMap("detector", "dp_detector_type", text()),
    FieldMap("detector", "dp_detector_channel", text()),
    FieldMap("accelerating_voltage_kv", "ap_actualkv", quantity("kV")),
    FieldMap("accelerating_voltage_kv", "ap_manualkv", quantity("kV")),
    FieldMap("beam_current_na", "ap_iprobe", quantity("nA")),
    FieldMap("working_distance_mm", "ap_wd", quantity("mm")),
    FieldMap("working_distance_mm", "ap_alias_wd", quantity("mm")),
    FieldMap("dwell_time_us", "dp_dwell_time", quantity("us")),
    FieldMap("magnification", "ap_mag", quantity("X")),
    FieldMap("horizontal_field_width_um", "ap_width", quantity("um")),
    FieldMap("stage_x_mm", "ap_stage_at_x", quantity("mm")),
    FieldMap("stage_y_mm", "ap_stage_at_y", quantity("mm")),
    FieldMap("stage_z_mm", "ap_stage_at_z", quantity("mm")),
    FieldMap("stage_rotation_deg", "ap_stage_at_r", quantity("deg")),
    FieldMap("stage_tilt_deg", "ap_stage_at_t", quantity("deg")),
    FieldMap("brightness_percent", "ap_brightness", quantity("%")),
    FieldMap("contrast_percent", "ap_contrast", quantity("%")),
    FieldMap("acquired_at", ("ap_date", "ap_time"), timestamp("%d %b %Y %H:%M:%S")),
    FieldMap("operator", "sv_operator", text()),
    FieldMap("operator", "sv_user_name", text()),
)


def _lookup(block: dict[str, Any]) -> Any:
    def lookup(key: str) -> Any:
        entry = block.get(key)
        if not isinstance(entry, tuple) or len(entry) < 2:
            return None
        return (entry[1], entry[2]) if len(entry) > 2 else entry[1]

    return lookup


class ZeissExtractor(Extractor):
    """Zeiss SmartSEM (Sigma, Merlin, Gemini, Crossbeam, EVO, ...)."""

    name: ClassVar[str] = "zeiss"
    priority: ClassVar[int] = 100
    mapping = MAPPING

    def sniff(self, source: SourceFile) -> bool:
        """A TIFF whose first page carries tag 34118."""
        try:
            return source.tiff is not None and CZ_SEM_TAG in source.tiff.pages.first.tags
        except Exception:  # sniff must never raise
            return False

    def extract(self, source: SourceFile) -> Extraction:
        """Map the CZ_SEM block."""
        assert source.tiff is not None
        extraction = base_extraction(source)
        block, problem = read_block(source.tiff.pages.first, CZ_SEM_TAG)
        if problem:
            extraction.warn("vendor_metadata", problem)
        extraction.vendor = "Zeiss"
        extraction.vendor_metadata = {k: list(v) if isinstance(v, tuple) else v for k, v in block.items()}
        apply_mapping(MAPPING, _lookup(block), extraction)
        _store_resolution(block, extraction)
        _pixel_size(block, extraction)
        return extraction


def _store_size(block: dict[str, Any]) -> tuple[int, int] | None:
    entry = block.get("dp_image_store")
    match = re.match(r"\s*(\d+)\s*\*\s*(\d+)", str(entry[1])) if isinstance(entry, tuple) else None
    return (int(match.group(1)), int(match.group(2))) if match else None


def _store_resolution(block: dict[str, Any], extraction: Extraction) -> None:
    """Record a data bar when the saved image is taller than the stored frame."""
    store = _store_size(block)
    if store is None:
        return
    scaled_h = round(store[1] * extraction.width_px / store[0])
    extraction.data_bar_height_px = max(extraction.height_px - scaled_h, 0)


def _pixel_size(block: dict[str, Any], extraction: Extraction) -> None:
    """Pixel size of the saved image, not of the store resolution.

    Preferred: the unrounded store pixel size (unnamed value 3 of the block, in
    m) scaled by store width / saved width. Otherwise the field width
    (``ap_width``/``ap_height``) divided by the saved size in pixels.
    """
    store = _store_size(block)
    unnamed = block.get("", ())
    if store is not None and len(unnamed) > 3 and isinstance(unnamed[3], float) and unnamed[3] > 0:
        ratio = store[0] / extraction.width_px
        conversion = f"m -> nm, x {store[0]}/{extraction.width_px} (store/saved width), square pixels"
        value = convert(unnamed[3] * ratio, "m", "nm")
        for slot in ("pixel_size_x_nm", "pixel_size_y_nm"):
            extraction.set(slot, value, FieldSource(slot, "[unnamed 3] store pixel size", repr(unnamed[3]), conversion))
        return
    image_rows = extraction.height_px - (extraction.data_bar_height_px or 0)
    for slot, key, pixels in (
        ("pixel_size_x_nm", "ap_width", extraction.width_px),
        ("pixel_size_y_nm", "ap_height", image_rows),
    ):
        entry = block.get(key)
        if not isinstance(entry, tuple) or len(entry) < 3:
            continue
        raw = f"{entry[1]} {entry[2]}"
        try:
            field_nm = convert(parse_number(entry[1]), str(entry[2]), "nm")
        except ValueError as exc:
            extraction.warn(slot, f"{key}={raw}: {exc}")
            continue
        conversion = f"field {entry[2]} -> nm, / {pixels} px of the saved image"
        extraction.set(slot, field_nm / pixels, FieldSource(slot, key, raw, conversion))

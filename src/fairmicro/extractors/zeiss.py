"""Zeiss SmartSEM TIFFs: the ``CZ_SEM`` block in TIFF tag 34118.

tifffile parses the block into ``{key: (label, value[, unit])}``; values that
carry a unit are converted from that unit.

Pixel size of the saved image, in order of trust:

1. ``ap_image_pixel_size`` ("Image Pixel Size"), the pixel of the store
   resolution ``dp_image_store`` ("1024 * 768"), times store width / saved width
   (1 when the file was saved at the store resolution; 2 for a half-size save);
2. the field width ``ap_width`` over the saved width in pixels (y: the field
   height ``ap_height`` over the saved rows above the data bar).

The first one present wins; the other is a cross-check (a warning when they
are more than 1 % apart). The block's unnamed store pixel value (unrounded)
replaces the winner when it rounds to the winner's written digits.
``ap_pixel_size`` ("Pixel Size") is *not* used: SmartSEM writes it for another
frame (a 2048-wide image holds twice its pixel size, 24.65 nm beside an Image
Pixel Size of 12.33 nm and 25.24 um / 2048 px). Rows below the store frame,
scaled to the saved width, are the data bar.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, ClassVar

from fairmicro.extractors.base import (
    Extraction,
    Extractor,
    FieldMap,
    SourceFile,
    apply_mapping,
    quantity,
    text,
    timestamp,
)
from fairmicro.extractors.frame import (
    PIXEL_SLOTS,
    apply_frame,
    choose_pixel_size,
    field_per_pixel_row,
    image_rows,
    pixel_quantity,
    pixel_size,
    square,
)
from fairmicro.extractors.source import base_extraction
from fairmicro.extractors.tagblock import source_block
from fairmicro.extractors.vendortext import restore_damaged_keys

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


STORE_KEY = "dp_image_store"
IMAGE_PIXEL_KEY = "ap_image_pixel_size"
STORE_PIXEL_KEY = "[unnamed 3]"  # the unrounded store pixel size (m), in the block's unnamed values


def _lookup(block: dict[str, Any]) -> Any:
    unnamed = block.get("", ())

    def lookup(key: str) -> Any:
        if key == STORE_PIXEL_KEY:
            return unnamed[3] if len(unnamed) > 3 else None
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
            if source.ifd is not None:
                return CZ_SEM_TAG in source.ifd.entries
            return source.tiff is not None and CZ_SEM_TAG in source.tiff.pages.first.tags
        except Exception:  # noqa: BLE001 - sniff must never raise
            return False

    def extract(self, source: SourceFile) -> Extraction:
        """Map the CZ_SEM block."""
        extraction = base_extraction(source)
        block, problem = source_block(source, CZ_SEM_TAG)
        if problem:
            extraction.warn("vendor_metadata", problem)
        extraction.vendor = "Zeiss"
        extraction.vendor_metadata = {k: list(v) if isinstance(v, tuple) else v for k, v in block.items()}
        lookup = _lookup(restore_damaged_keys(block))
        apply_mapping(MAPPING, lookup, extraction)
        _pixel_size(lookup, extraction)
        return extraction


def _pixel_size(lookup: Any, extraction: Extraction) -> None:
    """Pixel size of the saved image: image pixel size (store frame) or field / saved pixels, cross-checked."""
    ratio = apply_frame(extraction, STORE_KEY, lookup(STORE_KEY))
    fields = (("ap_width", extraction.width_px, ""), ("ap_height", image_rows(extraction), "square"))
    for slot, (field_key, pixels, shape) in zip(PIXEL_SLOTS, fields, strict=True):
        rows, refine = _pixel_rows(slot, field_key, pixels, shape, ratio)
        choose_pixel_size(extraction, slot, rows, lookup, refine)


@lru_cache(maxsize=256, typed=True)
def _pixel_rows(
    slot: str, field_key: str, pixels: int, shape: str, ratio: float | None
) -> tuple[tuple[FieldMap, ...], tuple[FieldMap, ...]]:
    """(rows, refine rows) of one pixel-size slot; ``ratio=None``: the store frame is unknown."""
    rows, refine = [], []
    if ratio is not None:
        own = pixel_quantity("nm", ratio)
        unrounded = pixel_size("m", "nm", ratio)
        rows.append(FieldMap(slot, IMAGE_PIXEL_KEY, square(own) if shape else own))
        refine.append(FieldMap(slot, STORE_PIXEL_KEY, square(unrounded) if shape else unrounded))
    rows.append(field_per_pixel_row(slot, field_key, pixels))
    return tuple(rows), tuple(refine)

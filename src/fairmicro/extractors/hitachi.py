"""Hitachi SEM (TM and SU series, S-4800): an image plus a sidecar ``.txt`` with ``[SemImageFile]``.

The sidecar is UTF-16LE (with BOM) or ASCII and is paired by file stem, never
by its ``ImageName=`` line (files are often renamed after saving). Units are
written inside the values (``AcceleratingVoltage=15000 Volt``,
``WorkingDistance=7706.35 um``); ``PixelSize`` is in nm for the stored frame
``DataSize`` and is scaled by stored width / saved width. Rows below the stored
frame are the data bar.
"""

from __future__ import annotations

from typing import ClassVar

from fairmicro.extractors.base import (
    Extraction,
    FieldMap,
    apply_mapping,
    number,
    quantity,
    text,
    timestamp,
)
from fairmicro.extractors.frame import frame_pixel_size, pixel_size
from fairmicro.extractors.sidecar import Block, SidecarExtractor
from fairmicro.extractors.vendortext import parse_ini, section_lookup

SECTION = "SemImageFile"

MAPPING: tuple[FieldMap, ...] = (
    FieldMap("instrument_model", f"{SECTION}/InstructName", text()),
    FieldMap("instrument_serial", f"{SECTION}/SerialNumber", text()),
    FieldMap("detector", f"{SECTION}/SignalName", text()),
    FieldMap("accelerating_voltage_kv", f"{SECTION}/AcceleratingVoltage", quantity("kV")),
    FieldMap("working_distance_mm", f"{SECTION}/WorkingDistance", quantity("mm")),
    FieldMap("magnification", f"{SECTION}/Magnification", number()),
    FieldMap(
        "acquired_at",
        (f"{SECTION}/Date", f"{SECTION}/Time"),
        timestamp("%Y/%m/%d %H:%M:%S", "%m/%d/%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S"),
    ),
)


class HitachiExtractor(SidecarExtractor):
    """Hitachi SEM images with their ``[SemImageFile]`` sidecar."""

    name: ClassVar[str] = "hitachi"
    priority: ClassVar[int] = 100
    mapping = MAPPING
    vendor: ClassVar[str] = "Hitachi"

    def recognises(self, head: str) -> bool:
        """A ``[SemImageFile]`` section."""
        return f"[{SECTION}]" in head

    def parse(self, text: str) -> Block:
        """INI sections."""
        return parse_ini(text)

    def fill(self, block: Block, extraction: Extraction) -> None:
        """Mapping table, then data bar and pixel size (stored frame ``DataSize``)."""
        lookup = section_lookup(block)
        apply_mapping(MAPPING, lookup, extraction)
        frame_pixel_size(
            extraction,
            lookup,
            f"{SECTION}/DataSize",
            f"{SECTION}/PixelSize",
            lambda ratio: pixel_size("nm", "nm", ratio),
        )

"""JEOL SEM and EPMA: an image (TIFF, BMP or JPEG) plus a ``.txt`` of ``$CM_``/``$$SM_`` lines.

The sidecar has the image's stem. Units are fixed by the key: ``$CM_ACCEL_VOLT``
in kV, ``$$SM_WD`` in mm, ``$$SM_PROBE_CURRENT`` in A. JEOL writes no pixel
size: it is the scale marker length (``$$SM_MICRON_MARKER``, e.g. ``100um``)
over the marker bar length in pixels (``$$SM_MICRON_BAR``) of the stored frame
(``$CM_FULL_SIZE``), scaled by stored width / saved width. Rows below the
stored frame are the data bar.
"""

from __future__ import annotations

from typing import ClassVar

from fairmicro.extractors.base import (
    Extraction,
    FieldMap,
    apply_mapping,
    number,
    scaled,
    text,
    timestamp,
)
from fairmicro.extractors.frame import frame_pixel_size, marker_per_bar
from fairmicro.extractors.sidecar import Block, SidecarExtractor
from fairmicro.extractors.vendortext import parse_dollar_lines

SIGNATURES = ("$CM_FORMAT JEOL", "$SEM_DATA_VERSION", "$CM_MAG", "$CM_ACCEL_VOLT")
FRAME_KEY = "$CM_FULL_SIZE"
BAR_KEYS = ("$$SM_MICRON_MARKER", "$$SM_MICRON_BAR")

MAPPING: tuple[FieldMap, ...] = (
    FieldMap("instrument_model", "$CM_INSTRUMENT", text()),
    FieldMap("detector", "$CM_SIGNAL", text()),
    FieldMap("detector", "$CM_SIGNAL_NAME", text()),
    FieldMap("accelerating_voltage_kv", "$CM_ACCEL_VOLT", scaled("kV", "kV")),
    FieldMap("working_distance_mm", "$$SM_WD", scaled("mm", "mm")),
    FieldMap("beam_current_na", "$$SM_PROBE_CURRENT", scaled("A", "nA")),
    FieldMap("magnification", "$CM_MAG", number()),
    FieldMap("acquired_at", ("$CM_DATE", "$CM_TIME"), timestamp("%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S")),
    FieldMap("operator", "$CM_OPERATOR", text()),
)


class JeolExtractor(SidecarExtractor):
    """JEOL SEM (JSM) and EPMA (JXA) images with their ``.txt`` sidecar."""

    name: ClassVar[str] = "jeol"
    priority: ClassVar[int] = 100
    mapping = MAPPING
    vendor: ClassVar[str] = "JEOL"

    def recognises(self, head: str) -> bool:
        """JEOL ``$CM_`` lines."""
        return any(signature in head for signature in SIGNATURES)

    def parse(self, text: str) -> Block:
        """The ``$KEY value`` lines."""
        return parse_dollar_lines(text)

    def fill(self, block: Block, extraction: Extraction) -> None:
        """Mapping table, then data bar and pixel size from the scale bar."""
        apply_mapping(MAPPING, block.get, extraction)
        frame_pixel_size(extraction, block.get, FRAME_KEY, BAR_KEYS, lambda ratio: marker_per_bar("nm", ratio))

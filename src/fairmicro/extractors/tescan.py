"""TESCAN SEM and FIB-SEM: INI text in TIFF tag 50431, or a ``.hdr`` sidecar next to the image.

Two layouts of the same text exist. The ``.hdr`` sidecar (``<stem>.hdr`` or
``<stem>-<ext>.hdr``, e.g. ``image-png.hdr``) is INI with ``[MAIN]`` and
``[SEM]`` (or ``[FIB]``) sections. Tag 50431 holds a sequence of typed blocks
(uint32 size counting the type, uint16 type, payload in the TIFF byte order;
type 2 = MAIN, 3 = SEM, 4 = GAMA, 5 = FIB, 1 = JPEG thumbnail, 0 = end) whose
text payloads have no section headers; some writers put the INI text itself in
the tag, which is read as well. A tag wins over a sidecar.

Numbers are SI: ``PixelSizeX/Y`` in m (of the saved image), ``HV`` and
``AcceleratorVoltage`` in V, ``WD`` and ``StageX/Y/Z`` in m, ``DwellTime`` in s,
``BeamCurrent`` in A, ``StageRotation``/``StageTilt`` in degrees.
``MAIN/ImageStripSize`` is the height of the info strip (data bar) below the
image. Beam values come from ``[SEM]``; from ``[FIB]`` only when there is no
``[SEM]`` section (an ion image).
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import ClassVar

from fairmicro.extractors.base import (
    Extraction,
    FieldMap,
    SourceFile,
    apply_mapping,
    number,
    resolve_placeholders,
    scaled,
    text,
    timestamp,
)
from fairmicro.extractors.frame import pixel_size
from fairmicro.extractors.sidecar import Block, SidecarExtractor
from fairmicro.extractors.tagblock import raw_tag_bytes
from fairmicro.extractors.units import parse_number
from fairmicro.extractors.vendortext import Sections, decode_text, parse_ini, section_lookup

TESCAN_TAG = 50431
BLOCK_SECTIONS = {2: "MAIN", 3: "SEM", 4: "GAMA", 5: "FIB"}
END_BLOCK, THUMBNAIL_BLOCK = 0, 1
KNOWN_BLOCKS = frozenset({END_BLOCK, THUMBNAIL_BLOCK, *BLOCK_SECTIONS})
TAG_SIGNATURES = (b"PixelSizeX=", b"[MAIN]")
STRIP_KEY = "MAIN/ImageStripSize"

MAPPING: tuple[FieldMap, ...] = (
    FieldMap("instrument_model", "MAIN/Device", text()),
    FieldMap("instrument_serial", "MAIN/SerialNumber", text()),
    FieldMap("detector", "{beam}/Detector", text()),
    FieldMap("detector", "{beam}/Detector0", text()),
    FieldMap("accelerating_voltage_kv", "{beam}/HV", scaled("V", "kV")),
    FieldMap("accelerating_voltage_kv", "{beam}/AcceleratorVoltage", scaled("V", "kV")),
    FieldMap("beam_current_na", "{beam}/BeamCurrent", scaled("A", "nA")),
    FieldMap("beam_current_na", "{beam}/PredictedBeamCurrent", scaled("A", "nA")),
    FieldMap("working_distance_mm", "{beam}/WD", scaled("m", "mm")),
    FieldMap("dwell_time_us", "{beam}/DwellTime", scaled("s", "us")),
    FieldMap("magnification", "MAIN/Magnification", number()),
    FieldMap("pixel_size_x_nm", "MAIN/PixelSizeX", pixel_size("m", "nm")),
    FieldMap("pixel_size_y_nm", "MAIN/PixelSizeY", pixel_size("m", "nm")),
    FieldMap("stage_x_mm", "{beam}/StageX", scaled("m", "mm")),
    FieldMap("stage_y_mm", "{beam}/StageY", scaled("m", "mm")),
    FieldMap("stage_z_mm", "{beam}/StageZ", scaled("m", "mm")),
    FieldMap("stage_rotation_deg", "{beam}/StageRotation", scaled("deg", "deg")),
    FieldMap("stage_tilt_deg", "{beam}/StageTilt", scaled("deg", "deg")),
    FieldMap("acquired_at", ("MAIN/Date", "MAIN/Time"), timestamp("%Y-%m-%d %H:%M:%S")),
    FieldMap("acquired_at", "MAIN/Date", timestamp("%Y-%m-%d")),
    FieldMap("operator", "MAIN/FullUserName", text()),
    FieldMap("operator", "MAIN/UserName", text()),
)


def parse_tag(data: bytes, byteorder: str = "<") -> Sections:
    """Sections of a tag 50431 value: the typed-block layout, else INI text."""
    return _parse_blocks(data, byteorder) or parse_ini(decode_text(data))


def _parse_blocks(data: bytes, byteorder: str) -> Sections | None:
    """The typed-block layout, or ``None`` if ``data`` is not laid out that way."""
    sections: Sections = {}
    offset = 0
    while offset + 6 <= len(data):
        size, kind = struct.unpack_from(f"{byteorder}IH", data, offset)
        end = offset + 4 + size
        if size < 2 or end > len(data) or kind not in KNOWN_BLOCKS:
            return None
        name = BLOCK_SECTIONS.get(kind)
        if name is not None:
            sections[name] = parse_ini(decode_text(data[offset + 6 : end]), default_section=name).get(name, {})
        offset = end
        if kind == END_BLOCK:
            break
    return sections if any(sections.values()) else None


def _tag_bytes(source: SourceFile) -> bytes | None:
    """The raw tag 50431 bytes (read from the file, not cut at a NUL) when they carry TESCAN text."""
    if source.ifd is not None:
        value = source.ifd.raw(TESCAN_TAG)
    elif source.tiff is None:
        return None
    else:
        value = raw_tag_bytes(source.tiff.pages.first, TESCAN_TAG)
    if value is not None and any(signature in value for signature in TAG_SIGNATURES):
        return value
    return None


def _byteorder(source: SourceFile) -> str:
    if source.ifd is not None:
        return source.ifd.byteorder
    assert source.tiff is not None
    return source.tiff.byteorder


class TescanExtractor(SidecarExtractor):
    """TESCAN (MIRA, VEGA, LYRA, SOLARIS, AMBER, ...) images."""

    name: ClassVar[str] = "tescan"
    priority: ClassVar[int] = 100
    mapping = MAPPING
    vendor: ClassVar[str] = "TESCAN"
    sidecar_suffixes: ClassVar[tuple[str, ...]] = (".hdr",)

    def candidates(self, source: SourceFile) -> list[Path | None]:
        """``<stem>-<ext>.hdr`` (e.g. ``image-png.hdr``), then ``<stem>.hdr``."""
        path = source.path
        name = f"{path.stem}-{path.suffix.lstrip('.')}.hdr"
        return [path.with_name(name) if source.may_exist(name) else None, *super().candidates(source)]

    def recognises(self, head: str) -> bool:
        """INI text opening with ``[MAIN]``."""
        return head.lstrip("\ufeff \r\n\t").startswith("[MAIN]")

    def parse(self, text: str) -> Block:
        """INI sections."""
        return parse_ini(text)

    def find_block(self, source: SourceFile) -> tuple[str, Block] | None:
        """The tag's text if present, else the sidecar's."""
        data = _tag_bytes(source)
        sections = parse_tag(data, _byteorder(source)) if data is not None else {}
        if sections:
            return f"TIFF tag {TESCAN_TAG}", sections
        found = super().find_block(source)
        if found is None and data is not None:
            return (
                f"TIFF tag {TESCAN_TAG}",
                {},
            )  # present but unreadable: extract names it in a warning
        return found

    def sniff(self, source: SourceFile) -> bool:
        """Tag 50431 with TESCAN text, or a ``[MAIN]`` ``.hdr`` sidecar."""
        try:
            return _tag_bytes(source) is not None or self.sidecar_path(source) is not None
        except Exception:  # noqa: BLE001 - sniff must never raise
            return False

    def fill(self, block: Block, extraction: Extraction) -> None:
        """Mapping table (beam values from ``[SEM]``, else ``[FIB]``), then the info strip."""
        beam = "SEM" if "SEM" in block or "FIB" not in block else "FIB"
        lookup = section_lookup(block)
        apply_mapping(resolve_placeholders(MAPPING, {"{beam}": beam}), lookup, extraction)
        _strip(lookup(STRIP_KEY), extraction)


def _strip(raw: str | None, extraction: Extraction) -> None:
    if raw is None or not raw.strip():
        return
    try:
        rows = parse_number(raw)
    except ValueError as exc:
        extraction.warn("data_bar_height_px", f"{STRIP_KEY}={raw}: {exc}")
        return
    if rows != int(rows) or not 0 <= rows < extraction.height_px:
        extraction.warn("data_bar_height_px", f"{STRIP_KEY}={raw}: not a row count below {extraction.height_px}")
        return
    extraction.data_bar_height_px = int(rows)

"""Fallback for any TIFF, PNG, JPEG or BMP without a vendor block.

Pixel size comes, in this order, from OME-XML ``PhysicalSizeX/Y``, an ImageJ
description's ``unit=`` with the resolution tags, or resolution tags in
centimetres. Resolution in inches is ignored on purpose: vendor and imaging
software write screen or print dpi there (72, 96, 300), not a calibration, and
a wrong pixel size is worse than none.
"""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any, ClassVar

from fairmicro.extractors.base import (
    Extraction,
    Extractor,
    FieldMap,
    SourceFile,
    apply_mapping,
    quantity,
    reciprocal,
    text,
    timestamp,
)
from fairmicro.extractors.source import base_extraction

if TYPE_CHECKING:
    from fairmicro.extractors.ifd import FirstPage

UNCALIBRATED_UNITS = frozenset({"", "pixel", "pixels", "inch", "none"})

MAPPING: tuple[FieldMap, ...] = (
    FieldMap("vendor", "Make", text()),
    FieldMap("instrument_model", "Model", text()),
    FieldMap("pixel_size_x_nm", ("ome/PhysicalSizeX", "ome/PhysicalSizeXUnit"), quantity("nm")),
    FieldMap("pixel_size_y_nm", ("ome/PhysicalSizeY", "ome/PhysicalSizeYUnit"), quantity("nm")),
    FieldMap("pixel_size_x_nm", ("XResolution", "imagej/unit"), reciprocal("nm")),
    FieldMap("pixel_size_y_nm", ("YResolution", "imagej/unit"), reciprocal("nm")),
    FieldMap("pixel_size_x_nm", ("XResolution", "ResolutionUnit"), reciprocal("nm")),
    FieldMap("pixel_size_y_nm", ("YResolution", "ResolutionUnit"), reciprocal("nm")),
    FieldMap("acquired_at", "DateTime", timestamp("%Y:%m:%d %H:%M:%S", "%Y-%m-%d %H:%M:%S")),
)


def _tiff_values(source: SourceFile) -> dict[str, Any]:
    assert source.tiff is not None
    tiff = source.tiff
    tags = tiff.pages.first.tags
    values: dict[str, Any] = {}
    for name in ("Make", "Model", "Software", "DateTime", "Artist", "ImageDescription"):
        tag = tags.get(name)
        if tag is not None and isinstance(tag.value, str):
            values[name] = tag.value
    for name in ("XResolution", "YResolution"):
        tag = tags.get(name)
        if tag is not None and isinstance(tag.value, tuple) and len(tag.value) == 2 and tag.value[1]:
            values[name] = tag.value[0] / tag.value[1]
    unit = tags.get("ResolutionUnit")
    if unit is not None and int(unit.value) == 3:
        values["ResolutionUnit"] = "cm"
    if tiff.is_imagej and tiff.imagej_metadata:
        ij_unit = str(tiff.imagej_metadata.get("unit", "")).strip()
        if ij_unit.lower() not in UNCALIBRATED_UNITS:
            values["imagej/unit"] = ij_unit.replace("\\u00B5", "u")
        values["imagej"] = {k: v for k, v in tiff.imagej_metadata.items() if isinstance(v, (str, int, float))}
    if tiff.is_ome and tiff.ome_metadata:
        values.update(_ome_pixels(tiff.ome_metadata))
    return values


TEXT_TAGS = (
    (271, "Make"),
    (272, "Model"),
    (305, "Software"),
    (306, "DateTime"),
    (315, "Artist"),
    (270, "ImageDescription"),
)
ASCII, SHORT, RATIONAL, SRATIONAL = 2, 3, 5, 10
IMAGEJ_TAGS = (50838, 50839)  # IJMetadataByteCounts, IJMetadata
# In a description, what could make tifffile read the file as ImageJ or OME: those files go to tifffile.
TIFFFILE_DESCRIPTIONS = (b"ImageJ=", b"OME", b"<?xml")


def _ifd_values(page: FirstPage) -> dict[str, Any] | None:
    """What :func:`_tiff_values` returns, from the fast reader's IFD; ``None`` when tifffile must say.

    Text tags are decoded as tifffile decodes ASCII (trailing NULs dropped,
    UTF-8 else cp1252, stripped); an ImageJ or OME description, or a
    resolution of another type or count than tifffile's plain reading, is
    left to tifffile.
    """
    entries = page.entries
    if any(code in entries for code in IMAGEJ_TAGS):
        return None
    values: dict[str, Any] = {}
    for code, name in TEXT_TAGS:
        entry = entries.get(code)
        if entry is None or entry.dtype != ASCII:
            continue  # tifffile gives bytes or numbers: not text
        raw = page.raw(code) or b""
        if code == 270 and any(mark in raw for mark in TIFFFILE_DESCRIPTIONS):
            return None
        text = _ascii(raw)
        if isinstance(text, str):
            values[name] = text
    for code, name in ((282, "XResolution"), (283, "YResolution")):
        ratio = _rational(page, code)
        if ratio is None:
            return None
        if ratio and ratio[1]:
            values[name] = ratio[0] / ratio[1]
    unit = _resolution_unit(page)
    if unit is None:
        return None
    if unit == 3:
        values["ResolutionUnit"] = "cm"
    return values


def _ascii(raw: bytes) -> str | bytes:
    """A TIFF ASCII value as tifffile decodes it (bytes when neither UTF-8 nor cp1252 fits)."""
    value = raw.rstrip(b"\x00")
    for encoding in ("utf-8", "cp1252"):
        try:
            return value.decode(encoding).strip()
        except UnicodeDecodeError:
            continue
    return value


def _rational(page: FirstPage, code: int) -> tuple[int, int] | tuple[()] | None:
    """(numerator, denominator) of a one-value RATIONAL tag, ``()`` when absent, ``None`` for another layout."""
    entry = page.entries.get(code)
    if entry is None:
        return ()
    if entry.dtype not in (RATIONAL, SRATIONAL) or entry.value_count != 1:
        return None
    fmt = page.byteorder + ("II" if entry.dtype == RATIONAL else "ii")
    return struct.unpack(fmt, page.raw(code) or b"")


def _resolution_unit(page: FirstPage) -> int | None:
    """ResolutionUnit (0 when absent), ``None`` for a layout other than one SHORT."""
    entry = page.entries.get(296)
    if entry is None:
        return 0
    if entry.dtype != SHORT or entry.value_count != 1:
        return None
    return struct.unpack(page.byteorder + "H", page.raw(296) or b"")[0]


def _ome_pixels(xml: str) -> dict[str, Any]:
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return {}
    for element in root.iter():
        if element.tag.endswith("}Pixels") or element.tag == "Pixels":
            found = {}
            for axis in ("X", "Y"):
                size = element.get(f"PhysicalSize{axis}")
                if size is not None:
                    found[f"ome/PhysicalSize{axis}"] = size
                    found[f"ome/PhysicalSize{axis}Unit"] = element.get(f"PhysicalSize{axis}Unit", "µm")
            return found
    return {}


def _pil_values(source: SourceFile) -> dict[str, Any]:
    assert source.pil is not None
    values: dict[str, Any] = {}
    exif = source.pil.getexif()
    for code, name in ((271, "Make"), (272, "Model"), (306, "DateTime"), (305, "Software")):
        if isinstance(exif.get(code), str):
            values[name] = exif[code]
    for key, value in source.pil.info.items():
        if isinstance(value, str):
            values[f"info/{key}"] = value
    return values


class GenericExtractor(Extractor):
    """Any readable TIFF, PNG, JPEG or BMP; tried last."""

    name: ClassVar[str] = "generic"
    priority: ClassVar[int] = 0
    mapping = MAPPING

    def sniff(self, source: SourceFile) -> bool:
        """Every opened image qualifies."""
        return source.ifd is not None or source.tiff is not None or source.pil is not None

    def extract(self, source: SourceFile) -> Extraction:
        """Image facts plus whatever calibration the standard tags carry."""
        extraction = base_extraction(source)
        values = _ifd_values(source.ifd) if source.ifd is not None else None  # a plain TIFF: no tifffile
        if values is None:
            values = _tiff_values(source) if source.tiff is not None else _pil_values(source)
        extraction.vendor_metadata = values or None
        apply_mapping(MAPPING, values.get, extraction)
        return extraction

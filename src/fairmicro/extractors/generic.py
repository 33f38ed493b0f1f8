"""Fallback for any TIFF, PNG, JPEG or BMP without a vendor block.

Pixel size comes, in this order, from OME-XML ``PhysicalSizeX/Y``, an ImageJ
description's ``unit=`` with the resolution tags, or resolution tags in
centimetres. Resolution in inches is ignored on purpose: vendor and imaging
software write screen or print dpi there (72, 96, 300), not a calibration, and
a wrong pixel size is worse than none.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any, ClassVar

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
        values = _tiff_values(source) if source.tiff is not None else _pil_values(source)
        extraction.vendor_metadata = values or None
        apply_mapping(MAPPING, values.get, extraction)
        return extraction

"""Olympus Soft Imaging Solutions (SIS: analySIS, iTEM, Stream) TIFFs.

SIS writes a preview page (often a JPEG-compressed RGB rendering) and the raw
page; only the raw page carries the calibration, in the ``OlympusSIS``
structure (tag 33560, parsed by tifffile: ``pixelsizex``/``pixelsizey`` in m,
``magnification``, ``datetime``) and sometimes the ``OlympusINI`` text (tag
33471). The extractor uses the first page (of the first ``MAX_PAGES``) whose
SIS structure has a positive pixel size, falling back to the first page with
any SIS tag: ``page_index`` names that page, its pixels are the ones
catalogued and decoded, and ``page_count`` records how many pages the file has.
"""

from __future__ import annotations

from itertools import islice
from typing import Any, ClassVar

from fairmicro.extractors.base import (
    Extraction,
    Extractor,
    FieldMap,
    SourceFile,
    apply_mapping,
    number,
    text,
    timestamp,
)
from fairmicro.extractors.frame import pixel_size
from fairmicro.extractors.source import base_extraction

SIS_TAG = 33560
SIS_INI_TAG = 33471
MAX_PAGES = 8  # SIS puts the raw page right after the preview; do not walk long stacks
TIFF_TEXT_TAGS = ("Make", "Model", "Software", "DateTime", "Artist")

MAPPING: tuple[FieldMap, ...] = (
    FieldMap("instrument_model", "Model", text()),
    FieldMap("instrument_model", "sis/cameraname", text()),
    FieldMap("pixel_size_x_nm", "sis/pixelsizex", pixel_size("m", "nm")),
    FieldMap("pixel_size_y_nm", "sis/pixelsizey", pixel_size("m", "nm")),
    FieldMap("magnification", "sis/magnification", number()),
    FieldMap("acquired_at", "DateTime", timestamp("%Y:%m:%d %H:%M:%S")),
    FieldMap("acquired_at", "sis/datetime", timestamp("%Y-%m-%d %H:%M:%S")),
    FieldMap("operator", "Artist", text()),
)


def _sis(page: Any) -> dict[str, Any]:
    value = page.tags.valueof(SIS_TAG)
    return value if isinstance(value, dict) else {}


def _has_sis(page: Any) -> bool:
    tags = page.tags
    if SIS_TAG not in tags and SIS_INI_TAG not in tags:  # most TIFFs: no value to read
        return False
    ini = tags.valueof(SIS_INI_TAG)
    return bool(_sis(page)) or (isinstance(ini, dict) and bool(ini))


def _calibrated(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def calibrated_page(source: SourceFile) -> int | None:
    """Index of the page to catalogue: the first calibrated SIS page, else the first SIS page."""
    if source.ifd is not None:
        return None  # the fast path reads no file with SIS tags (nor a second page)
    if source.tiff is None:
        return None
    pages = list(islice(source.tiff.pages, MAX_PAGES))
    sis_pages = [index for index, page in enumerate(pages) if _has_sis(page)]
    for index in sis_pages:
        if _calibrated(_sis(pages[index]).get("pixelsizex")):
            return index
    return sis_pages[0] if sis_pages else None


def _values(page: Any) -> dict[str, Any]:
    values: dict[str, Any] = {f"sis/{key}": value for key, value in _sis(page).items()}
    for name in TIFF_TEXT_TAGS:
        value = page.tags.valueof(name)
        if isinstance(value, str):
            values[name] = value
    return values


class OlympusExtractor(Extractor):
    """Olympus SIS TIFFs (TEM and light-microscope cameras)."""

    name: ClassVar[str] = "olympus"
    priority: ClassVar[int] = 100
    mapping = MAPPING

    def sniff(self, source: SourceFile) -> bool:
        """A TIFF with an OlympusSIS or OlympusINI tag on one of its first pages."""
        try:
            return calibrated_page(source) is not None
        except Exception:  # noqa: BLE001 - sniff must never raise
            return False

    def extract(self, source: SourceFile) -> Extraction:
        """Map the calibrated page's SIS structure and TIFF tags."""
        assert source.tiff is not None
        index = calibrated_page(source) or 0
        page = source.tiff.pages[index].aspage()  # a TiffPage (a TiffFrame only with pages.useframes)
        extraction = base_extraction(source, index)
        extraction.vendor = "Olympus"
        values = _values(page)
        ini = page.tags.valueof(SIS_INI_TAG)
        extraction.vendor_metadata = {
            "_source": f"page {index}",
            **values,
            **({"ini": ini} if ini else {}),
        }
        apply_mapping(MAPPING, values.get, extraction)
        return extraction

"""FEI / Thermo Fisher xT TIFFs: the INI block in tag 34682 (FEI_HELIOS) or 34680 (FEI_SFEG).

All numbers in the block are SI (V, A, m, s, rad). The active beam and scan
sections are named by ``[Beam] Beam=`` and ``Scan=`` (``EBeam``/``EScan`` for
electrons, ``IBeam``/``IScan`` for ions, ``IRBeam``/``CCDBeam`` with an empty
``Scan=`` for the chamber and navigation cameras). A file without ``Beam=``
(older xT) is read as ``EBeam``/``EScan``; an explicitly empty ``Scan=`` means
no scan section applies, so the generic ``[Scan]`` section (which then still
holds the last electron scan) is not read either.

Pixel size of the saved image, in order of trust: the scan's ``PixelWidth``/
``PixelHeight`` (only when the saved width equals ``[Image] ResolutionX``),
then the active beam's field width ``HFW``/``VFW`` (or ``[Scan]
HorFieldsize``/``VerFieldsize``) over the saved width / the rows above the
data bar. The first one present wins, the others are cross-checked (a warning
when more than 1 % apart). Without any height source, y takes x (square
pixels). Rows below ``ResolutionY`` are the data bar. xT does not store a
magnification, so that slot stays empty.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache, partial
from typing import Any, ClassVar

from fairmicro.extractors.base import (
    Extraction,
    Extractor,
    FieldMap,
    SourceFile,
    apply_mapping,
    resolve_placeholders,
    scaled,
    text,
    timestamp,
)
from fairmicro.extractors.frame import (
    PIXEL_SLOTS,
    choose_pixel_size,
    field_per_pixel_row,
    image_rows,
    pixel_size,
    square_from,
)
from fairmicro.extractors.source import base_extraction
from fairmicro.extractors.tagblock import source_block
from fairmicro.extractors.units import parse_number
from fairmicro.extractors.vendortext import restore_damaged_keys

FEI_TAGS = (34682, 34680)  # FEI_HELIOS is read before FEI_SFEG

# "{beam}", "{scan}" and "{detector}" are resolved from the block itself.
MAPPING: tuple[FieldMap, ...] = (
    FieldMap("instrument_model", "System/SystemType", text()),
    FieldMap("instrument_serial", "System/Dnumber", text()),
    FieldMap("detector", "Detectors/Name", text()),
    FieldMap("detector_mode", "Detectors/Mode", text()),
    FieldMap("detector_mode", "{detector}/Signal", text()),
    FieldMap("accelerating_voltage_kv", "{beam}/HV", scaled("V", "kV")),
    FieldMap("accelerating_voltage_kv", "Beam/HV", scaled("V", "kV")),
    FieldMap("beam_current_na", "{beam}/BeamCurrent", scaled("A", "nA")),
    FieldMap("working_distance_mm", "{beam}/WD", scaled("m", "mm")),
    FieldMap("working_distance_mm", "Stage/WorkingDistance", scaled("m", "mm")),
    FieldMap("dwell_time_us", "Scan/Dwelltime", scaled("s", "us")),
    FieldMap("dwell_time_us", "{scan}/Dwell", scaled("s", "us")),
    FieldMap("horizontal_field_width_um", "{beam}/HFW", scaled("m", "um")),
    FieldMap("horizontal_field_width_um", "Scan/HorFieldsize", scaled("m", "um")),
    FieldMap("stage_x_mm", "Stage/StageX", scaled("m", "mm")),
    FieldMap("stage_y_mm", "Stage/StageY", scaled("m", "mm")),
    FieldMap("stage_z_mm", "Stage/StageZ", scaled("m", "mm")),
    FieldMap("stage_rotation_deg", "Stage/StageR", scaled("rad", "deg")),
    FieldMap("stage_tilt_deg", "Stage/StageT", scaled("rad", "deg")),
    FieldMap("brightness_percent", "{detector}/Brightness", scaled("%", "%")),
    FieldMap("contrast_percent", "{detector}/Contrast", scaled("%", "%")),
    FieldMap(
        "acquired_at",
        ("User/Date", "User/Time"),
        timestamp("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M:%S", "%d.%m.%Y %H:%M:%S"),
    ),
    FieldMap("operator", "User/User", text()),
)


# Used when the saved image has the stored width (checked against the field width over the saved pixels).
SCAN_PIXEL_ROWS: dict[str, tuple[str, ...]] = {
    "pixel_size_x_nm": ("{scan}/PixelWidth", "Scan/PixelWidth"),
    "pixel_size_y_nm": ("{scan}/PixelHeight", "Scan/PixelHeight"),
}
FIELD_ROWS: dict[str, tuple[str, ...]] = {
    "pixel_size_x_nm": ("{beam}/HFW", "Scan/HorFieldsize"),
    "pixel_size_y_nm": ("{beam}/VFW", "Scan/VerFieldsize"),
}


def _section_names(block: dict[str, Any]) -> dict[str, str]:
    """The file's own names for ``{beam}``, ``{scan}`` and ``{detector}`` ("" = none applies)."""
    scan = _get(block, "Beam/Scan")
    return {
        "{beam}": str(_get(block, "Beam/Beam") or "EBeam").strip(),
        "{scan}": "EScan" if scan is None else str(scan).strip(),
        "{detector}": str(_get(block, "Detectors/Name") or "").strip(),
    }


def _resolve(mapping: Sequence[FieldMap], names: dict[str, str]) -> tuple[FieldMap, ...]:
    """``mapping`` with placeholders resolved, without rows that read a section that does not apply.

    A placeholder the file leaves empty drops its rows; an empty ``Scan=`` also
    drops the generic ``[Scan]`` rows (they then describe another beam's scan).
    """
    gone = [name for name, value in names.items() if not value]
    if "{scan}" in gone:
        gone.append("Scan/")

    def applies(row: FieldMap) -> bool:
        keys = row.key if isinstance(row.key, tuple) else (row.key,)
        return not any(key.startswith(name) or name in key for key in keys for name in gone)

    return resolve_placeholders(tuple(filter(applies, mapping)), names)


@lru_cache(maxsize=64)
def _mapping_for(names: tuple[tuple[str, str], ...]) -> tuple[FieldMap, ...]:
    """:data:`MAPPING` resolved for the file's section names (files of one instrument share them)."""
    return _resolve(MAPPING, dict(names))


@lru_cache(maxsize=256)
def _pixel_rows(slot: str, names: tuple[tuple[str, str], ...], scan: bool, pixels: int) -> tuple[FieldMap, ...]:
    """Rows for one pixel-size slot: the scan's pixel size (when ``scan``), then field / ``pixels``."""
    rows = [FieldMap(slot, key, pixel_size("m", "nm")) for key in SCAN_PIXEL_ROWS[slot]] if scan else []
    rows += [field_per_pixel_row(slot, key, pixels, from_unit="m") for key in FIELD_ROWS[slot]]
    return _resolve(rows, dict(names))


def _get(block: dict[str, Any], key: str) -> Any:
    section, _, name = key.partition("/")
    values = block.get(section)
    return values.get(name) if isinstance(values, dict) else None


def _block(source: SourceFile) -> tuple[dict[str, Any], str | None]:
    """The first FEI tag that holds a block."""
    for code in FEI_TAGS:
        block, problem = source_block(source, code)
        if block:
            return block, problem
    return {}, None


class FeiExtractor(Extractor):
    """FEI / Thermo Fisher SEM, DualBeam and PFIB (xT software)."""

    name: ClassVar[str] = "fei"
    priority: ClassVar[int] = 100
    mapping = MAPPING

    def sniff(self, source: SourceFile) -> bool:
        """A TIFF whose first page carries a non-empty FEI block."""
        try:
            if source.ifd is not None:
                tags: Any = source.ifd.entries
            elif source.tiff is None:
                return False
            else:
                tags = source.tiff.pages.first.tags
            return any(code in tags for code in FEI_TAGS) and bool(_block(source)[0])
        except Exception:  # noqa: BLE001 - sniff must never raise
            return False

    def extract(self, source: SourceFile) -> Extraction:
        """Map the FEI block."""
        extraction = base_extraction(source)
        block, problem = _block(source)
        if problem:
            extraction.warn("vendor_metadata", problem)
        extraction.vendor = "FEI"
        extraction.vendor_metadata = block
        block = restore_damaged_keys(block)
        lookup, names = partial(_get, block), _section_names(block)
        apply_mapping(_mapping_for(tuple(names.items())), lookup, extraction)
        _data_bar(block, extraction)
        _pixel_size(block, lookup, names, extraction)
        return extraction


def _data_bar(block: dict[str, Any], extraction: Extraction) -> None:
    try:
        rows = int(parse_number(_get(block, "Image/ResolutionY")))
    except (TypeError, ValueError):
        return
    if 0 < rows <= extraction.height_px:
        extraction.data_bar_height_px = extraction.height_px - rows


def _pixel_size(
    block: dict[str, Any], lookup: Callable[[str], Any], names: dict[str, str], extraction: Extraction
) -> None:
    """Scan pixel size (saved at the scan width) or field width over saved pixels, cross-checked."""
    try:
        stored_width = int(parse_number(_get(block, "Image/ResolutionX")))
    except (TypeError, ValueError):
        stored_width = None
    pixels = {"pixel_size_x_nm": extraction.width_px, "pixel_size_y_nm": image_rows(extraction)}
    scan, items = stored_width == extraction.width_px, tuple(names.items())
    for slot in PIXEL_SLOTS:
        choose_pixel_size(extraction, slot, _pixel_rows(slot, items, scan, pixels[slot]), lookup)
    square_from(extraction, "pixel_size_y_nm", "pixel_size_x_nm")

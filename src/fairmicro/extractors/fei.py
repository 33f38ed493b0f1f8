"""FEI / Thermo Fisher xT TIFFs: the INI block in tag 34682 (FEI_HELIOS) or 34680 (FEI_SFEG).

All numbers in the block are SI (V, A, m, s, rad). The active beam and scan
sections are named by ``[Beam] Beam=`` and ``Scan=`` (``EBeam``/``EScan`` for
electrons, ``IBeam``/``IScan`` for ions). The pixel size of the saved image is
``PixelWidth`` when the saved width equals ``[Image] ResolutionX``, otherwise
the field width divided by the saved width. Rows below ``ResolutionY`` are the
data bar. xT does not store a magnification, so that slot stays empty.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, ClassVar

from fairmicro.extractors.base import (
    Converter,
    Extraction,
    Extractor,
    FieldMap,
    SourceFile,
    apply_mapping,
    scaled,
    text,
    timestamp,
)
from fairmicro.extractors.source import base_extraction
from fairmicro.extractors.units import convert, parse_number

FEI_TAGS = (34680, 34682)

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


# Used when the saved image has the stored width (otherwise derived from the field width).
PIXEL_MAPPING: tuple[FieldMap, ...] = (
    FieldMap("pixel_size_x_nm", "{scan}/PixelWidth", scaled("m", "nm")),
    FieldMap("pixel_size_x_nm", "Scan/PixelWidth", scaled("m", "nm")),
    FieldMap("pixel_size_y_nm", "{scan}/PixelHeight", scaled("m", "nm")),
    FieldMap("pixel_size_y_nm", "Scan/PixelHeight", scaled("m", "nm")),
)


def _resolver(block: dict[str, Any]) -> Callable[[str], str]:
    """Replace ``{beam}``, ``{scan}`` and ``{detector}`` with the file's own section names."""
    names = {
        "{beam}": str(_get(block, "Beam/Beam") or "EBeam"),
        "{scan}": str(_get(block, "Beam/Scan") or "EScan"),
        "{detector}": str(_get(block, "Detectors/Name") or ""),
    }

    def resolve(key: str) -> str:
        for placeholder, name in names.items():
            key = key.replace(placeholder, name)
        return key

    return resolve


def _get(block: dict[str, Any], key: str) -> Any:
    section, _, name = key.partition("/")
    values = block.get(section)
    return values.get(name) if isinstance(values, dict) else None


def _block(source: SourceFile) -> dict[str, Any]:
    assert source.tiff is not None
    return source.tiff.fei_metadata or {}


class FeiExtractor(Extractor):
    """FEI / Thermo Fisher SEM, DualBeam and PFIB (xT software)."""

    name: ClassVar[str] = "fei"
    priority: ClassVar[int] = 100
    mapping = MAPPING

    def sniff(self, source: SourceFile) -> bool:
        """A TIFF whose first page carries a non-empty FEI block."""
        try:
            if source.tiff is None:
                return False
            tags = source.tiff.pages.first.tags
            return any(code in tags for code in FEI_TAGS) and bool(_block(source))
        except Exception:  # sniff must never raise
            return False

    def extract(self, source: SourceFile) -> Extraction:
        """Map the FEI block."""
        extraction = base_extraction(source)
        block = _block(source)
        extraction.vendor = "FEI"
        extraction.vendor_metadata = block
        lookup, resolve = partial(_get, block), _resolver(block)
        apply_mapping(MAPPING, lookup, extraction, resolve)
        _data_bar(block, extraction)
        _pixel_size(block, lookup, resolve, extraction)
        return extraction


def _data_bar(block: dict[str, Any], extraction: Extraction) -> None:
    try:
        rows = int(parse_number(_get(block, "Image/ResolutionY")))
    except (TypeError, ValueError):
        return
    if 0 < rows <= extraction.height_px:
        extraction.data_bar_height_px = extraction.height_px - rows


def _pixel_size(
    block: dict[str, Any], lookup: Callable[[str], Any], resolve: Callable[[str], str], extraction: Extraction
) -> None:
    try:
        stored_width = int(parse_number(_get(block, "Image/ResolutionX")))
    except (TypeError, ValueError):
        stored_width = None
    if stored_width == extraction.width_px:
        apply_mapping(PIXEL_MAPPING, lookup, extraction, resolve)
        return
    rows = extraction.height_px - (extraction.data_bar_height_px or 0)
    for slot, key, pixels in (
        ("pixel_size_x_nm", "{beam}/HFW", extraction.width_px),
        ("pixel_size_y_nm", "{beam}/VFW", rows),
    ):
        converter = Converter(f"m -> nm, / {pixels} px of the saved image", _per_pixel(pixels))
        apply_mapping((FieldMap(slot, key, converter),), lookup, extraction, resolve)


def _per_pixel(pixels: int) -> Any:
    def per_pixel(raw: Any) -> float:
        return convert(parse_number(raw), "m", "nm") / pixels

    return per_pixel

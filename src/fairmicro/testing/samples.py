"""Generated sample files: small TIFFs carrying each vendor's real tag layout.

Used by the tests, the benchmarks and the README's demo. Vendor blocks are
written as the instruments write them (Zeiss ``CZ_SEM`` lines in tag 34118,
FEI/Thermo INI text in tag 34682) so the extractors read them through
tifffile's own parsers, exactly as they read real files.

Run ``python -m fairmicro.testing.samples DIR`` to write a demo collection.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

V = TypeVar("V")
Sections = dict[str, dict[str, str]]
SectionOverrides = Mapping[str, Mapping[str, str | None]]

ZEISS_TAG = 34118
FEI_TAG = 34682

ZEISS_DEFAULTS: dict[str, tuple[str, str]] = {
    # key: (label, value as written)
    "dp_column_type": ("Column", "Sigma"),
    "sv_serial_number": ("Serial No.", "Sigma-30-17"),
    "dp_detector_type": ("Detector", "InLens"),
    "ap_actualkv": ("EHT", "15.00 kV"),
    "ap_iprobe": ("I Probe", "250.0 pA"),
    "ap_wd": ("WD", "8.500 mm"),
    "dp_dwell_time": ("Dwell Time", "100 ns"),
    "ap_mag": ("Mag", "2.00 K X"),
    "ap_width": ("Width", "56.00 µm"),
    "ap_height": ("Height", "42.00 µm"),
    "ap_stage_at_x": ("Stage at X", "60.123 mm"),
    "ap_stage_at_y": ("Stage at Y", "55.456 mm"),
    "ap_stage_at_z": ("Stage at Z", "30.000 mm"),
    "ap_stage_at_t": ("Stage at T", "0.0 °"),
    "ap_stage_at_r": ("Stage at R", "12.5 °"),
    "ap_brightness": ("Brightness", "49.8 %"),
    "ap_contrast": ("Contrast", "31.2 %"),
    "ap_date": ("Date", "14 Mar 2025"),
    "ap_time": ("Time", "10:21:07"),
    "sv_user_name": ("User Name", "lab"),
}

FEI_DEFAULTS: dict[str, dict[str, str]] = {
    "User": {"Date": "03/14/2025", "Time": "02:05:09 PM", "User": "tech"},
    "System": {"Type": "SEM", "Dnumber": "9912345", "SystemType": "Quanta 650 FEG"},
    "Beam": {"HV": "20000", "Beam": "EBeam", "Scan": "EScan"},
    "EBeam": {"HV": "20000", "HFW": "0.0001024", "VFW": "0.0000768", "WD": "0.0101", "BeamCurrent": "1.3e-10"},
    "Scan": {"Dwelltime": "3e-06", "PixelWidth": "1e-07", "PixelHeight": "1e-07", "HorFieldsize": "0.0001024"},
    "EScan": {"Dwell": "3e-06", "PixelWidth": "1e-07", "PixelHeight": "1e-07"},
    "Stage": {"StageX": "0.0012", "StageY": "-0.0034", "StageZ": "0.0101", "StageR": "0.5", "StageT": "0"},
    "Image": {"ResolutionX": "1024", "ResolutionY": "768"},
    "Detectors": {"Number": "1", "Name": "ETD", "Mode": "SE"},
    "ETD": {"Contrast": "55.5", "Brightness": "44.4", "Signal": "SE"},
}


def texture(shape: tuple[int, int], kind: int = 0, seed: int = 0, dtype: str = "uint8") -> np.ndarray:
    """A learnable synthetic micrograph: stripes whose period depends on ``kind``, plus noise."""
    rng = np.random.default_rng(seed)
    rows, cols = np.indices(shape)
    period = 4 + 6 * kind
    angle = 0.35 * kind
    wave = np.sin(2 * np.pi * (cols * np.cos(angle) + rows * np.sin(angle)) / period)
    image = 0.5 + 0.3 * wave + 0.15 * rng.standard_normal(shape)
    peak = np.iinfo(np.dtype(dtype)).max
    return (np.clip(image, 0, 1) * peak).astype(dtype)


def merged(defaults: Mapping[str, V], overrides: Mapping[str, V | None] | None) -> dict[str, V]:
    """``defaults`` with ``overrides`` applied (``None`` drops a key)."""
    values = dict(defaults)
    for key, value in (overrides or {}).items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    return values


def merge_sections(defaults: Mapping[str, Mapping[str, str]], overrides: SectionOverrides | None) -> Sections:
    """``merged`` applied section by section; new sections in ``overrides`` are appended."""
    overrides = overrides or {}
    names = [*defaults, *(name for name in overrides if name not in defaults)]
    return {name: merged(defaults.get(name, {}), overrides.get(name)) for name in names}


def ini_text(sections: Mapping[str, Mapping[str, str]], newline: str = "\r\n") -> str:
    """INI text with ``[Section]`` headers and ``key=value`` lines."""
    lines: list[str] = []
    for name, values in sections.items():
        lines += [f"[{name}]", *(f"{key}={value}" for key, value in values.items()), ""]
    return newline.join(lines)


def zeiss_block(
    overrides: Mapping[str, tuple[str, str] | None] | None = None, unnamed: Sequence[str] = ("0", "0", "0")
) -> str:
    """CZ_SEM text; ``None`` in ``overrides`` drops a key.

    ``unnamed`` are the block's leading unnamed lines (SmartSEM writes the
    unrounded pixel size of its reference frame, in m, as the fourth).
    """
    lines = list(unnamed)
    for key, (label, value) in merged(ZEISS_DEFAULTS, overrides).items():
        lines += [key.upper(), f"{label} = {value}"]
    return "\r\n".join(lines) + "\r\n"


def fei_block(overrides: SectionOverrides | None = None) -> str:
    """FEI INI text; ``None`` values drop a key."""
    return ini_text(merge_sections(FEI_DEFAULTS, overrides))


def _write_tiff(path: Path, data: np.ndarray, extratags: list[tuple], **kwargs: Any) -> Path:
    import tifffile

    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, data, extratags=extratags, photometric="minisblack", **kwargs)
    return path


def write_zeiss_tiff(
    path: Path,
    data: np.ndarray | None = None,
    overrides: Mapping[str, tuple[str, str] | None] | None = None,
    store: str | None = "1024 * 768",
    unnamed: Sequence[str] = ("0", "0", "0"),
) -> Path:
    """A Zeiss SmartSEM TIFF (tag 34118)."""
    data = texture((96, 128)) if data is None else data
    extra = dict(overrides or {})
    if store is not None:
        extra.setdefault("dp_image_store", ("Store resolution", store))
    block = zeiss_block(extra, unnamed).encode("latin-1")  # SmartSEM writes µ and ° as Latin-1 bytes
    return _write_tiff(path, data, [(ZEISS_TAG, "B", len(block), block, True)])


def write_fei_tiff(
    path: Path, data: np.ndarray | None = None, overrides: Mapping[str, Mapping[str, str | None]] | None = None
) -> Path:
    """An FEI/Thermo Fisher xT TIFF (tag 34682)."""
    data = texture((96, 128)) if data is None else data
    pixel_m = f"{float(FEI_DEFAULTS['EBeam']['HFW']) / data.shape[1]:.6g}"
    sections: dict[str, dict[str, str | None]] = {
        "Image": {"ResolutionX": str(data.shape[1]), "ResolutionY": str(data.shape[0])},
        "Scan": {"PixelWidth": pixel_m, "PixelHeight": pixel_m},
        "EScan": {"PixelWidth": pixel_m, "PixelHeight": pixel_m},
    }
    for section, values in (overrides or {}).items():
        sections.setdefault(section, {}).update(values)
    return _write_tiff(path, data, [(FEI_TAG, "s", 0, fei_block(sections), True)])


def write_imagej_tiff(path: Path, pixel_size_um: float, data: np.ndarray | None = None) -> Path:
    """An ImageJ-style TIFF calibrated in microns."""
    import tifffile

    data = texture((64, 64), dtype="uint16") if data is None else data
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(
        path, data, imagej=True, resolution=(1 / pixel_size_um, 1 / pixel_size_um), metadata={"unit": "um"}
    )
    return path


def write_png(path: Path, data: np.ndarray | None = None) -> Path:
    """A plain PNG (8 or 16 bit grey)."""
    from PIL import Image

    data = texture((64, 64)) if data is None else data
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(data).save(path)
    return path


# class -> (cooling method, soak temperature in C): the heat treatment that produces it,
# so the specimen metadata carries the label as it does in real collections.
DEMO_CLASSES: dict[str, tuple[str, float]] = {
    "ferrite_pearlite": ("air cool", 800.0),
    "martensite": ("water quench", 970.0),
    "spheroidite": ("furnace cool", 1100.0),
}
SPECIMEN_COLUMNS = (
    "specimen_id",
    "material",
    "alloy",
    "heat_treatment_temperature_c",
    "heat_treatment_duration_h",
    "cooling_method",
    "etchant",
    "etching_time_s",
    "furnace",
)


def write_demo_collection(
    folder: Path,
    images_per_specimen: int = 3,
    shape: tuple[int, int] = (192, 256),
    specimens_per_class: int = 2,
    image_signal: bool = True,
) -> Path:
    """A small lab collection: class folders of Zeiss and FEI TIFFs plus ``specimens.csv``.

    Specimens ``HC01``, ``HC02``, ... take the classes in turn; images alternate
    between the Zeiss and FEI layouts. With ``image_signal=False`` every class
    gets the same texture, so only the specimen metadata carries the label.
    Returns the path of the specimen table.
    """
    folder.mkdir(parents=True, exist_ok=True)
    classes = list(DEMO_CLASSES)
    rows = []
    for index in range(specimens_per_class * len(classes)):
        specimen, kind = f"HC{index + 1:02d}", index % len(classes)
        cooling, temperature = DEMO_CLASSES[classes[kind]]
        rows.append(
            [specimen, "UHCS", "AISI 52100", temperature, 1.5 + index, cooling, "2% Nital", 10, f"F{index % 2 + 1}"]
        )
        for number in range(images_per_specimen):
            data = texture(shape, kind=kind if image_signal else 0, seed=index * 100 + number)
            path = folder / classes[kind] / f"{specimen}_{number:04d}.tif"
            if (index + number) % 2:
                write_fei_tiff(path, data)
            else:
                write_zeiss_tiff(path, data, store=f"{shape[1]} * {shape[0]}")
    table = folder / "specimens.csv"
    with table.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(SPECIMEN_COLUMNS)
        writer.writerows(rows)
    return table


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "demo-data")
    # three specimens per class: enough for grouped train/validation/test splits
    print(write_demo_collection(target, specimens_per_class=3))  # the script's output

"""Generated sample files for TESCAN, JEOL, Hitachi and Olympus SIS, in the vendors' real layouts.

- TESCAN: typed blocks in TIFF tag 50431 (``layout="blocks"``, as MIRA/VEGA
  write it), INI text in the tag (``layout="ini"``), or an image plus an INI
  ``.hdr`` sidecar (``<stem>-<ext>.hdr`` or ``<stem>.hdr``).
- JEOL: an image with a data bar below the stored frame plus a ``.txt`` of
  ``$CM_``/``$$SM_`` lines.
- Hitachi: an image plus a ``[SemImageFile]`` ``.txt`` in UTF-16LE with BOM
  (or ASCII) whose ``ImageName=`` names another file, as after a rename.
- Olympus SIS: a JPEG RGB preview page, then the raw uint16 page carrying the
  ``SIS0`` structure (tag 33560 holds its file offset, as SIS writes it).

Overrides use ``None`` to drop a key.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Literal

import numpy as np

from fairmicro.testing.samples import (
    SectionOverrides,
    Sections,
    ini_text,
    merge_sections,
    merged,
    texture,
)

ByteOrder = Literal["<", ">"]  # tifffile's spelling: little- or big-endian
TESCAN_TAG = 50431
SIS_TAG = 33560
TESCAN_BLOCK_TYPES = {"MAIN": 2, "SEM": 3, "GAMA": 4, "FIB": 5}


TESCAN_DEFAULTS: Sections = {
    "MAIN": {
        "AccFrames": "1",
        "Company": "TESCAN",
        "Date": "2024-02-07",
        "Time": "14:03:22",
        "Device": "TESCAN MIRA",
        "DeviceModel": "S8152",
        "SerialNumber": "117-0123",
        "FullUserName": "Ada Lovelace",
        "UserName": "ada",
        "Magnification": "25000",
        "PixelSizeX": "8.5e-09",
        "PixelSizeY": "8.5e-09",
        "ImageStripSize": "0",
    },
    "SEM": {
        "HV": "15000",
        "AcceleratorVoltage": "15000",
        "WD": "0.0062",
        "BeamCurrent": "3e-10",
        "DwellTime": "3.2e-06",
        "Detector": "SE",
        "StageX": "0.0123",
        "StageY": "-0.0045",
        "StageZ": "0.0301",
        "StageRotation": "45.0",
        "StageTilt": "0.0",
        "ChamberPressure": "5e-05",
    },
}

JEOL_DEFAULTS: dict[str, str] = {
    "$SEM_DATA_VERSION": "1",
    "$CM_SIGNAL_NAME": "SEI",
    "$CM_ACCEL_VOLT": "15.00",
    "$$SM_WD": "10.00",
    "$CM_MAG": "5000",
    "$CM_SIGNAL": "SEI",
    "$CM_STAGE_POS": "30.6525 -2.6135 10.5465 0 0 0",
    "$$SM_PROBE_CURRENT": "1.00e-010",
    "$CM_FORMAT": "JEOL-SEM",
    "$CM_VERSION": "3",
    "$CM_DATE": "2021/03/04",
    "$CM_TIME": "09:15:00",
    "$CM_OPERATOR": "lab",
    "$CM_INSTRUMENT": "JSM-7800F",
    "$$SM_MICRON_BAR": "50",
    "$$SM_MICRON_MARKER": "10um",
}

HITACHI_DEFAULTS: Sections = {
    "SemImageFile": {
        "InstructName": "SU8230",
        "SerialNumber": "HD-0815-01",
        "DataNumber": "1",
        "SampleName": "S1",
        "Format": "tif",
        "ImageName": "renamed_on_the_instrument.tif",
        "Directory": "C:\\SEM\\",
        "Date": "2016/04/15",
        "Time": "11:28:38",
        "DataSize": "128x96",
        "PixelSize": "99.21875",
        "SignalName": "SE(U)",
        "AcceleratingVoltage": "15000 Volt",
        "DecelerationVoltage": "0 Volt",
        "Magnification": "1000",
        "WorkingDistance": "7706.35 um",
        "EmissionCurrent": "10000 nA",
        "LensMode": "High",
        "ScanSpeed": "Slow3",
        "Condition": "Vacc=15.0kV Mag=x1.00k WD=7.7mm",
    }
}


def tescan_tag_bytes(sections: Mapping[str, Mapping[str, str]], byteorder: str = "<") -> bytes:
    """Tag 50431 typed blocks: (uint32 size incl. type, uint16 type, text) ..., end block."""
    out = b""
    for name, values in sections.items():
        payload = "".join(f"{key}={value}\r\n" for key, value in values.items()).encode("latin-1")
        out += struct.pack(f"{byteorder}IH", len(payload) + 2, TESCAN_BLOCK_TYPES[name]) + payload
    return out + struct.pack(f"{byteorder}IH", 2, 0)


def write_image(path: Path, data: np.ndarray) -> Path:
    """A plain image, format by suffix (TIFF via tifffile, PNG/BMP/JPEG via Pillow)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".tif", ".tiff"):
        import tifffile

        tifffile.imwrite(path, data, photometric="minisblack")
    else:
        from PIL import Image

        Image.fromarray(data).save(path)
    return path


def with_data_bar(data: np.ndarray, rows: int) -> np.ndarray:
    """``data`` with a flat data bar of ``rows`` rows appended below."""
    if rows <= 0:
        return data
    bar = np.full((rows, data.shape[1]), np.iinfo(data.dtype).max // 3, dtype=data.dtype)
    return np.vstack([data, bar])


def write_raw_tag_tiff(
    path: Path, code: int, raw: bytes, data: np.ndarray | None = None, byteorder: ByteOrder = "<"
) -> Path:
    """A TIFF carrying ``raw`` bytes in tag ``code`` (for damaged or mutated vendor blocks)."""
    import tifffile

    path.parent.mkdir(parents=True, exist_ok=True)
    data = texture((96, 128)) if data is None else data
    extratags = [(code, "B", len(raw), raw, True)]
    tifffile.imwrite(path, data, photometric="minisblack", byteorder=byteorder, extratags=extratags)
    return path


def write_tescan_tiff(
    path: Path,
    data: np.ndarray | None = None,
    overrides: SectionOverrides | None = None,
    layout: str = "blocks",
    strip_rows: int = 0,
    byteorder: ByteOrder = "<",
) -> Path:
    """A TESCAN TIFF with its text in tag 50431 (``layout`` "blocks" or "ini")."""
    data = with_data_bar(texture((96, 128)) if data is None else data, strip_rows)
    sections = merge_sections(merge_sections(TESCAN_DEFAULTS, {"MAIN": {"ImageStripSize": str(strip_rows)}}), overrides)
    raw = tescan_tag_bytes(sections, byteorder) if layout == "blocks" else ini_text(sections).encode("latin-1")
    return write_raw_tag_tiff(path, TESCAN_TAG, raw, data, byteorder)


def write_tescan_pair(
    path: Path,
    data: np.ndarray | None = None,
    overrides: SectionOverrides | None = None,
    hdr_name: str = "{stem}-{ext}.hdr",
    hdr_text: str | None = None,
) -> Path:
    """An image without vendor tags plus its TESCAN ``.hdr`` sidecar; returns the image path."""
    write_image(path, texture((96, 128)) if data is None else data)
    text = ini_text(merge_sections(TESCAN_DEFAULTS, overrides)) if hdr_text is None else hdr_text
    sidecar = path.with_name(hdr_name.format(stem=path.stem, ext=path.suffix.lstrip(".")))
    sidecar.write_text(text, encoding="latin-1")
    return path


def jeol_text(overrides: Mapping[str, str | None] | None = None, newline: str = "\n") -> str:
    """JEOL sidecar text, one ``$KEY value`` a line."""
    values = merged(JEOL_DEFAULTS, overrides)
    return newline.join(f"{key} {value}" for key, value in values.items()) + newline


def write_jeol_pair(
    path: Path,
    data: np.ndarray | None = None,
    overrides: Mapping[str, str | None] | None = None,
    bar_rows: int = 16,
) -> Path:
    """A JEOL image (data bar of ``bar_rows`` below the stored frame) plus ``<stem>.txt``."""
    data = texture((96, 128)) if data is None else data
    write_image(path, with_data_bar(data, bar_rows))
    values: dict[str, str | None] = {
        "$CM_FULL_SIZE": f"{data.shape[1]} {data.shape[0]}",
        "$CM_TITLE": path.stem,
    }
    values.update(overrides or {})
    path.with_suffix(".txt").write_text(jeol_text(values), encoding="latin-1")  # Windows code page, µ = 0xB5
    return path


def write_hitachi_pair(
    path: Path,
    data: np.ndarray | None = None,
    overrides: SectionOverrides | None = None,
    encoding: str = "utf-16",
    bar_rows: int = 0,
) -> Path:
    """A Hitachi image plus ``<stem>.txt`` ("utf-16": UTF-16LE with BOM, or "ascii")."""
    data = texture((96, 128)) if data is None else data
    write_image(path, with_data_bar(data, bar_rows))
    size = {"SemImageFile": {"DataSize": f"{data.shape[1]}x{data.shape[0]}"}}
    text = ini_text(merge_sections(merge_sections(HITACHI_DEFAULTS, size), overrides))
    raw = b"\xff\xfe" + text.encode("utf-16-le") if encoding == "utf-16" else text.encode(encoding, errors="replace")
    path.with_suffix(".txt").write_bytes(raw)
    return path


def sis_structure(offset: int, pixel_size_m: float, magnification: float, when: datetime) -> bytes:
    """The ``SIS0`` header, one entry and its general-data record, placed at file ``offset``."""
    header = struct.pack(
        "<4s6xhhhhh6x32sH",
        b"SIS0",
        when.minute,
        when.hour,
        when.day,
        when.month - 1,
        when.year - 1900,
        b"",
        1,
    )
    record_offset = offset + len(header) + 8
    entry = struct.pack("<hhI", 1, 1, record_offset)
    scale = pixel_size_m * 1e6  # SIS stores the calibration as value x 10^lenexp, here in um
    record = struct.pack("<10xhdd8xd2x34s32s", -6, scale, scale, magnification, b"", b"")
    return header + entry + record


def write_olympus_sis_tiff(
    path: Path,
    data: np.ndarray | None = None,
    pixel_size_m: float = 2.5e-9,
    magnification: float = 60000.0,
    when: datetime = datetime(2018, 11, 15, 19, 42, 31),
) -> Path:
    """A two-page SIS TIFF: JPEG RGB preview, then the calibrated raw uint16 page."""
    import tifffile

    data = texture((96, 128), dtype="uint16") if data is None else data
    preview = np.repeat((data >> 8).astype("uint8")[..., None], 3, axis=2)
    placeholder = 0x53495330  # patched to the structure's offset below
    tags = [
        (271, "s", 0, "Olympus Soft Imaging Solutions", True),
        (272, "s", 0, "Quemesa", True),
        (315, "s", 0, "THU", True),
    ]
    stamp = when.strftime("%Y:%m:%d %H:%M:%S")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tifffile.TiffWriter(path, byteorder="<") as writer:
        writer.write(preview, photometric="rgb", compression="jpeg", datetime=stamp, extratags=tags)
        writer.write(
            data,
            photometric="minisblack",
            datetime=stamp,
            extratags=[*tags, (SIS_TAG, "I", 1, placeholder, True)],
        )
    raw = bytearray(path.read_bytes())
    entry = struct.pack("<HHII", SIS_TAG, 4, 1, placeholder)
    at = raw.index(entry)
    offset = len(raw) + len(raw) % 2
    raw[at + 8 : at + 12] = struct.pack("<I", offset)
    raw += b"\x00" * (offset - len(raw)) + sis_structure(offset, pixel_size_m, magnification, when)
    path.write_bytes(bytes(raw))
    return path


# Layouts of real files whose pixel size is easy to get wrong (values as the instruments wrote them).

#: SmartSEM, 2048-wide store: "Pixel Size" is that of a 1024-wide frame, "Image Pixel Size" that of the image.
ZEISS_2048_OVERRIDES: dict[str, tuple[str, str]] = {
    "ap_pixel_size": ("Pixel Size", "24.65 nm"),
    "ap_image_pixel_size": ("Image Pixel Size", "12.33 nm"),
    "ap_width": ("Width", "25.24 µm"),
    "ap_height": ("Height", "18.93 µm"),
    "ap_mag": ("Mag", "11.09 K X"),
}
#: Its leading unnamed lines: the fourth is the unrounded 1024-frame pixel size in m.
ZEISS_2048_UNNAMED: tuple[str, ...] = ("0", "0", "0", "2.464844e-008", "1.108800e+004", "6")

#: xT navigation-camera image: the active beam is the IR camera, no scan section applies, and the
#: [Scan]/[EScan] sections still hold the last electron scan (left at the sample writer's values).
FEI_NAVCAM_OVERRIDES: dict[str, dict[str, str | None]] = {
    "Beam": {"Beam": "IRBeam", "Scan": ""},
    "IRBeam": {"HFW": "0.2027"},
}

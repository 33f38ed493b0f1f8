"""Plain generic TIFFs are extracted from the fast reader's IFD (tifffile not opened), exactly as tifffile reads them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fairmicro.errors import FairmicroError
from fairmicro.extractors import source
from fairmicro.extractors.registry import extract_file
from fairmicro.testing.samples import texture

PLACEHOLDER = b"@" * 24  # patched with the bytes under test after writing


def _outcome(path: Path) -> tuple:
    try:
        extractor, extraction = extract_file(path)
    except FairmicroError as exc:
        return ("error", str(exc))
    fields = dataclasses.asdict(extraction)
    fields.pop("vendor_metadata")
    return (extractor.name, repr(fields), extraction.vendor_metadata_json())


def _both_ways(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[tuple, tuple, int]:
    """(fast outcome, tifffile outcome, times tifffile opened the file on the fast run)."""
    opened = []
    real_open, real_first = source._open_tiff, source.read_first_page

    def counting(*args, **kwargs):
        opened.append(1)
        return real_open(*args, **kwargs)

    monkeypatch.setattr(source, "_open_tiff", counting)
    fast = _outcome(path)
    count = len(opened)
    monkeypatch.setattr(source, "read_first_page", lambda read, size: None)
    slow = _outcome(path)
    monkeypatch.setattr(source, "read_first_page", real_first)
    return fast, slow, count


def _write(path: Path, tags: dict[int, bytes], data: np.ndarray | None = None, **kwargs: object) -> Path:
    """A plain TIFF whose ASCII tags hold exactly ``tags`` (bytes patched in after tifffile wrote placeholders)."""
    data = texture((24, 32)) if data is None else data
    marks = {code: PLACEHOLDER[:-1] + bytes([0x41 + i]) for i, code in enumerate(tags)}
    extratags = [(code, 2, len(mark), mark.decode(), True) for code, mark in marks.items() if code != 270]
    description = marks[270].decode() if 270 in marks else None  # tifffile writes tags 270 and 305 itself
    tifffile.imwrite(
        path,
        data,
        extratags=extratags,
        photometric="minisblack",
        metadata=None,
        software=False,
        description=description,
        **kwargs,
    )
    blob = bytearray(path.read_bytes())
    for code, raw in tags.items():
        at = blob.index(marks[code])
        blob[at : at + len(PLACEHOLDER)] = raw.ljust(len(PLACEHOLDER), b"\x00")[: len(PLACEHOLDER)]
    path.write_bytes(bytes(blob))
    return path


CASES = {
    "plain": (
        {271: b"Acme", 272: b"Scope 3000", 306: b"2024:01:02 03:04:05"},
        {"resolution": (2000, 2000), "resolutionunit": "CENTIMETER"},
    ),
    "inches": ({305: b"scan.exe", 315: b"lab"}, {"resolution": (300, 300), "resolutionunit": "INCH"}),
    "no unit": ({271: b"  padded  "}, {"resolution": (10, 20), "resolutionunit": "NONE"}),
    "cp1252": ({271: b"Z\xe9iss", 272: b"\x80uro"}, {}),
    "undecodable": ({271: b"bad\x81\x8d", 306: b"2024-01-02 03:04:05"}, {}),
    "nuls inside": ({272: b"a\x00b\x00"}, {}),
    "bad date": ({306: b"yesterday"}, {}),
    "description": ({270: b"just a note"}, {}),
    "imagej-like description": ({270: b"ImageJ=1.54f\nunit=micron"}, {"resolution": (5, 5)}),
    "ome-like description": ({270: b'<?xml version="1.0"?><OME></OME>'}, {}),
}


@pytest.mark.parametrize("name", list(CASES))
def test_generic_plain_tiffs_read_alike_without_tifffile(tmp_path, monkeypatch, name):
    tags, kwargs = CASES[name]
    path = _write(tmp_path / "g.tif", tags, **kwargs)
    fast, slow, opened = _both_ways(path, monkeypatch)
    assert fast == slow
    assert fast[0] == "generic"
    expect_tifffile = name in ("imagej-like description", "ome-like description")
    assert (opened > 0) == expect_tifffile


def test_cm_calibration_gives_pixel_size_without_tifffile(tmp_path, monkeypatch):
    path = _write(tmp_path / "g.tif", {271: b"Acme"}, resolution=(2000, 4000), resolutionunit="CENTIMETER")
    _, _, opened = _both_ways(path, monkeypatch)
    assert opened == 0
    _, extraction = extract_file(path)
    assert extraction.conditions["pixel_size_x_nm"] == pytest.approx(5000.0)
    assert extraction.conditions["pixel_size_y_nm"] == pytest.approx(2500.0)
    assert extraction.vendor == "Acme"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    texts=st.dictionaries(
        st.sampled_from([270, 271, 272, 305, 306, 315]), st.binary(max_size=len(PLACEHOLDER)), max_size=4
    ),
    resolution=st.one_of(st.none(), st.tuples(st.integers(1, 10**6), st.integers(1, 10**6))),
    unit=st.sampled_from(["NONE", "INCH", "CENTIMETER"]),
    dtype=st.sampled_from(["uint8", "uint16"]),
)
def test_random_text_tags_and_resolutions_read_alike(tmp_path_factory, monkeypatch, texts, resolution, unit, dtype):
    path = tmp_path_factory.mktemp("g") / "g.tif"
    kwargs = {} if resolution is None else {"resolution": resolution, "resolutionunit": unit}
    _write(path, texts, texture((16, 20), dtype=dtype), **kwargs)
    fast, slow, _ = _both_ways(path, monkeypatch)
    assert fast == slow

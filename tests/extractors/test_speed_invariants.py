"""The extraction shortcuts give what the plain definitions give.

Extraction caches converters and resolved tables, checks a sidecar's name in
a cached folder listing before building a path, computes strip sizes once per
page, fills trail records without the frozen dataclass's setattr calls and
skips copying an undamaged block. Each test here compares a shortcut with
the straightforward computation it replaced, on inputs where a careless
shortcut would differ (reused object ids, int versus float arguments, odd
file names, the last strip of a plane).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import pickle
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairmicro.extractors.base import (
    NUL_MARK,
    FieldSource,
    SourceFile,
    scaled,
)
from fairmicro.extractors.frame import field_per_pixel, pixel_size
from fairmicro.extractors.registry import extract_file
from fairmicro.extractors.source import _strip_nbytes, _strip_sizes
from fairmicro.extractors.vendortext import restore_damaged_keys
from fairmicro.testing.samples import texture, write_fei_tiff, write_zeiss_tiff

FAST = settings(max_examples=200, deadline=None, derandomize=True)


@FAST
@given(
    length=st.integers(1, 3000),
    rows_per_strip=st.integers(1, 5000),
    width=st.integers(1, 300),
    samples=st.integers(1, 4),
    bits=st.sampled_from([1, 8, 12, 16, 32]),
    planar=st.sampled_from([1, 2]),
)
def test_pixel_check_expects_the_same_bytes_for_every_strip_as_strip_by_strip(
    length: int, rows_per_strip: int, width: int, samples: int, bits: int, planar: int
) -> None:
    page = SimpleNamespace(
        imagelength=length,
        rowsperstrip=rows_per_strip,
        imagewidth=width,
        samplesperpixel=samples,
        bitspersample=bits,
        planarconfig=planar,
    )
    per_plane = math.ceil(length / max(1, min(rows_per_strip, length)))
    count = per_plane * (samples if planar == 2 else 1)
    assert list(_strip_sizes(page, count)) == [_strip_nbytes(page, i) for i in range(count)]


def test_a_short_last_strip_of_a_one_row_per_strip_file_is_still_reported(tmp_path: Path) -> None:
    import tifffile

    path = tmp_path / "strips.tif"
    tifffile.imwrite(path, texture((40, 32)), rowsperstrip=1)
    data = bytearray(path.read_bytes())
    with tifffile.TiffFile(path) as tiff:
        page = tiff.pages.first
        offsets, counts = page.dataoffsets, page.databytecounts
    assert len(counts) == 40
    # Declare strip 39 one byte short: the extent still fits, only the size check can see it.
    from fairmicro.errors import UnreadableFileError

    patched = _declare_count(bytes(data), index=39, count=counts[39] - 1)
    bad = tmp_path / "short.tif"
    bad.write_bytes(patched)
    with pytest.raises(UnreadableFileError, match="segment 39 holds 31 bytes, expected 32"):
        extract_file(bad)
    assert offsets  # the original file itself is fine
    extract_file(path)


def _declare_count(data: bytes, index: int, count: int) -> bytes:
    """``data`` with StripByteCounts[index] rewritten (little-endian classic TIFF, LONG or SHORT counts)."""
    import struct

    first_ifd = struct.unpack_from("<I", data, 4)[0]
    entries = struct.unpack_from("<H", data, first_ifd)[0]
    out = bytearray(data)
    for n in range(entries):
        at = first_ifd + 2 + 12 * n
        code, kind, _number, value = struct.unpack_from("<HHII", data, at)
        if code == 279:  # StripByteCounts
            size = {3: 2, 4: 4}[kind]
            fmt = {3: "<H", 4: "<I"}[kind]
            struct.pack_into(fmt, out, value + size * index, count)
            return bytes(out)
    raise AssertionError("no StripByteCounts tag")


@pytest.mark.parametrize(
    "name",
    ["img.tif", "img.TIF", "a.b.tif", "noext", ".hidden", "trailing.", "Ünïcode.tif", "sp ace.tiff"],
)
@pytest.mark.parametrize("sidecar_suffix", [".txt", ".TXT", None])
def test_sidecar_lookup_finds_what_a_stat_per_candidate_finds(
    tmp_path: Path, name: str, sidecar_suffix: str | None
) -> None:
    image = tmp_path / name
    image.write_bytes(b"II*\x00")
    if sidecar_suffix is not None:
        image.with_suffix(sidecar_suffix).write_text("[SemImageFile]\n")
    (tmp_path / "other.txt").write_text("unrelated")
    expected = next(
        (c for s in (".txt",) for c in (image.with_suffix(s), image.with_suffix(s.upper())) if c.is_file()), None
    )
    assert SourceFile(path=image, file_format="tiff").sidecar(".txt") == expected
    assert SourceFile(path=Path(os.path.relpath(image)), file_format="tiff").sidecar(".txt") == (
        None if expected is None else Path(os.path.relpath(expected))
    )


@pytest.mark.parametrize("hdr_name", ["{stem}-{ext}.hdr", "{stem}.hdr", "{stem}.HDR"])
def test_tescan_sidecar_is_found_through_the_folder_listing(tmp_path: Path, hdr_name: str) -> None:
    from fairmicro.testing import vendor_samples as vs

    image = vs.write_tescan_pair(tmp_path / "scan.png", hdr_name=hdr_name)
    extractor, extraction = extract_file(image)
    assert (extractor.name, extraction.vendor) == ("tescan", "TESCAN")
    assert extraction.conditions["accelerating_voltage_kv"] > 0


def test_cached_converters_describe_the_pixels_and_ratio_they_were_asked_for() -> None:
    assert field_per_pixel("nm", 1024).describe != field_per_pixel("nm", 1024.0).describe
    assert field_per_pixel("nm", 1024).describe.endswith("/ 1024 px of the saved image")
    assert field_per_pixel("nm", 1024.0).describe.endswith("/ 1024.0 px of the saved image")
    assert pixel_size("m", "nm", 2).describe == pixel_size("m", "nm", 2.0).describe
    assert scaled("V", "kV") is scaled("V", "kV")  # built once
    assert scaled("V", "kV")(20000) == 20.0
    assert scaled("m", "mm")("0.0101") == 10.1
    with pytest.raises(ValueError, match="unknown unit"):
        scaled("furlong", "mm")(1)
    with pytest.raises(ValueError, match="cannot convert"):
        scaled("V", "mm")(1)


def test_trail_records_stay_immutable_comparable_and_picklable() -> None:
    source = FieldSource("accelerating_voltage_kv", "EBeam/HV", "20000", "V -> kV")
    with pytest.raises(dataclasses.FrozenInstanceError):
        source.slot = "other"  # type: ignore[misc]
    assert source == FieldSource(
        slot="accelerating_voltage_kv", source_key="EBeam/HV", raw_value="20000", conversion="V -> kV"
    )
    assert hash(source) == hash(copy.copy(source))
    assert dataclasses.asdict(source) == {
        "slot": "accelerating_voltage_kv",
        "source_key": "EBeam/HV",
        "raw_value": "20000",
        "conversion": "V -> kV",
    }
    assert dataclasses.replace(source, slot="x").slot == "x"
    assert pickle.loads(pickle.dumps(source)) == source
    assert repr(source).startswith("FieldSource(slot='accelerating_voltage_kv'")


def test_a_block_with_a_damaged_key_deep_inside_is_still_restored() -> None:
    clean = {"Beam": {"HV": "20000"}, "": ("a", "b")}
    assert restore_damaged_keys(clean) == clean
    damaged = {"Beam": {"HV": "20000"}, "Image": {f"Resolution{NUL_MARK}X": "1024"}}
    restored = restore_damaged_keys(damaged)
    assert restored["Image"]["ResolutionX"] == f"{NUL_MARK}1024"
    assert f"Resolution{NUL_MARK}X" in restored["Image"]
    assert "ResolutionX" not in damaged["Image"]  # the input is not changed


def test_extracting_a_file_twice_gives_the_same_record_and_trail(tmp_path: Path) -> None:
    """Caches filled by the first file must not leak into the second (different pixels and size)."""
    first = write_zeiss_tiff(tmp_path / "a.tif", texture((96, 128)))
    second = write_zeiss_tiff(tmp_path / "b.tif", texture((48, 64)))
    fei = write_fei_tiff(tmp_path / "c.tif", texture((48, 64)))
    runs = [[dataclasses.asdict(extract_file(p)[1]) for p in (first, second, fei)] for _ in range(2)]
    assert runs[0] == runs[1]
    assert [r["width_px"] for r in runs[0]] == [128, 64, 64]
    trails = [{s["slot"]: s["conversion"] for s in r["sources"]} for r in runs[0]]
    assert "/ 128 px of the saved image" in trails[0]["pixel_size_x_nm"]
    assert "/ 64 px of the saved image" in trails[1]["pixel_size_x_nm"]
    assert trails[2]["pixel_size_x_nm"].startswith("m -> nm; chosen over")  # FEI: the scan's pixel width

from __future__ import annotations

from datetime import datetime

import pytest

from fairmicro.testing.samples import texture
from fairmicro.testing.vendor_samples import (
    HITACHI_DEFAULTS,
    ini_text,
    write_hitachi_pair,
    write_image,
)
from tests.extractors.helpers import extract, warned_slots

EXPECTED = {
    "detector": "SE(U)",
    "accelerating_voltage_kv": 15.0,
    "working_distance_mm": pytest.approx(7.70635),
    "magnification": 1000.0,
    "acquired_at": datetime(2016, 4, 15, 11, 28, 38),
    "pixel_size_x_nm": pytest.approx(99.21875),
    "pixel_size_y_nm": pytest.approx(99.21875),
}


@pytest.mark.parametrize(("suffix", "encoding"), [(".tif", "utf-16"), (".jpg", "ascii"), (".bmp", "utf-16")])
def test_sidecar_is_mapped_in_either_encoding(tmp_path, suffix, encoding):
    name, x = extract(write_hitachi_pair(tmp_path / f"su{suffix}", encoding=encoding))
    assert name == "hitachi"
    assert (x.vendor, x.instrument_model, x.instrument_serial) == (
        "Hitachi",
        "SU8230",
        "HD-0815-01",
    )
    assert x.conditions == EXPECTED
    assert x.warnings == []


def test_utf16_without_bom_is_read(tmp_path):
    path = write_image(tmp_path / "tm.tif", texture((96, 128)))
    path.with_suffix(".txt").write_bytes(ini_text(HITACHI_DEFAULTS).encode("utf-16-le"))
    assert extract(path)[1].conditions["accelerating_voltage_kv"] == 15.0


def test_sidecar_is_paired_by_stem_not_by_image_name(tmp_path):
    # ImageName= names another file (renamed after saving); the stem decides.
    renamed = write_hitachi_pair(tmp_path / "renamed.tif")
    assert extract(renamed)[1].vendor_metadata["SemImageFile"]["ImageName"] == "renamed_on_the_instrument.tif"
    assert extract(renamed)[0] == "hitachi"
    lonely = write_image(tmp_path / "renamed_on_the_instrument.tif", texture((96, 128)))
    assert extract(lonely)[0] == "generic"


@pytest.mark.parametrize(
    ("key", "raw", "slot", "value"),
    [
        ("AcceleratingVoltage", "15000 Volt", "accelerating_voltage_kv", 15.0),
        ("AcceleratingVoltage", "5.0 kV", "accelerating_voltage_kv", 5.0),
        ("AcceleratingVoltage", "800 V", "accelerating_voltage_kv", 0.8),
        ("WorkingDistance", "7706.35 um", "working_distance_mm", 7.70635),
        ("WorkingDistance", "8.1 mm", "working_distance_mm", 8.1),
        ("Date", "04/15/2016", "acquired_at", datetime(2016, 4, 15, 11, 28, 38)),
        ("Date", "2016-04-15", "acquired_at", datetime(2016, 4, 15, 11, 28, 38)),
    ],
)
def test_units_and_formats_written_in_the_values(tmp_path, key, raw, slot, value):
    _, x = extract(write_hitachi_pair(tmp_path / "u.tif", overrides={"SemImageFile": {key: raw}}))
    assert x.conditions[slot] == (pytest.approx(value) if isinstance(value, float) else value)


@pytest.mark.parametrize(
    ("key", "raw", "slots"),
    [
        ("AcceleratingVoltage", "15000", {"accelerating_voltage_kv"}),  # no unit: not guessed
        ("WorkingDistance", "7706.35 furlongs", {"working_distance_mm"}),
        ("AcceleratingVoltage", "1e308 MV", {"accelerating_voltage_kv"}),  # overflows to inf
        ("PixelSize", "0", {"pixel_size_x_nm", "pixel_size_y_nm"}),
        ("DataSize", "big", {"pixel_size_x_nm", "pixel_size_y_nm"}),
        ("Date", "15.04.2016", {"acquired_at"}),
    ],
)
def test_garbage_value_is_left_empty_with_a_warning(tmp_path, key, raw, slots):
    _, x = extract(write_hitachi_pair(tmp_path / "bad.tif", overrides={"SemImageFile": {key: raw}}))
    assert not slots & set(x.conditions)
    assert slots <= warned_slots(x)
    assert x.conditions["magnification"] == 1000.0


def test_data_bar_and_saved_width_follow_datasize(tmp_path):
    path = write_hitachi_pair(tmp_path / "bar.tif", bar_rows=20, overrides={"SemImageFile": {"DataSize": "256x192"}})
    _, x = extract(path)
    assert x.data_bar_height_px == 20
    assert x.conditions["pixel_size_x_nm"] == pytest.approx(2 * 99.21875)


def test_trail_names_section_and_key(tmp_path):
    _, x = extract(write_hitachi_pair(tmp_path / "t.tif"))
    trail = {s.slot: s for s in x.sources}
    assert set(x.conditions) <= set(trail)
    wd = trail["working_distance_mm"]
    assert (wd.source_key, wd.raw_value, wd.conversion) == (
        "SemImageFile/WorkingDistance",
        "7706.35 um",
        "own unit -> mm",
    )

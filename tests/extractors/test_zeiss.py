from __future__ import annotations

from datetime import datetime

import pytest

from fairmicro.testing.samples import texture, write_zeiss_tiff
from tests.extractors.helpers import extract, warned_slots


def test_zeiss_block_is_mapped_and_normalised(tmp_path):
    name, x = extract(write_zeiss_tiff(tmp_path / "z.tif", store="128 * 96"))
    assert name == "zeiss"
    assert (x.vendor, x.instrument_model, x.instrument_serial) == ("Zeiss", "Sigma", "Sigma-30-17")
    c = x.conditions
    assert c["accelerating_voltage_kv"] == 15.0
    assert c["beam_current_na"] == pytest.approx(0.25)
    assert c["working_distance_mm"] == 8.5
    assert c["dwell_time_us"] == pytest.approx(0.1)
    assert c["magnification"] == 2000.0
    assert c["horizontal_field_width_um"] == 56.0
    assert c["pixel_size_x_nm"] == pytest.approx(56000 / 128)
    assert c["pixel_size_y_nm"] == pytest.approx(42000 / 96)
    assert c["stage_rotation_deg"] == 12.5
    assert c["detector"] == "InLens"
    assert c["acquired_at"] == datetime(2025, 3, 14, 10, 21, 7)
    assert x.data_bar_height_px == 0
    assert x.warnings == []
    assert x.vendor_metadata["ap_wd"] == ["WD", 8.5, "mm"]


def test_pixel_size_is_that_of_the_saved_image_not_the_store(tmp_path):
    # Stored at 2048 * 1536 but saved at 128 px wide: pixel = field width / saved width.
    _, x = extract(write_zeiss_tiff(tmp_path / "half.tif", store="2048 * 1536"))
    assert x.conditions["pixel_size_x_nm"] == pytest.approx(56000 / 128)


def test_data_bar_below_the_stored_frame_is_recorded(tmp_path):
    data = texture((110, 128))
    _, x = extract(write_zeiss_tiff(tmp_path / "bar.tif", data, store="1024 * 768"))
    assert x.data_bar_height_px == 110 - 96
    assert x.conditions["pixel_size_y_nm"] == pytest.approx(42000 / 96)


@pytest.mark.parametrize(
    ("key", "raw", "slot"),
    [
        ("ap_wd", ("WD", "1x4.8 mm"), "working_distance_mm"),
        ("ap_actualkv", ("EHT", "fifteen kV"), "accelerating_voltage_kv"),
        ("ap_iprobe", ("I Probe", "250.0 furlongs"), "beam_current_na"),
        ("ap_date", ("Date", "32 Foo 2025"), "acquired_at"),
    ],
)
def test_garbage_value_is_left_empty_with_a_warning(tmp_path, key, raw, slot):
    _, x = extract(write_zeiss_tiff(tmp_path / "bad.tif", overrides={key: raw}))
    assert slot not in x.conditions
    assert slot in warned_slots(x)
    assert x.conditions["magnification"] == 2000.0  # the rest is still read


def test_missing_keys_are_simply_absent(tmp_path):
    _, x = extract(write_zeiss_tiff(tmp_path / "sparse.tif", overrides={"ap_iprobe": None, "ap_wd": None}))
    assert "beam_current_na" not in x.conditions and "working_distance_mm" not in x.conditions
    assert x.warnings == []


def test_every_value_has_a_source_trail(tmp_path):
    _, x = extract(write_zeiss_tiff(tmp_path / "z.tif"))
    trail = {s.slot: s for s in x.sources}
    assert trail["accelerating_voltage_kv"].source_key == "ap_actualkv"
    assert trail["accelerating_voltage_kv"].conversion == "own unit -> kV"
    assert set(x.conditions) <= set(trail)

from __future__ import annotations

from datetime import datetime

import pytest

from fairmicro.testing.samples import texture, write_fei_tiff
from tests.extractors.helpers import extract, warned_slots


def test_fei_block_is_mapped_and_normalised(tmp_path):
    name, x = extract(write_fei_tiff(tmp_path / "f.tif"))
    assert name == "fei"
    assert (x.vendor, x.instrument_model, x.instrument_serial) == ("FEI", "Quanta 650 FEG", "9912345")
    c = x.conditions
    assert c["accelerating_voltage_kv"] == 20.0
    assert c["beam_current_na"] == pytest.approx(0.13)
    assert c["working_distance_mm"] == pytest.approx(10.1)
    assert c["dwell_time_us"] == pytest.approx(3.0)
    assert c["horizontal_field_width_um"] == pytest.approx(102.4)
    assert c["pixel_size_x_nm"] == pytest.approx(102400 / 128)
    assert c["stage_x_mm"] == pytest.approx(1.2)
    assert c["stage_rotation_deg"] == pytest.approx(28.6478897565)
    assert (c["detector"], c["detector_mode"]) == ("ETD", "SE")
    assert c["brightness_percent"] == pytest.approx(44.4)
    assert c["acquired_at"] == datetime(2025, 3, 14, 14, 5, 9)
    assert "magnification" not in c  # xT stores none; never guessed
    assert x.data_bar_height_px == 0


def test_data_bar_rows_below_resolution_y(tmp_path):
    data = texture((110, 128))
    _, x = extract(write_fei_tiff(tmp_path / "bar.tif", data, overrides={"Image": {"ResolutionY": "96"}}))
    assert x.data_bar_height_px == 14


def test_saved_width_differs_from_scan_width_derives_pixel_size(tmp_path):
    overrides = {"Image": {"ResolutionX": "1024", "ResolutionY": "768"}}
    data = texture((96, 128))
    _, x = extract(write_fei_tiff(tmp_path / "resized.tif", data, overrides))
    assert x.conditions["pixel_size_x_nm"] == pytest.approx(102400 / 128)
    assert x.conditions["pixel_size_y_nm"] == pytest.approx(76800 / 96)


def test_ion_beam_sections_are_followed(tmp_path):
    overrides = {"Beam": {"Beam": "IBeam", "HV": "30000"}, "IBeam": {"HV": "30000", "WD": "0.0165"}}
    _, x = extract(write_fei_tiff(tmp_path / "ion.tif", overrides=overrides))
    assert x.conditions["accelerating_voltage_kv"] == 30.0
    assert x.conditions["working_distance_mm"] == pytest.approx(16.5)


@pytest.mark.parametrize(
    ("section", "key", "raw", "slot"),
    [
        ("EBeam", "HV", "2O000", "accelerating_voltage_kv"),
        ("EBeam", "BeamCurrent", "1.3e-1O", "beam_current_na"),
        ("User", "Date", "13/45/2025", "acquired_at"),
    ],
)
def test_garbage_number_is_a_warning_not_a_guess(tmp_path, section, key, raw, slot):
    overrides = {section: {key: raw}}
    if slot == "accelerating_voltage_kv":
        overrides["Beam"] = {"HV": None}
    _, x = extract(write_fei_tiff(tmp_path / "bad.tif", overrides=overrides))
    assert slot not in x.conditions
    assert slot in warned_slots(x)

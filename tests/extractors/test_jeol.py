from __future__ import annotations

from datetime import datetime

import pytest

from fairmicro.testing.samples import texture
from fairmicro.testing.vendor_samples import write_hitachi_pair, write_image, write_jeol_pair
from tests.extractors.helpers import extract, warned_slots


@pytest.mark.parametrize("suffix", [".tif", ".bmp", ".jpg"])
def test_sidecar_is_mapped_for_every_image_format(tmp_path, suffix):
    name, x = extract(write_jeol_pair(tmp_path / f"img{suffix}"))
    assert name == "jeol"
    assert (x.vendor, x.instrument_model) == ("JEOL", "JSM-7800F")
    assert x.conditions == {
        "detector": "SEI",
        "accelerating_voltage_kv": 15.0,
        "working_distance_mm": 10.0,
        "beam_current_na": pytest.approx(0.1),
        "magnification": 5000.0,
        "acquired_at": datetime(2021, 3, 4, 9, 15),
        "operator": "lab",
        "pixel_size_x_nm": pytest.approx(200.0),  # 10 um over a 50 px bar
        "pixel_size_y_nm": pytest.approx(200.0),
    }
    assert x.warnings == []
    assert x.vendor_metadata["_source"] == "sidecar img.txt"


@pytest.mark.parametrize("rows", [0, 16, 64])
def test_rows_below_the_full_size_frame_are_the_data_bar(tmp_path, rows):
    _, x = extract(write_jeol_pair(tmp_path / "bar.tif", bar_rows=rows))
    assert (x.height_px, x.data_bar_height_px) == (96 + rows, rows)


@pytest.mark.parametrize(
    ("marker", "bar", "nm"),
    [
        ("10um", "50", 200.0),
        ("1mm", "125", 8000.0),
        ("500nm", "100", 5.0),
        ("5µm", "25", 200.0),
        ("1.5 um", "30", 50.0),
    ],
)
def test_pixel_size_is_marker_over_bar(tmp_path, marker, bar, nm):
    path = write_jeol_pair(tmp_path / "m.tif", overrides={"$$SM_MICRON_MARKER": marker, "$$SM_MICRON_BAR": bar})
    assert extract(path)[1].conditions["pixel_size_x_nm"] == pytest.approx(nm)


def test_image_saved_at_another_width_rescales_bar_and_frame(tmp_path):
    # The frame was stored at 256 x 192 and the bar measured there; the file is 128 px wide.
    path = write_jeol_pair(tmp_path / "half.tif", overrides={"$CM_FULL_SIZE": "256 192", "$$SM_MICRON_BAR": "100"})
    _, x = extract(path)
    assert x.conditions["pixel_size_x_nm"] == pytest.approx(200.0)
    assert x.data_bar_height_px == 16
    assert "x 2 (stored/saved width)" in {s.slot: s for s in x.sources}["pixel_size_x_nm"].conversion


def test_every_value_has_a_source_trail(tmp_path):
    _, x = extract(write_jeol_pair(tmp_path / "t.tif"))
    trail = {s.slot: s for s in x.sources}
    assert set(x.conditions) <= set(trail)
    assert (trail["beam_current_na"].source_key, trail["beam_current_na"].raw_value) == (
        "$$SM_PROBE_CURRENT",
        "1.00e-010",
    )
    assert trail["pixel_size_x_nm"].source_key == "$$SM_MICRON_MARKER + $$SM_MICRON_BAR"


@pytest.mark.parametrize(
    ("key", "raw", "slots"),
    [
        ("$$SM_MICRON_BAR", "0", {"pixel_size_x_nm", "pixel_size_y_nm"}),
        ("$$SM_MICRON_MARKER", "scale", {"pixel_size_x_nm", "pixel_size_y_nm"}),
        ("$$SM_MICRON_MARKER", "100", {"pixel_size_x_nm", "pixel_size_y_nm"}),
        ("$CM_FULL_SIZE", "wide", {"pixel_size_x_nm", "pixel_size_y_nm"}),
        ("$CM_ACCEL_VOLT", "7,00", {"accelerating_voltage_kv"}),
        ("$CM_DATE", "31/08/2020", {"acquired_at"}),
    ],
)
def test_garbage_value_is_left_empty_with_a_warning(tmp_path, key, raw, slots):
    _, x = extract(write_jeol_pair(tmp_path / "bad.tif", overrides={key: raw}))
    assert not slots & set(x.conditions)
    assert slots <= warned_slots(x)
    assert x.conditions["magnification"] == 5000.0


def test_missing_full_size_means_the_bar_is_in_saved_pixels(tmp_path):
    _, x = extract(write_jeol_pair(tmp_path / "old.tif", overrides={"$CM_FULL_SIZE": None}))
    assert x.conditions["pixel_size_x_nm"] == pytest.approx(200.0)
    assert x.data_bar_height_px is None


@pytest.mark.parametrize(
    "sidecar",
    [None, "notes.txt", "hitachi"],
    ids=["no-sidecar", "unrelated-text", "other-vendor"],
)
def test_images_without_a_jeol_sidecar_are_not_jeol(tmp_path, sidecar):
    path = write_image(tmp_path / "img.tif", texture((32, 32)))
    if sidecar == "notes.txt":
        path.with_suffix(".txt").write_text("sample 4, polished twice\n")
    elif sidecar == "hitachi":
        write_hitachi_pair(path)
    assert extract(path)[0] != "jeol"


@pytest.mark.real_data
def test_real_sample_matches_expected(real_tiffs):
    name, x = extract(real_tiffs / "jeol" / "image000.tif")
    assert name == "jeol"
    assert x.instrument_model == "8530F"
    assert (x.width_px, x.height_px, x.data_bar_height_px) == (1280, 1024, 64)
    c = x.conditions
    assert c["accelerating_voltage_kv"] == pytest.approx(7.0)
    assert c["working_distance_mm"] == pytest.approx(10.52)
    assert c["magnification"] == 95
    assert c["beam_current_na"] == pytest.approx(16.4)  # 1.64e-8 A
    assert c["detector"] == "SEI"
    assert c["pixel_size_x_nm"] == pytest.approx(100_000 / 101)  # "about 990 nm"
    assert c["acquired_at"] == datetime(2020, 8, 31, 15, 32, 31)
    assert x.warnings == []

from __future__ import annotations

from datetime import datetime

import pytest

from fairmicro.testing.samples import write_imagej_tiff
from fairmicro.testing.vendor_samples import write_olympus_sis_tiff
from tests.extractors.helpers import extract, warned_slots


def test_calibrated_raw_page_is_catalogued_not_the_preview(tmp_path):
    name, x = extract(write_olympus_sis_tiff(tmp_path / "sis.tif", pixel_size_m=2.5e-9))
    assert name == "olympus"
    assert (x.page_index, x.page_count) == (1, 2)
    assert (x.width_px, x.height_px, x.bit_depth, x.channels) == (
        128,
        96,
        16,
        1,
    )  # the raw page, not the RGB preview
    assert (x.vendor, x.instrument_model) == ("Olympus", "Quemesa")
    assert x.conditions == {
        "pixel_size_x_nm": pytest.approx(2.5),
        "pixel_size_y_nm": pytest.approx(2.5),
        "magnification": 60000.0,
        "acquired_at": datetime(2018, 11, 15, 19, 42, 31),
        "operator": "THU",
    }
    assert x.vendor_metadata["_source"] == "page 1"
    assert x.warnings == []


def test_trail_names_the_sis_field(tmp_path):
    _, x = extract(write_olympus_sis_tiff(tmp_path / "sis.tif"))
    trail = {s.slot: s for s in x.sources}
    assert (trail["pixel_size_x_nm"].source_key, trail["pixel_size_x_nm"].conversion) == (
        "sis/pixelsizex",
        "m -> nm",
    )


def test_uncalibrated_sis_page_warns_and_leaves_pixel_size_empty(tmp_path):
    _, x = extract(write_olympus_sis_tiff(tmp_path / "raw.tif", pixel_size_m=0.0))
    assert x.page_index == 1
    assert "pixel_size_x_nm" not in x.conditions
    assert {"pixel_size_x_nm", "pixel_size_y_nm"} <= warned_slots(x)


def test_other_tiffs_are_not_olympus(tmp_path):
    assert extract(write_imagej_tiff(tmp_path / "ij.tif", 0.1))[0] == "generic"


@pytest.mark.real_data
def test_real_sample_uses_the_calibrated_second_page(real_tiffs):
    name, x = extract(real_tiffs / "olympus" / "olympus_SIS.tif")
    assert name == "olympus"
    assert (x.page_index, x.page_count) == (1, 2)
    assert x.conditions["pixel_size_x_nm"] == pytest.approx(2.3928e-11 * 1e9, rel=1e-4)
    assert x.conditions["pixel_size_y_nm"] == pytest.approx(2.3928e-11 * 1e9, rel=1e-4)
    assert x.bit_depth == 16

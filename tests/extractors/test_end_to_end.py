"""The real JEOL, TESCAN and Olympus samples through `fairmicro ingest` and `fairmicro query`."""

from __future__ import annotations

import json

import pytest

from fairmicro.testing.samples import texture
from fairmicro.testing.vendor_samples import write_image

COLUMNS = (
    "extractor, vendor, instrument_model, width_px, height_px, page_index, page_count, "
    "data_bar_height_px, accelerating_voltage_kv, working_distance_mm, beam_current_na, "
    "magnification, detector, pixel_size_x_nm, pixel_size_y_nm, "
    "CAST(acquired_at AS VARCHAR) AS acquired_at"
)
EXPECTED = {
    "jeol": {
        "vendor": "JEOL",
        "instrument_model": "8530F",
        "width_px": 1280,
        "height_px": 1024,
        "page_index": 0,
        "data_bar_height_px": 64,
        "accelerating_voltage_kv": pytest.approx(7.0),
        "working_distance_mm": pytest.approx(10.52),
        "beam_current_na": pytest.approx(16.4),
        "magnification": 95,
        "detector": "SEI",
        "pixel_size_x_nm": pytest.approx(990.099, abs=1e-3),
        "acquired_at": "2020-08-31 15:32:31",
    },
    "tescan": {
        "vendor": "TESCAN",
        "instrument_model": "TESCAN SOLARIS X",
        "accelerating_voltage_kv": pytest.approx(5.0),
        "detector": "SE",
        "pixel_size_x_nm": pytest.approx(50.0),
        "pixel_size_y_nm": pytest.approx(50.0),
        "acquired_at": "2024-02-07 00:00:00",
    },
    "olympus": {
        "vendor": "Olympus",
        "page_index": 1,
        "page_count": 2,
        "width_px": 112,
        "height_px": 101,
        "pixel_size_x_nm": pytest.approx(0.023928, rel=1e-4),
        "magnification": 600000,
    },
}


@pytest.mark.real_data
def test_real_samples_are_catalogued_with_their_expected_values(real_tiffs, cli, tmp_path):
    tescan = tmp_path / "tescan"
    write_image(tescan / "solaris.tif", texture((64, 64)))
    (tescan / "solaris.hdr").symlink_to(real_tiffs / "tescan" / "tescan-minimal.hdr")

    result = cli("ingest", str(real_tiffs / "jeol"), str(real_tiffs / "olympus"), str(tescan), "--json")
    summary = json.loads(result.stdout)
    assert (summary["ingested"], summary["rejected"]) == (3, [])

    rows = {row["extractor"]: row for row in cli.rows(f"SELECT {COLUMNS} FROM image_metadata")}
    for extractor, expected in EXPECTED.items():
        assert {key: rows[extractor][key] for key in expected} == expected, extractor


@pytest.mark.real_data
def test_the_trail_of_a_derived_value_is_queryable(real_tiffs, cli):
    cli("ingest", str(real_tiffs / "jeol"))
    trail = cli.rows(
        "SELECT f.source_key, f.raw_value, f.conversion FROM field_sources f "
        "JOIN images i ON i.sha256 = f.image_sha256 WHERE f.slot_name = 'pixel_size_x_nm'"
    )
    assert trail == [
        {
            "source_key": "$$SM_MICRON_MARKER + $$SM_MICRON_BAR",
            "raw_value": "100um 101",
            "conversion": "marker length / bar pixels -> nm, square pixels",
        }
    ]

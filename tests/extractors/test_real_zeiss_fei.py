"""The real Zeiss, FEI and Thermo Fisher samples give EXPECTED.md's values through `fairmicro query`."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.real_data

COLUMNS = (
    "width_px, height_px, bit_depth, vendor, instrument_model, instrument_serial, detector, detector_mode, "
    "accelerating_voltage_kv, beam_current_na, working_distance_mm, dwell_time_us, magnification, "
    "horizontal_field_width_um, pixel_size_x_nm, pixel_size_y_nm, CAST(acquired_at AS VARCHAR) AS acquired_at, "
    "operator, stage_x_mm, stage_y_mm, stage_z_mm, stage_rotation_deg, stage_tilt_deg, brightness_percent, "
    "contrast_percent, data_bar_height_px, extractor"
)

EXPECTED = {
    "zeiss/test_tiff_Zeiss_SEM_1k.tif": {
        "width_px": 1024,
        "height_px": 768,
        "bit_depth": 8,
        "vendor": "Zeiss",
        "extractor": "zeiss",
        "accelerating_voltage_kv": 25.0,
        "working_distance_mm": 14.808,
        "pixel_size_x_nm": 2614.514,
        "pixel_size_y_nm": 2614.514,
        "magnification": 105.0,
        "beam_current_na": 1.0,
        "detector": "HE-SE2",
        "instrument_serial": "Merlin-61-08",
        "acquired_at": "2015-12-23 09:40:32",
        "brightness_percent": 50.0,
        "contrast_percent": 23.3,
        "horizontal_field_width_um": 2677.0,
    },
    "fei/FEI-Helios-Ebeam-8bits.tif": {
        "width_px": 512,
        "height_px": 471,
        "bit_depth": 8,
        "vendor": "FEI",
        "extractor": "fei",
        "accelerating_voltage_kv": 5.0,
        "working_distance_mm": 4.03466,
        "pixel_size_x_nm": 3372.4,
        "pixel_size_y_nm": 3372.4,
        "horizontal_field_width_um": 1726.67,
        "beam_current_na": 0.00625,
        "dwell_time_us": 10.0,
        "detector": "ETD",
        "detector_mode": "SE",
        "instrument_model": 'Helios NanoLab" 660',
        "acquired_at": "2016-06-13 17:06:40",
        "operator": "supervisor",
        "stage_x_mm": 0.02576,
        "stage_y_mm": -0.194177,
        "stage_z_mm": 7.965,
        "stage_rotation_deg": -135.28106500833866,
        "stage_tilt_deg": 0.000374999731,
        "data_bar_height_px": 29,
    },
    "thermofisher/SEM_Image-SliceImage-001.tif": {
        "width_px": 1536,
        "height_px": 1024,
        "bit_depth": 8,
        "extractor": "fei",
        "accelerating_voltage_kv": 15.0,
        "working_distance_mm": 4.02349,
        "pixel_size_x_nm": 385.417,
        "horizontal_field_width_um": 592.0,
        "beam_current_na": 1.6,
        "dwell_time_us": 0.3,
        "detector": "ETD",
        "acquired_at": "2020-08-18 13:40:03",
        "instrument_model": "Helios G4 PFIB CXe",
        "data_bar_height_px": 0,
    },
}


@pytest.fixture
def real_catalog(cli, real_tiffs):
    cli("ingest", *(str(real_tiffs / name) for name in EXPECTED))
    return cli


@pytest.mark.parametrize("name", list(EXPECTED))
def test_expected_values_come_out_of_query(real_catalog, real_tiffs, name):
    [row] = real_catalog.rows(f"SELECT {COLUMNS} FROM image_metadata WHERE path = '{real_tiffs / name}'")
    for column, expected in EXPECTED[name].items():
        if isinstance(expected, float):
            assert row[column] == pytest.approx(expected, rel=1e-5), column
        else:
            assert row[column] == expected, column


def test_real_files_ingest_without_warnings(cli, real_tiffs):
    result = cli("ingest", *(str(real_tiffs / name) for name in EXPECTED), "--strict", "--json")
    assert '"rejected": []' in result.stdout and '"warnings": []' in result.stdout

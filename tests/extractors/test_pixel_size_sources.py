"""Pixel size of the saved image when a file states it several ways (Zeiss, FEI/Thermo).

Through `fairmicro ingest` and `fairmicro query`, as a user runs them, plus
direct extraction for the trail and the warnings.
"""

from __future__ import annotations

import json

import pytest

from fairmicro.testing.samples import texture, write_fei_tiff, write_zeiss_tiff
from fairmicro.testing.vendor_samples import (
    FEI_NAVCAM_OVERRIDES,
    ZEISS_2048_OVERRIDES,
    ZEISS_2048_UNNAMED,
)
from tests.extractors.helpers import extract, warned_slots

PIXELS = "SELECT pixel_size_x_nm AS x, pixel_size_y_nm AS y, extraction_warnings FROM image_metadata"
TRAIL = (
    "SELECT f.slot_name, f.source_key, f.conversion FROM field_sources f "
    "WHERE f.slot_name LIKE 'pixel_size%' ORDER BY 1"
)


def _zeiss_2048(path, shape=(1536, 2048), store="2048 * 1536", **changes):
    overrides = {**ZEISS_2048_OVERRIDES, **changes}
    return write_zeiss_tiff(path, texture(shape), overrides, store=store, unnamed=ZEISS_2048_UNNAMED)


def test_zeiss_2048_image_is_not_reported_at_twice_its_pixel_size(cli, tmp_path):
    _zeiss_2048(tmp_path / "img" / "merlin_2048.tif")
    result = cli("ingest", str(tmp_path / "img"), "--strict", "--json")
    assert json.loads(result.stdout)["warnings"] == []
    [row] = cli.rows(PIXELS)
    assert row["x"] == pytest.approx(12.33, rel=1e-3) and row["y"] == pytest.approx(12.33, rel=1e-3)
    trail = cli.rows(TRAIL)
    assert [t["source_key"] for t in trail] == ["ap_image_pixel_size", "ap_image_pixel_size"]
    assert "chosen over ap_width" in trail[0]["conversion"]


def test_zeiss_half_size_save_scales_the_image_pixel_size_by_store_over_saved_width(tmp_path):
    # Stored at 2048 * 1536, saved 1024 wide with a 50-row data bar below the image.
    _, x = extract(_zeiss_2048(tmp_path / "half.tif", shape=(768 + 50, 1024)))
    assert x.conditions["pixel_size_x_nm"] == pytest.approx(24.66, rel=1e-3)
    assert x.conditions["pixel_size_y_nm"] == pytest.approx(24.66, rel=1e-3)
    assert x.data_bar_height_px == 50
    assert x.warnings == []


def test_zeiss_without_image_pixel_size_uses_field_width_not_the_pixel_size_key(tmp_path):
    _, x = extract(_zeiss_2048(tmp_path / "old.tif", ap_image_pixel_size=None))
    assert x.conditions["pixel_size_x_nm"] == pytest.approx(25240 / 2048)
    assert x.conditions["pixel_size_y_nm"] == pytest.approx(18930 / 1536)
    assert {s.source_key for s in x.sources if s.slot.startswith("pixel")} == {"ap_width", "ap_height"}


def test_zeiss_sources_that_disagree_are_warned_about_and_the_image_pixel_size_is_kept(tmp_path):
    _, x = extract(_zeiss_2048(tmp_path / "odd.tif", ap_width=("Width", "50.48 µm")))
    assert x.conditions["pixel_size_x_nm"] == pytest.approx(12.33)
    [warning] = [w for w in x.warnings if w.slot == "pixel_size_x_nm"]
    assert "ap_image_pixel_size" in warning.message and "ap_width" in warning.message
    assert "pixel_size_y_nm" not in warned_slots(x)  # the height agrees


def test_zeiss_unrounded_store_pixel_refines_the_written_image_pixel_size(tmp_path):
    unnamed = ("0", "0", "0", "1.23284e-008")
    path = write_zeiss_tiff(
        tmp_path / "fine.tif", texture((96, 128)), ZEISS_2048_OVERRIDES, store="128 * 96", unnamed=unnamed
    )
    _, x = extract(path)
    # 12.33 nm as written; the unrounded value rounds to it, so it is kept (ap_width disagrees: warned)
    assert x.conditions["pixel_size_x_nm"] == pytest.approx(12.3284)
    trail = {s.slot: s for s in x.sources}["pixel_size_x_nm"]
    assert trail.source_key == "[unnamed 3]" and "unrounded ap_image_pixel_size" in trail.conversion


def test_zeiss_unnamed_pixel_of_another_frame_is_not_taken(tmp_path):
    # The 2048 file's unnamed pixel (24.65 nm, a 1024 frame) does not round to 12.33 nm: not used.
    _, x = extract(_zeiss_2048(tmp_path / "z.tif"))
    assert {s.source_key for s in x.sources if s.slot.startswith("pixel")} == {"ap_image_pixel_size"}


def test_fei_navigation_camera_image_gets_its_pixel_size_from_the_active_beam(cli, tmp_path):
    write_fei_tiff(tmp_path / "img" / "navcam.tif", texture((576, 768)), FEI_NAVCAM_OVERRIDES)
    cli("ingest", str(tmp_path / "img"), "--strict")
    [row] = cli.rows(PIXELS)
    assert row["x"] == pytest.approx(0.2027e9 / 768) and row["y"] == pytest.approx(0.2027e9 / 768)
    assert {t["source_key"] for t in cli.rows(TRAIL)} == {"IRBeam/HFW"}


@pytest.mark.parametrize("beam", ["IRBeam", "CCDBeam", "NavCamBeam"])
def test_fei_camera_beams_ignore_the_stale_electron_scan(tmp_path, beam):
    overrides = {"Beam": {"Beam": beam, "Scan": ""}, beam: {"HFW": "0.01", "VFW": "0.0075"}}
    _, x = extract(write_fei_tiff(tmp_path / "cam.tif", texture((96, 128)), overrides))
    assert x.conditions["pixel_size_x_nm"] == pytest.approx(1e7 / 128)
    assert x.conditions["pixel_size_y_nm"] == pytest.approx(7.5e6 / 96)
    assert "dwell_time_us" not in x.conditions  # the [Scan] dwell is the electron scan's
    assert x.warnings == []


def test_fei_scan_section_named_but_missing_falls_back_to_field_width(tmp_path):
    overrides = {"Beam": {"Scan": "IScan"}, "Scan": {"PixelWidth": None, "PixelHeight": None}}
    _, x = extract(write_fei_tiff(tmp_path / "noscan.tif", texture((96, 128)), overrides))
    assert x.conditions["pixel_size_x_nm"] == pytest.approx(102400 / 128)
    assert {s.source_key for s in x.sources if s.slot == "pixel_size_x_nm"} == {"EBeam/HFW"}


def test_fei_without_beam_section_reads_the_electron_sections(tmp_path):
    overrides = {"Beam": {"Beam": None, "Scan": None}}
    _, x = extract(write_fei_tiff(tmp_path / "old.tif", texture((96, 128)), overrides))
    assert x.conditions["pixel_size_x_nm"] == pytest.approx(800.0)
    assert {s.source_key for s in x.sources if s.slot == "pixel_size_x_nm"} == {"EScan/PixelWidth"}


def test_fei_pixel_width_that_disagrees_with_the_field_width_is_warned_about(tmp_path):
    overrides = {"EScan": {"PixelWidth": "2e-06"}}
    _, x = extract(write_fei_tiff(tmp_path / "odd.tif", texture((96, 128)), overrides))
    assert x.conditions["pixel_size_x_nm"] == pytest.approx(2000.0)
    assert any("EBeam/HFW" in w.message for w in x.warnings if w.slot == "pixel_size_x_nm")

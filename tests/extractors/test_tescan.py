from __future__ import annotations

from datetime import datetime

import pytest

from fairmicro.errors import UnreadableFileError
from fairmicro.extractors.registry import extract_file
from fairmicro.testing.samples import texture
from fairmicro.testing.vendor_samples import (
    write_raw_tag_tiff,
    write_tescan_pair,
    write_tescan_tiff,
)
from tests.extractors.helpers import extract, warned_slots

EXPECTED = {
    "detector": "SE",
    "accelerating_voltage_kv": 15.0,
    "beam_current_na": pytest.approx(0.3),
    "working_distance_mm": pytest.approx(6.2),
    "dwell_time_us": pytest.approx(3.2),
    "magnification": 25000.0,
    "pixel_size_x_nm": pytest.approx(8.5),
    "pixel_size_y_nm": pytest.approx(8.5),
    "stage_x_mm": pytest.approx(12.3),
    "stage_y_mm": pytest.approx(-4.5),
    "stage_z_mm": pytest.approx(30.1),
    "stage_rotation_deg": 45.0,
    "stage_tilt_deg": 0.0,
    "acquired_at": datetime(2024, 2, 7, 14, 3, 22),
    "operator": "Ada Lovelace",
}


@pytest.mark.parametrize(
    ("writer", "name", "origin"),
    [
        (lambda p: write_tescan_tiff(p / "blocks.tif"), "blocks.tif", "TIFF tag 50431"),
        (lambda p: write_tescan_tiff(p / "big.tif", byteorder=">"), "big.tif", "TIFF tag 50431"),
        (lambda p: write_tescan_tiff(p / "ini.tif", layout="ini"), "ini.tif", "TIFF tag 50431"),
        (lambda p: write_tescan_pair(p / "lyra.png"), "lyra.png", "sidecar lyra-png.hdr"),
        (lambda p: write_tescan_pair(p / "mira.tif"), "mira.tif", "sidecar mira-tif.hdr"),
        (
            lambda p: write_tescan_pair(p / "plain.jpg", hdr_name="{stem}.hdr"),
            "plain.jpg",
            "sidecar plain.hdr",
        ),
    ],
    ids=["tag-blocks", "tag-blocks-big-endian", "tag-ini", "png+hdr", "tif+hdr", "jpg+stem.hdr"],
)
def test_every_layout_gives_the_same_normalised_values(tmp_path, writer, name, origin):
    writer(tmp_path)
    extractor, x = extract(tmp_path / name)
    assert extractor == "tescan"
    assert (x.vendor, x.instrument_model, x.instrument_serial) == (
        "TESCAN",
        "TESCAN MIRA",
        "117-0123",
    )
    assert x.conditions == EXPECTED
    assert x.vendor_metadata["_source"] == origin
    assert x.vendor_metadata["SEM"]["HV"] == "15000"
    assert x.warnings == []


def test_trail_names_section_key_raw_value_and_conversion(tmp_path):
    _, x = extract(write_tescan_tiff(tmp_path / "t.tif"))
    trail = {s.slot: s for s in x.sources}
    assert (trail["working_distance_mm"].source_key, trail["working_distance_mm"].raw_value) == (
        "SEM/WD",
        "0.0062",
    )
    assert trail["working_distance_mm"].conversion == "m -> mm"
    assert trail["accelerating_voltage_kv"].source_key == "SEM/HV"


def test_tag_wins_over_sidecar(tmp_path):
    path = write_tescan_tiff(tmp_path / "both.tif")
    (tmp_path / "both.hdr").write_text("[MAIN]\nPixelSizeX=1e-06\n[SEM]\nHV=30000\n")
    _, x = extract(path)
    assert x.conditions["accelerating_voltage_kv"] == 15.0
    assert x.vendor_metadata["_source"] == "TIFF tag 50431"


@pytest.mark.parametrize("rows", [0, 12])
def test_info_strip_is_recorded_as_the_data_bar(tmp_path, rows):
    _, x = extract(write_tescan_tiff(tmp_path / "strip.tif", strip_rows=rows))
    assert (x.height_px, x.data_bar_height_px) == (96 + rows, rows)


def test_sem_section_wins_when_both_beams_are_written(tmp_path):
    path = write_tescan_tiff(tmp_path / "dual.tif", overrides={"FIB": {"HV": "30000", "WD": "0.012"}})
    _, x = extract(path)
    assert (x.conditions["accelerating_voltage_kv"], x.conditions["working_distance_mm"]) == (
        15.0,
        6.2,
    )


def test_fib_only_block_is_read(tmp_path):
    path = write_tescan_pair(tmp_path / "fib.tif", hdr_text="[MAIN]\nPixelSizeX=2e-09\n[FIB]\nHV=30000\nWD=0.012\n")
    _, x = extract(path)
    assert (x.conditions["accelerating_voltage_kv"], x.conditions["working_distance_mm"]) == (
        30.0,
        12.0,
    )


def test_date_without_time_is_kept_as_a_date(tmp_path):
    _, x = extract(write_tescan_tiff(tmp_path / "d.tif", overrides={"MAIN": {"Time": None}}))
    assert x.conditions["acquired_at"] == datetime(2024, 2, 7)
    assert x.warnings == []


@pytest.mark.parametrize(
    ("section", "key", "raw", "slot"),
    [
        ("SEM", "WD", "6,2 mm", "working_distance_mm"),
        ("SEM", "DwellTime", "fast", "dwell_time_us"),
        ("MAIN", "PixelSizeX", "0", "pixel_size_x_nm"),
        ("MAIN", "PixelSizeY", "-5e-9", "pixel_size_y_nm"),
        ("MAIN", "Date", "07.02.2024", "acquired_at"),
        ("MAIN", "ImageStripSize", "wide", "data_bar_height_px"),
        ("MAIN", "ImageStripSize", "500", "data_bar_height_px"),
    ],
)
def test_garbage_value_is_left_empty_with_a_warning(tmp_path, section, key, raw, slot):
    _, x = extract(write_tescan_tiff(tmp_path / "bad.tif", overrides={section: {key: raw}}))
    assert slot not in x.conditions
    assert slot in warned_slots(x)
    assert x.conditions["magnification"] == 25000.0


def test_unreadable_tag_is_named_in_a_warning(tmp_path):
    path = write_raw_tag_tiff(tmp_path / "bad.tif", 50431, b"\x09\x00\x00\x00\x02\x00PixelSizeX=" + bytes(range(200)))
    name, x = extract(path)
    assert name == "tescan"
    assert x.conditions == {}
    assert "vendor_metadata" in warned_slots(x)


@pytest.mark.parametrize("hdr_text", ["ENVI\nsamples = 128\n", "[Main settings]\nPixelSizeX=1\n"])
def test_other_hdr_files_are_not_tescan(tmp_path, hdr_text):
    path = write_tescan_pair(tmp_path / "other.tif", hdr_text=hdr_text, hdr_name="{stem}.hdr")
    assert extract(path)[0] == "generic"


def test_a_bare_hdr_is_not_an_image(tmp_path):
    hdr = tmp_path / "alone.hdr"
    hdr.write_text("[MAIN]\nPixelSizeX=5e-08\n")
    with pytest.raises(UnreadableFileError, match="not a TIFF"):
        extract_file(hdr)


@pytest.mark.real_data
def test_real_hdr_sample_paired_with_a_generated_image(real_tiffs, tmp_path):
    # The real sample is a header only; pair it (by symlink, not copy) with a generated image.
    image = write_tescan_pair(tmp_path / "solaris.tif", data=texture((64, 64)), hdr_text="")
    (tmp_path / "solaris-tif.hdr").unlink()
    (tmp_path / "solaris.hdr").symlink_to(real_tiffs / "tescan" / "tescan-minimal.hdr")
    name, x = extract(image)
    assert name == "tescan"
    assert x.instrument_model == "TESCAN SOLARIS X"
    assert x.conditions["pixel_size_x_nm"] == pytest.approx(50.0)
    assert x.conditions["pixel_size_y_nm"] == pytest.approx(50.0)
    assert x.conditions["accelerating_voltage_kv"] == pytest.approx(5.0)
    assert x.conditions["detector"] == "SE"
    assert x.conditions["acquired_at"].date().isoformat() == "2024-02-07"
    assert x.warnings == []

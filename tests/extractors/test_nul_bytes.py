"""A NUL byte inside a vendor text block never cuts a value short or hides the keys after it.

Every text-block vendor (Zeiss CZ_SEM, FEI INI, TESCAN tag and ``.hdr``, JEOL
and Hitachi sidecars) gets the same damage in its real place in a file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fairmicro.testing import samples
from fairmicro.testing import vendor_samples as vs
from tests.extractors.helpers import extract, warned_slots

IMAGE = samples.texture((48, 64))


def _tag(code: int, encoding: str = "latin-1") -> Callable[[Path, str], Path]:
    return lambda folder, text: vs.write_raw_tag_tiff(folder / "tagged.tif", code, text.encode(encoding), IMAGE)


def _sidecar(image: str, sidecar: str, encoding: str = "latin-1") -> Callable[[Path, str], Path]:
    def write(folder: Path, text: str) -> Path:
        path = vs.write_image(folder / image, IMAGE)
        raw = b"\xff\xfe" + text.encode("utf-16-le") if encoding == "utf-16" else text.encode(encoding)
        (folder / sidecar).write_bytes(raw)
        return path

    return write


# vendor -> (valid block, the voltage line as written, writer, a slot read from a line after it)
# (the voltage's fallback keys are dropped, so an empty slot shows the damaged line was not read)
TESCAN_TEXT = vs.ini_text(samples.merge_sections(vs.TESCAN_DEFAULTS, {"SEM": {"AcceleratorVoltage": None}}))
CASES = {
    "zeiss": (samples.zeiss_block(), "EHT = 15.00 kV", _tag(samples.ZEISS_TAG), "stage_x_mm"),
    "fei": (samples.fei_block({"Beam": {"HV": None}}), "HV=20000", _tag(samples.FEI_TAG), "working_distance_mm"),
    "tescan-tag": (TESCAN_TEXT, "HV=15000", _tag(vs.TESCAN_TAG), "working_distance_mm"),
    "tescan-hdr": (TESCAN_TEXT, "HV=15000", _sidecar("img.png", "img-png.hdr"), "working_distance_mm"),
    "jeol": (vs.jeol_text(), "$CM_ACCEL_VOLT 15.00", _sidecar("img.bmp", "img.txt"), "working_distance_mm"),
    "hitachi": (
        vs.ini_text(vs.HITACHI_DEFAULTS),
        "AcceleratingVoltage=15000 Volt",
        _sidecar("img.tif", "img.txt", "utf-16"),
        "working_distance_mm",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_nul_inside_a_value_leaves_it_empty_and_reads_the_keys_after_it(tmp_path, case):
    text, line, write, later = CASES[case]
    assert line in text
    clean_name, clean = extract(write(tmp_path, text))
    value_at = line.rfind("=") + 1 if "=" in line else line.index(" ") + 1
    value_at += len(line[value_at:]) - len(line[value_at:].lstrip())
    damaged_line = line[: value_at + 2] + "\x00" + line[value_at + 2 :]
    name, x = extract(write(tmp_path, text.replace(line, damaged_line)))
    assert name == clean_name
    assert "accelerating_voltage_kv" not in x.conditions  # never 0.02 kV or 0.015 kV
    assert "accelerating_voltage_kv" in warned_slots(x)
    assert x.conditions[later] == clean.conditions[later]
    assert {k: v for k, v in x.conditions.items() if k != "accelerating_voltage_kv"} == {
        k: v for k, v in clean.conditions.items() if k != "accelerating_voltage_kv"
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_leading_and_trailing_nul_padding_loses_nothing(tmp_path, case):
    text, _, write, _ = CASES[case]
    _, clean = extract(write(tmp_path, text))
    _, padded = extract(write(tmp_path, "\x00\x00" + text.replace("\r\n", "\x00\r\n") + "\x00" * 16))
    assert padded.conditions == clean.conditions
    assert padded.conditions  # the block was read at all
    assert padded.warnings == clean.warnings


def test_fei_voltage_with_a_nul_is_not_stored_as_millivolts(cli, tmp_path):
    block = samples.fei_block({"Beam": {"HV": None}}).replace("HV=20000", "HV=20\x00000")
    vs.write_raw_tag_tiff(tmp_path / "img" / "nul.tif", samples.FEI_TAG, block.encode("latin-1"))
    cli("ingest", str(tmp_path / "img"))
    [row] = cli.rows(
        "SELECT accelerating_voltage_kv, working_distance_mm, detector, extraction_warnings FROM image_metadata"
    )
    assert row["accelerating_voltage_kv"] is None
    assert row["working_distance_mm"] == pytest.approx(10.1) and row["detector"] == "ETD"
    assert "NUL" in row["extraction_warnings"]


def test_zeiss_block_with_a_leading_nul_is_read(cli, tmp_path):
    block = "\x00" + samples.zeiss_block()
    vs.write_raw_tag_tiff(tmp_path / "img" / "lead.tif", samples.ZEISS_TAG, block.encode("latin-1"))
    cli("ingest", str(tmp_path / "img"), "--strict")
    [row] = cli.rows("SELECT vendor, accelerating_voltage_kv, magnification FROM image_metadata")
    assert row == {"vendor": "Zeiss", "accelerating_voltage_kv": 15.0, "magnification": 2000.0}

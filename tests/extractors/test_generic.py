from __future__ import annotations

import numpy as np
import pytest
import tifffile

from fairmicro.testing.samples import texture, write_imagej_tiff, write_png
from tests.extractors.helpers import extract


def test_imagej_calibration_gives_pixel_size(tmp_path):
    name, x = extract(write_imagej_tiff(tmp_path / "ij.tif", pixel_size_um=0.25))
    assert name == "generic"
    assert x.conditions["pixel_size_x_nm"] == pytest.approx(250.0)
    assert x.bit_depth == 16


def test_centimetre_resolution_is_a_calibration(tmp_path):
    path = tmp_path / "cm.tif"
    tifffile.imwrite(path, texture((32, 32)), resolution=(20000, 20000), resolutionunit="CENTIMETER")
    _, x = extract(path)
    assert x.conditions["pixel_size_x_nm"] == pytest.approx(500.0)


def test_inch_resolution_is_not_taken_for_a_calibration(tmp_path):
    path = tmp_path / "dpi.tif"
    tifffile.imwrite(path, texture((32, 32)), resolution=(72, 72), resolutionunit="INCH")
    _, x = extract(path)
    assert "pixel_size_x_nm" not in x.conditions


def test_png_16_bit(tmp_path):
    data = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 13
    name, x = extract(write_png(tmp_path / "p.png", data))
    assert (name, x.file_format, x.bit_depth, x.channels, x.width_px) == ("generic", "png", 16, 1, 64)


def test_rgb_tiff_channels(tmp_path):
    path = tmp_path / "rgb.tif"
    tifffile.imwrite(path, np.zeros((8, 9, 3), np.uint8), photometric="rgb")
    _, x = extract(path)
    assert (x.channels, x.width_px, x.height_px) == (3, 9, 8)

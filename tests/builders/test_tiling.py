"""Tiling: grid origins and counts, data-bar crop, mask alignment and mask-guided tiles."""

from __future__ import annotations

import numpy as np
import pytest

from fairmicro.builders.tiling import (
    TilingSpec,
    align_mask,
    crop_data_bar,
    grid_origins,
    tile_count,
    tiles,
)
from fairmicro.errors import DatasetBuildError


@pytest.mark.parametrize(
    ("height", "width", "tile", "stride", "expected"),
    [
        (64, 64, 32, None, [(0, 0), (0, 32), (32, 0), (32, 32)]),
        (64, 64, 32, 16, [(y, x) for y in (0, 16, 32) for x in (0, 16, 32)]),
        (40, 70, 32, None, [(0, 0), (0, 32)]),  # partial edge tiles are dropped
        (31, 64, 32, None, []),  # image smaller than a tile
        (48, 64, 48, 5, [(0, 0), (0, 5), (0, 10), (0, 15)]),
    ],
)
def test_grid_origins_and_count(height: int, width: int, tile: int, stride: int | None, expected: list) -> None:
    spec = TilingSpec(tile=tile, stride=stride)
    assert list(grid_origins(height, width, tile, spec.step)) == expected
    assert tile_count(height, width, spec) == len(expected)
    produced = list(tiles(np.zeros((height, width), np.uint8), spec))
    assert [(t.y, t.x) for t in produced] == expected
    assert all(t.pixels.shape == (tile, tile) for t in produced)


def test_whole_image_is_one_tile() -> None:
    image = np.arange(12, dtype=np.uint16).reshape(3, 4)
    (only,) = tiles(image, TilingSpec())
    assert (only.x, only.y) == (0, 0)
    np.testing.assert_array_equal(only.pixels, image)


def test_tile_pixels_are_the_right_window() -> None:
    image = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64)
    found = {(t.y, t.x): t.pixels for t in tiles(image, TilingSpec(tile=16, stride=24))}
    np.testing.assert_array_equal(found[(24, 48)], image[24:40, 48:64])


@pytest.mark.parametrize(("bar", "rows"), [(None, 10), (0, 10), (3, 7)])
def test_crop_data_bar(bar: int | None, rows: int) -> None:
    image = np.arange(10 * 4).reshape(10, 4)
    cropped = crop_data_bar(image, bar)
    assert cropped.shape == (rows, 4)
    np.testing.assert_array_equal(cropped, image[:rows])


def test_crop_refuses_a_bar_as_tall_as_the_image() -> None:
    with pytest.raises(DatasetBuildError, match="data bar"):
        crop_data_bar(np.zeros((5, 5)), 5)


@pytest.mark.parametrize(("mask_rows", "bar", "ok"), [(10, 0, True), (12, 2, True), (12, 0, False), (9, 1, False)])
def test_align_mask(mask_rows: int, bar: int, ok: bool) -> None:
    mask = np.zeros((mask_rows, 6), np.uint8)
    if ok:
        assert align_mask(mask, (10, 6), bar).shape == (10, 6)
    else:
        with pytest.raises(DatasetBuildError, match="does not fit"):
            align_mask(mask, (10, 6), bar)


def _two_phase_mask() -> np.ndarray:
    mask = np.zeros((32, 32), np.uint8)
    mask[:, 16:] = 1  # left half class 0, right half class 1
    mask[20:, 8:24] = 2  # a blob crossing the tile borders
    return mask


@pytest.mark.parametrize(
    ("purity", "classes", "expected"),
    [
        (1.0, {}, [(0, 0, None), (0, 16, None)]),
        (1.0, {1: "graphite"}, [(0, 16, "graphite")]),
        (
            0.75,
            {0: "matrix", 1: "graphite"},
            [(0, 0, "matrix"), (0, 16, "graphite")],
        ),  # bottom row: 62.5%
        (
            0.6,
            {0: "matrix", 1: "graphite"},
            [(0, 0, "matrix"), (0, 16, "graphite"), (16, 0, "matrix"), (16, 16, "graphite")],
        ),
    ],
)
def test_mask_guided_tiles(purity: float, classes: dict, expected: list) -> None:
    spec = TilingSpec(tile=16, mask_guided=True, min_purity=purity, mask_classes=classes)
    found = [(t.y, t.x, t.mask_label) for t in tiles(np.zeros((32, 32), np.uint8), spec, _two_phase_mask())]
    assert found == expected


@pytest.mark.parametrize(
    "kwargs",
    [
        {"tile": 0},
        {"stride": 4},
        {"tile": 8, "stride": 0},
        {"mask_guided": True, "min_purity": 0},
        {"mask_classes": {1: "x"}},
    ],
)
def test_bad_settings_are_refused(kwargs: dict) -> None:
    with pytest.raises(DatasetBuildError):
        TilingSpec(**kwargs)

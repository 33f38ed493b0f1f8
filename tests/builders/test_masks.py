"""Mask-guided tiles from the catalog's mask annotations or a mask folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from fairmicro.builders import BuildConfig, SplitSpec, TilingSpec, build_dataset
from fairmicro.catalog import Catalog
from fairmicro.errors import DatasetBuildError

TILE = 16


def _mask(shape: tuple[int, int]) -> np.ndarray:
    """Left half graphite (1), right half matrix (0), one mixed 8-px stripe in the middle."""
    mask = np.zeros(shape, np.uint8)
    mask[:, : shape[1] // 2] = 1
    mask[:, shape[1] // 2 - 4 : shape[1] // 2 + 4] = 2  # a third phase straddling the tile border
    return mask


def _write_masks(catalog_path: Path, folder: Path, register: bool) -> int:
    folder.mkdir()
    with Catalog.open(catalog_path) as catalog:
        rows = catalog.query("SELECT sha256, path, height_px, width_px, data_bar_height_px FROM images").rows
        for n, (sha, path, height, width, bar) in enumerate(rows):
            target = folder / f"{Path(path).stem}.png"
            Image.fromarray(_mask((height - (bar or 0), width))).save(target)
            if register:
                catalog.con.execute(
                    "INSERT INTO annotations (annotation_id, image_sha256, annotation_kind, mask_path) VALUES (?, ?, ?, ?)",
                    [f"mask-{n}", sha, "mask", str(target)],
                )
    return len(rows)


@pytest.mark.parametrize("source", ["annotations", "mask_dir"])
def test_mask_guided_tiles_take_their_label_from_the_mask(make_catalog, tmp_path: Path, source: str) -> None:
    catalog_path = make_catalog(specimens_per_class=2, shape=(32, 64), bar_rows=4)
    images = _write_masks(catalog_path, tmp_path / "masks", register=source == "annotations")
    config = BuildConfig(
        name="phases",
        out=tmp_path / "out",
        validate=False,
        splits=SplitSpec((0.5, 0.5), split_by="sha256"),
        tiling=TilingSpec(tile=TILE, mask_guided=True, mask_classes={0: "matrix", 1: "graphite"}),
        mask_dir=tmp_path / "masks" if source == "mask_dir" else None,
    )
    with Catalog.open(catalog_path) as catalog:
        result = build_dataset(catalog, config)
    assert result.info.class_names == ["graphite", "matrix"]
    table = pq.ParquetDataset(sorted((tmp_path / "out" / "data").glob("*.parquet"))).read()
    # 64 px wide: tiles at x=0 (graphite), 16 (mixed, dropped), 32 (mixed, dropped), 48 (matrix); 2 rows
    assert sorted(set(zip(table.column("tile_x_px").to_pylist(), table.column("label").to_pylist()))) == [
        (0, 0),
        (48, 1),
    ]
    assert table.num_rows == images * 2 * 2


def test_a_build_without_any_mask_is_refused(make_catalog, tmp_path: Path) -> None:
    catalog_path = make_catalog(specimens_per_class=2, shape=(32, 64))
    (tmp_path / "empty").mkdir()
    config = BuildConfig(
        name="nomask",
        out=tmp_path / "out",
        validate=False,
        splits=SplitSpec((1.0,), allow_empty_class=True),
        mask_dir=tmp_path / "empty",
        tiling=TilingSpec(tile=TILE, mask_guided=True),
    )
    with (
        Catalog.open(catalog_path) as catalog,
        pytest.raises(DatasetBuildError, match=r"no rows \(.*have no mask"),
    ):
        build_dataset(catalog, config)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("kind", ["predicted", "colour"])
def test_predicted_and_colour_masks_do_not_guide_tiles(make_catalog, tmp_path: Path, kind: str) -> None:
    """A model's predicted mask is not ground truth, and a colour map holds RGB values, not class values."""
    catalog_path = make_catalog(specimens_per_class=2, shape=(32, 64), bar_rows=4)
    _write_masks(catalog_path, tmp_path / "masks", register=True)
    column, value = ("mask_source", "predicted") if kind == "predicted" else ("mask_encoding", "colour_map")
    with Catalog.open(catalog_path) as catalog:
        catalog.con.execute(f"UPDATE annotations SET {column} = ?", [value])
    config = BuildConfig(
        name="phases",
        out=tmp_path / "out",
        validate=False,
        splits=SplitSpec((1.0,), allow_empty_class=True),
        tiling=TilingSpec(tile=TILE, mask_guided=True, mask_classes={0: "matrix", 1: "graphite"}),
    )
    with (
        Catalog.open(catalog_path) as catalog,
        pytest.raises(DatasetBuildError, match=r"no rows \(.*have no mask"),
    ):
        build_dataset(catalog, config)
    assert not (tmp_path / "out").exists()

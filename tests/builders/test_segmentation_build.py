"""`fairmicro build ... --task segmentation`: image + mask rows, class map with the dataset, real ebc2 end to end."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from fairmicro.builders.segmentation import mask_classes
from tests.catalog.test_masks_ingest import H, W, phases, write_set

EBC2 = Path(__file__).resolve().parents[3] / "shared" / "data" / "segmentation" / "ebc2"


def table(out: Path):
    return pq.ParquetDataset(sorted((out / "data").glob("*.parquet"))).read()


def png(cell: dict) -> np.ndarray:
    with Image.open(io.BytesIO(cell["bytes"])) as image:
        assert image.mode in ("L", "I;16", "RGB")
        return np.asarray(image)


def build(cli, out: Path, *extra: str, check: bool = True):
    return cli(
        "build",
        "seg",
        "--task",
        "segmentation",
        "--license",
        "MIT",
        "--out",
        str(out),
        "--no-validate",
        *extra,
        check=check,
    )


def test_whole_images_with_masks_and_the_missing_rows_ignored(cli, tmp_path):
    truth = write_set(tmp_path, ["a", "b", "c", "d#1 µ"])
    Image.fromarray(phases(0, shape=(H - 6, W))).save(tmp_path / "masks" / "a.png")  # 6 rows short
    Image.fromarray(phases(0)).save(tmp_path / "images" / "no mask.png")
    cli("ingest", str(tmp_path / "images"), "--masks", str(tmp_path / "masks"), "--mask-classes", "bg,ferrite,pearlite")
    result = build(cli, tmp_path / "out")
    assert "1 selected image(s) have no mask and are left out" in result.stdout + result.stderr
    rows = table(tmp_path / "out").to_pylist()
    assert sorted(r["file_name"] for r in rows) == sorted(truth)
    for row in rows:
        mask, image = png(row["mask"]), png(row["image"])
        assert mask.shape == image.shape[:2] == (H, W) == (row["image_height_px"], row["image_width_px"])
        expected = truth[row["file_name"]].copy()
        if row["file_name"] == "a.png":
            expected[H - 6 :] = 255
        assert (mask == expected).all()
        assert "label" not in row and (row["tile_x_px"], row["tile_y_px"]) == (0, 0)
    import datasets

    loaded = datasets.load_dataset(str(tmp_path / "out"))
    assert mask_classes(loaded) == mask_classes(tmp_path / "out") == ["bg", "ferrite", "pearlite"]
    first = next(iter(loaded.values()))[0]
    assert first["mask"].mode == "L"
    card = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    assert "image-segmentation" in card and "| ferrite | 1 |" in card


def test_tiles_cut_image_and_mask_alike(cli, tmp_path):
    truth = write_set(tmp_path, ["a", "b"])
    cli("ingest", str(tmp_path / "images"), "--masks", str(tmp_path / "masks"), "--mask-classes", "x,y,z")
    build(cli, tmp_path / "out", "--tile", "8", "--splits", "1")
    rows = table(tmp_path / "out").to_pylist()
    assert len(rows) == 2 * (H // 8) * (W // 8)
    for row in rows:
        y, x = row["tile_y_px"], row["tile_x_px"]
        assert (png(row["mask"]) == truth[row["file_name"]][y : y + 8, x : x + 8]).all()


def test_nothing_with_a_mask_is_one_line_and_no_output(cli, tmp_path):
    write_set(tmp_path, ["a"])
    cli("ingest", str(tmp_path / "images"))
    result = build(cli, tmp_path / "out", check=False)
    assert result.returncode == 1 and "has a mask" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_a_mask_changed_after_ingest_stops_the_build(cli, tmp_path):
    write_set(tmp_path, ["a"])
    cli("ingest", str(tmp_path / "images"), "--masks", str(tmp_path / "masks"), "--mask-classes", "x,y,z")
    Image.fromarray(phases(1)).save(tmp_path / "masks" / "a.png")
    result = build(cli, tmp_path / "out", "--splits", "1", check=False)
    assert result.returncode == 1 and "content changed since it was paired" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_real_ebc2_ingest_and_build_with_defaults(cli, tmp_path):
    if not EBC2.is_dir():
        pytest.skip(f"real segmentation samples not found at {EBC2}")
    for split in ("train", "val", "test"):
        cli(
            "ingest",
            str(EBC2 / split),
            "--masks",
            str(EBC2 / f"{split}_annot"),
            "--mask-classes",
            "background,oxide,crack",
        )
    summary = json.loads(
        cli(
            "build", "ebc2", "--task", "segmentation", "--license", "MIT", "--out", str(tmp_path / "out"), "--json"
        ).stdout
    )
    assert summary
    rows = table(tmp_path / "out").to_pylist()
    assert len(rows) == 10
    import tifffile

    for row in rows:
        source = next(EBC2.glob(f"*_annot/{row['file_name']}"))
        assert (png(row["mask"]) == tifffile.imread(source)).all()
    assert mask_classes(tmp_path / "out") == ["background", "oxide", "crack"]

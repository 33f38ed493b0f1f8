"""`predict` prepares new images exactly as `build` prepared the training rows (one model-input function).

Builds, training and predict run as users run them (the CLI, or the public API
for a spy that sees what the model is fed); the tiles the model gets at predict
time are compared pixel for pixel with the dataset's rows of the same image.
"""

from __future__ import annotations

import io
import json
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml
from PIL import Image

from fairmicro.models import labelling
from fairmicro.models.labelling import predict_catalog
from fairmicro.models.runner import train
from fairmicro.testing.samples import texture, write_png
from tests.builders.conftest import write_collection
from tests.conftest import Cli

PATTERN = r"(?P<specimen_id>S\d{3})_"
FAST = {"distances": [1], "levels": 32, "select_k": ["all"], "cv_folds": 2, "mode": "texture"}
BAR = 8


class Spy:
    """Wraps a fitted model and keeps every image it is asked to predict."""

    def __init__(self, model: Any) -> None:
        self.model, self.fed = model, []
        self.classes_, self.metadata_columns_, self.version = model.classes_, model.metadata_columns_, model.version
        self.task = model.task

    def predict_proba(self, data: Any) -> np.ndarray:
        self.fed += [np.asarray(image) for image in data["image"]]
        return self.model.predict_proba(data)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> list[Spy]:
    spies: list[Spy] = []
    real = labelling.load_model

    def load(run: dict[str, Any]) -> Spy:
        spies.append(Spy(real(run)))
        return spies[-1]

    monkeypatch.setattr(labelling, "load_model", load)
    return spies


def _dataset_tiles(out: Path) -> dict[str, list[np.ndarray]]:
    """Every row's pixels per source image, in the build's (row-major) order."""
    tiles: dict[str, list[tuple[int, int, np.ndarray]]] = defaultdict(list)
    for shard in sorted((out / "data").glob("*.parquet")):
        for row in pq.read_table(shard).to_pylist():
            pixels = np.asarray(Image.open(io.BytesIO(row["image"]["bytes"])))
            tiles[row["image_sha256"]].append((row["tile_y_px"], row["tile_x_px"], pixels))
    return {sha: [p for _, _, p in sorted(found, key=lambda t: t[:2])] for sha, found in tiles.items()}


def _fed_per_image(spy: Spy, shas: list[str], counts: list[int]) -> dict[str, list[np.ndarray]]:
    fed, start = {}, 0
    for sha, count in zip(shas, counts, strict=True):
        fed[sha], start = spy.fed[start : start + count], start + count
    assert start == len(spy.fed)
    return fed


@pytest.fixture
def tiff_build(cli: Cli, tmp_path: Path) -> Path:
    """FEI/Zeiss TIFFs, half with an 8-row data bar, built with --tile 64 --stride 32 and the bar kept."""
    table = write_collection(tmp_path / "images", shape=(120, 128), bar_rows=BAR, specimens_per_class=3)
    cli(
        "ingest",
        str(tmp_path / "images"),
        "--specimens",
        str(table),
        "--specimen-pattern",
        PATTERN,
        "--label-from-folder",
    )
    cli(
        "build",
        "tiles64",
        "--tile",
        "64",
        "--stride",
        "32",
        "--keep-data-bar",
        "--license",
        "CC-BY-4.0",
        "--out",
        "ds",
        "--no-validate",
    )
    return tmp_path / "ds"


def _assert_predict_matches_dataset(cli: Cli, dataset: Path, spy: list[Spy], run_id: str) -> None:
    expected = _dataset_tiles(dataset)
    result = predict_catalog(run_id, "TRUE", accept=1.0, catalog=cli.catalog)
    [model] = spy
    shas = sorted(expected)  # predict reads the selection in sha256 order, as the build does
    assert result.predicted == len(shas)
    fed = _fed_per_image(model, shas, [len(expected[s]) for s in shas])
    for sha in shas:
        assert len(fed[sha]) == len(expected[sha])
        for got, want in zip(fed[sha], expected[sha], strict=True):
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)


@pytest.mark.slow
def test_predict_feeds_the_model_the_tiles_the_dataset_holds_for_the_same_image(
    cli: Cli, tiff_build: Path, spy: list[Spy]
) -> None:
    barred = cli.rows("SELECT count(*) AS n FROM image_metadata WHERE data_bar_height_px > 0")
    assert barred[0]["n"] > 0  # the data bar is there, and kept by the build
    run_id = train("texture", str(tiff_build), FAST, catalog=cli.catalog, runs_dir=cli.cwd / "runs").run_id
    _assert_predict_matches_dataset(cli, tiff_build, spy, run_id)
    # uncropped 128-row images at stride 32 give 3 tile rows; cropping the bar, or stride 64, would not
    assert max(len(t) for t in _dataset_tiles(tiff_build).values()) == 3 * 3


@pytest.mark.slow
def test_a_dataset_without_catalog_record_carries_its_plan_in_its_card(
    cli: Cli, tiff_build: Path, spy: list[Spy]
) -> None:
    # a Hub snapshot is a folder the catalog never built: the plan must come from the files
    snapshot = cli.cwd / "snapshot"
    shutil.copytree(tiff_build, snapshot)
    header = yaml.safe_load((snapshot / "README.md").read_text(encoding="utf-8").split("---\n")[1])
    assert header["fairmicro"]["model_input"] == {
        "tile": 64,
        "stride": 32,
        "crop_data_bar": False,
        "crop_bottom": 0,
    }
    run_id = train("texture", str(snapshot), FAST, catalog=cli.catalog, runs_dir=cli.cwd / "runs").run_id
    [run] = cli.rows(f"SELECT parameters FROM model_runs WHERE run_id = '{run_id}'")
    parameters = json.loads(run["parameters"])
    assert parameters["input_plan"] == header["fairmicro"]["model_input"]
    assert parameters["dataset_fingerprint"] == header["fairmicro"]["fingerprint"]
    _assert_predict_matches_dataset(cli, tiff_build, spy, run_id)


# ------------------------------------------------------------ --crop-bottom


def _png_collection(cli: Cli, folder: Path, bar: int = 12, shape: tuple[int, int] = (80, 96)) -> None:
    """Grey PNG exports (no vendor metadata) with a white burnt-in data bar, two classes."""
    for kind, label in enumerate(("ferrite", "pearlite")):
        for k in range(6):
            pixels = texture(shape, kind=kind, seed=10 * kind + k)
            pixels[-bar:] = 255
            write_png(folder / label / f"{label}_{k}.png", pixels)
    cli("ingest", str(folder), "--label-from-folder")


@pytest.mark.slow
def test_crop_bottom_removes_a_png_data_bar_at_build_and_predict(cli: Cli, tmp_path: Path, spy: list[Spy]) -> None:
    _png_collection(cli, tmp_path / "pngs")
    assert cli.rows("SELECT max(data_bar_height_px) AS bar FROM image_metadata") == [{"bar": None}]
    cli("build", "pngs", "--crop-bottom", "12", "--license", "CC-BY-4.0", "--out", "ds", "--no-validate")
    tiles = _dataset_tiles(tmp_path / "ds")
    assert {t.shape for rows in tiles.values() for t in rows} == {(68, 96)}
    assert all((t[-1] != 255).any() for rows in tiles.values() for t in rows)  # no bar row left
    [build] = cli.rows("SELECT parameters FROM datasets")
    assert json.loads(build["parameters"])["crop_bottom"] == 12
    assert "--crop-bottom 12" in (tmp_path / "ds" / "README.md").read_text(encoding="utf-8")
    run_id = train("texture", str(tmp_path / "ds"), FAST, catalog=cli.catalog, runs_dir=tmp_path / "runs").run_id
    _assert_predict_matches_dataset(cli, tmp_path / "ds", spy, run_id)


@pytest.mark.parametrize(
    ("crop", "message"),
    [("-5", "--crop-bottom -5"), ("80", "leaves nothing"), ("100000", "leaves nothing")],
)
def test_a_crop_that_is_negative_or_taller_than_the_image_builds_nothing(
    cli: Cli, tmp_path: Path, crop: str, message: str
) -> None:
    _png_collection(cli, tmp_path / "pngs")
    result = cli("build", "pngs", "--crop-bottom", crop, "--license", "MIT", "--out", "ds", check=False)
    assert result.returncode == 1 and result.stderr.startswith("error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "ds").exists() and not list(tmp_path.glob(".ds.*"))
    assert cli.rows("SELECT count(*) AS n FROM datasets") == [{"n": 0}]


@pytest.mark.slow
def test_predict_skips_images_too_small_for_the_recorded_tile(cli: Cli, tiff_build: Path) -> None:
    run_id = train("texture", str(tiff_build), FAST, catalog=cli.catalog, runs_dir=cli.cwd / "runs").run_id
    write_png(cli.cwd / "small" / "tiny.png", texture((40, 40)))
    cli("ingest", str(cli.cwd / "small"))
    result = cli("predict", run_id, "--where", "path LIKE '%tiny.png'")
    assert "0 image(s) predicted" in result.stdout
    assert "tiny.png" in result.stderr and "64x64" in result.stderr

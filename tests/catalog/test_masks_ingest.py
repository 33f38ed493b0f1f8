"""`fairmicro ingest IMAGES --masks DIR`: pairing, decoding, fitting, idempotent storage, hostile masks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fairmicro.catalog import Catalog
from fairmicro.catalog.masks import (
    ClassMap,
    MaskError,
    add_predicted_masks,
    image_masks,
    parse_mask_colors,
)

H, W = 24, 32


def phases(seed: int, classes: int = 3, shape: tuple[int, int] = (H, W)) -> np.ndarray:
    """A label map of vertical bands of ``classes`` phases, shifted by ``seed``."""
    cols = (np.arange(shape[1]) + seed) * classes // shape[1] % classes
    return np.broadcast_to(cols, shape).astype(np.uint8).copy()


def micrograph(labels: np.ndarray) -> np.ndarray:
    """A grey image whose phases differ in brightness, with noise."""
    rng = np.random.default_rng(int(labels.sum()))
    return np.clip(60 + 70 * labels.astype(int) + rng.integers(0, 20, labels.shape), 0, 255).astype(np.uint8)


def write_set(root: Path, names: list[str], mask_dir: Path | None = None, suffix: str = "", ext: str = ".png") -> dict:
    """Images under root/images and label-map masks under ``mask_dir`` (default root/masks)."""
    images, masks = root / "images", mask_dir or root / "masks"
    images.mkdir(parents=True, exist_ok=True)
    masks.mkdir(parents=True, exist_ok=True)
    truth = {}
    for n, name in enumerate(names):
        labels = phases(n)
        Image.fromarray(micrograph(labels)).save(images / f"{name}.png")
        Image.fromarray(labels).save(masks / f"{name}{suffix}{ext}")
        truth[f"{name}.png"] = labels
    return truth


def masks_by_name(catalog_path: Path) -> dict[str, np.ndarray]:
    with Catalog.open(catalog_path) as catalog:
        refs = image_masks(catalog)
        paths = dict(catalog.query("SELECT sha256, path FROM images").rows)
        return {Path(paths[sha]).name: ref.read() for sha, ref in refs.items()}


def annotation_rows(cli) -> list[dict]:
    return cli.rows("SELECT * FROM image_masks ORDER BY image_path")


def test_label_maps_pair_by_name_and_rerun_adds_nothing(cli, catalog_path, tmp_path):
    truth = write_set(tmp_path, ["a", "b", "c"])
    args = (
        "ingest",
        str(tmp_path / "images"),
        "--masks",
        str(tmp_path / "masks"),
        "--mask-classes",
        "matrix,ferrite,pearlite",
    )
    first = cli(*args)
    assert "masks: 3 paired, 0 images without mask" in first.stdout
    rows = annotation_rows(cli)
    assert [r["class_names"] for r in rows] == [["matrix", "ferrite", "pearlite"]] * 3
    assert {r["mask_source"] for r in rows} == {"manual"} and {r["mask_height_px"] for r in rows} == {H}
    decoded = masks_by_name(catalog_path)
    assert all((decoded[name] == labels).all() for name, labels in truth.items())
    again = cli(*args, "--json")
    assert json.loads(again.stdout)["masks"]["paired"] == 3
    assert annotation_rows(cli) == rows  # same ids, no duplicates
    assert cli.rows("SELECT count(*) AS n FROM mask_classes")[0]["n"] == 3


def test_rerun_without_class_options_keeps_the_stored_class_map(cli, catalog_path, tmp_path):
    """A careless nightly rerun without --mask-classes/--mask-colors must not rename the classes."""
    write_set(tmp_path, ["a", "b"])
    cli(
        "ingest",
        str(tmp_path / "images"),
        "--masks",
        str(tmp_path / "masks"),
        "--mask-classes",
        "matrix,ferrite,pearlite",
    )
    rows = annotation_rows(cli)
    again = cli("ingest", str(tmp_path / "images"), "--masks", str(tmp_path / "masks"), "--json")
    assert json.loads(again.stdout)["masks"]["already_stored"] == 2
    assert annotation_rows(cli) == rows
    folder = tmp_path / "colour"
    folder.mkdir()
    labels = phases(1, classes=2)
    overlay = np.repeat(micrograph(labels)[..., None], 3, axis=-1)
    overlay[labels == 1] = (0, 0, 255)
    Image.fromarray(micrograph(labels)).save(folder / "g.png")
    Image.fromarray(overlay).save(folder / "g_mask.png")
    pattern = ("--mask-pattern", "{stem}_mask")
    cli("ingest", str(folder), "--masks", str(folder), *pattern, "--mask-colors", "gamma_prime=#0000ff")
    colour_rows = annotation_rows(cli)
    rerun = cli("ingest", str(folder), "--masks", str(folder), *pattern)  # would decode the RGB mask as a label map
    assert rerun.returncode == 0, rerun.stderr
    assert annotation_rows(cli) == colour_rows


@pytest.mark.parametrize("masks_option", [True, False])
def test_colour_masks_drawn_over_grey_pair_by_suffix_in_the_image_folder(cli, catalog_path, tmp_path, masks_option):
    """With a --mask-pattern, --masks may be left out: the masks are searched beside the images."""
    folder = tmp_path / "images"
    (folder / "sub").mkdir(parents=True)
    labels = phases(0, classes=2)
    grey = micrograph(labels)
    Image.fromarray(grey).save(folder / "sub" / "s1.png")
    overlay = np.repeat(grey[..., None], 3, axis=-1)
    overlay[labels == 1] = (255, 0, 0)  # cracks drawn in red over the greyscale image
    Image.fromarray(overlay).save(folder / "sub" / "s1_mask.png")
    masks = ("--masks", str(folder)) if masks_option else ()
    result = cli("ingest", str(folder), *masks, "--mask-pattern", "{stem}_mask", "--mask-colors", "crack=#FF0000")
    assert "ingested 1," in result.stdout and "masks: 1 paired" in result.stdout  # the mask is no image
    assert (masks_by_name(catalog_path)["s1.png"] == labels).all()  # grey pixels -> background 0
    assert annotation_rows(cli)[0]["class_names"] == ["background", "crack"]


def _blob_overlay(shape: tuple[int, int] = (96, 128)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(grey image, its labels: one red blob, RGB overlay with the blob drawn in pure red)."""
    labels = np.zeros(shape, np.uint8)
    labels[30:60, 20:90] = 1
    grey = np.clip(100 + 40 * np.random.default_rng(0).standard_normal(shape), 0, 255).astype(np.uint8)
    overlay = np.repeat(grey[..., None], 3, axis=-1)
    overlay[labels == 1] = (255, 0, 0)
    return grey, labels, overlay


@pytest.mark.parametrize("lossy", ["jpg", "tif-jpeg"])
def test_lossy_colour_overlays_keep_their_class_pixels(cli, catalog_path, tmp_path, lossy):
    """A JPEG moves pure red to e.g. (250, 4, 2): exact matching once left such masks all background, silently."""
    import tifffile

    folder = tmp_path / "images"
    folder.mkdir()
    grey, labels, overlay = _blob_overlay()
    Image.fromarray(grey).save(folder / "s1.png")
    if lossy == "jpg":
        Image.fromarray(overlay).save(folder / "s1_mask.jpg", quality=90)
    else:
        tifffile.imwrite(folder / "s1_mask.tif", overlay, photometric="rgb", compression="jpeg")
    stored = (
        np.asarray(Image.open(folder / "s1_mask.jpg")) if lossy == "jpg" else tifffile.imread(folder / "s1_mask.tif")
    )
    assert not (stored == (255, 0, 0)).all(axis=-1).any()  # no pixel kept the exact class colour
    cli(
        "ingest", str(folder), "--masks", str(folder), "--mask-pattern", "{stem}_mask", "--mask-colors", "crack=#ff0000"
    )
    decoded = masks_by_name(catalog_path)["s1.png"]
    assert not (decoded[labels == 0]).any()  # no grey pixel became crack
    assert (decoded[labels == 1] == 1).mean() > 0.98  # a few ringing edge pixels may be lost


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_black_white_masks_saved_as_jpeg_read_as_two_classes(cli, catalog_path, tmp_path, mode):
    """A JPEG of a 0/255 mask holds 1, 3, 252, ... near its edges: it once was 'holds value 252'."""
    folder, masks = tmp_path / "images", tmp_path / "masks"
    folder.mkdir()
    masks.mkdir()
    grey, labels, _ = _blob_overlay()
    Image.fromarray(grey).save(folder / "s1.png")
    Image.fromarray(labels * 255).convert(mode).save(masks / "s1.jpg", quality=75)
    stored = np.asarray(Image.open(masks / "s1.jpg"))
    assert not np.isin(stored, (0, 255)).all()  # the encoder moved some values
    result = cli("ingest", str(folder), "--masks", str(masks), "--mask-classes", "background,blob")
    assert "masks: 1 paired" in result.stdout, result.stdout
    decoded = masks_by_name(catalog_path)["s1.png"]
    assert (decoded == labels).mean() > 0.99


def test_a_jpeg_that_is_no_black_white_mask_is_still_refused(cli, catalog_path, tmp_path):
    folder, masks = tmp_path / "images", tmp_path / "masks"
    folder.mkdir()
    masks.mkdir()
    grey, _, _ = _blob_overlay()
    Image.fromarray(grey).save(folder / "s1.png")
    Image.fromarray(grey).save(masks / "s1.jpg", quality=90)  # the micrograph itself, not a mask
    result = cli("ingest", str(folder), "--masks", str(masks), "--mask-classes", "background,blob", check=False)
    assert result.returncode == 1 and "mask rejected: mask s1.jpg: holds value" in result.stdout
    assert masks_by_name(catalog_path) == {}


def test_lossless_colour_masks_match_exactly(cli, catalog_path, tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    grey, labels, overlay = _blob_overlay()
    overlay[30, 20] = (250, 0, 0)  # in a PNG, a near colour is another colour
    Image.fromarray(grey).save(folder / "s1.png")
    Image.fromarray(overlay).save(folder / "s1_mask.png")
    cli(
        "ingest", str(folder), "--masks", str(folder), "--mask-pattern", "{stem}_mask", "--mask-colors", "crack=#ff0000"
    )
    expected = labels.copy()
    expected[30, 20] = 0
    assert (masks_by_name(catalog_path)["s1.png"] == expected).all()


def test_a_class_colour_no_mask_holds_is_one_warning_naming_the_colours_seen(cli, catalog_path, tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    grey, labels, overlay = _blob_overlay()
    overlay[labels == 1] = (254, 1, 1)  # drawn in almost the colour the user names
    Image.fromarray(grey).save(folder / "s1.png")
    Image.fromarray(overlay).save(folder / "s1_mask.png")
    args = ("ingest", str(folder), "--masks", str(folder), "--mask-pattern", "{stem}_mask")
    result = cli(*args, "--mask-colors", "crack=#ff0000,pore=#00ff00", "--json")
    warnings = json.loads(result.stdout)["masks"]["warnings"]
    assert len(warnings) == 2 and all("most common other colours of s1_mask.png: #fe0101" in w for w in warnings)
    assert warnings[0].startswith("class crack (#ff0000): no pixel of any of the 1 mask(s) has this colour")
    right = cli(*args, "--mask-colors", "crack=#fe0101")
    assert "warning" not in right.stdout and (masks_by_name(catalog_path)["s1.png"] == labels).all()


def test_mask_files_ingested_earlier_as_images_are_one_warning(cli, tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    grey, _, overlay = _blob_overlay()
    Image.fromarray(grey).save(folder / "s1.png")
    Image.fromarray(overlay).save(folder / "s1_mask.png")
    args = ("--masks", str(folder), "--mask-pattern", "{stem}_mask", "--mask-colors", "crack=#ff0000", "--json")
    fresh = tmp_path / "fresh.duckdb"
    first = cli("ingest", str(folder), "--catalog", str(fresh), *args)
    assert json.loads(first.stdout)["masks"]["warnings"] == []
    cli("ingest", str(folder))  # careless: the folder without --masks takes the overlay as an image
    later = json.loads(cli("ingest", str(folder), *args).stdout)["masks"]["warnings"]
    assert len(later) == 1 and later[0].startswith("1 mask file(s) are also catalogued as images")
    assert str(folder / "s1_mask.png") in later[0]


def test_colour_tolerance_stays_clear_of_grey_and_of_other_classes():
    from fairmicro.catalog.mask_decode import LOSSY_TOLERANCE, colour_tolerance

    assert colour_tolerance((255, 0, 0), []) == LOSSY_TOLERANCE
    assert colour_tolerance((192, 192, 192), []) == 0  # a grey class colour: only exact pixels, never the image
    assert colour_tolerance((255, 0, 0), [(255, 32, 0)]) == pytest.approx(16)  # half the way to the other class
    near_grey = colour_tolerance((150, 120, 120), [])
    assert 0 < near_grey < LOSSY_TOLERANCE and near_grey == pytest.approx(np.linalg.norm([20, -10, -10]) / 2)


def test_same_stem_with_another_extension_pairs(cli, catalog_path, tmp_path):
    truth = write_set(tmp_path, ["x"], ext=".tif")
    cli("ingest", str(tmp_path / "images"), "--masks", str(tmp_path / "masks"), "--mask-classes", "a,b,c")
    assert (masks_by_name(catalog_path)["x.png"] == truth["x.png"]).all()


def test_shorter_mask_covers_the_top_rows(cli, catalog_path, tmp_path):
    write_set(tmp_path, ["tall"])
    Image.fromarray(phases(0, shape=(H - 5, W))).save(tmp_path / "masks" / "tall.png")
    cli("ingest", str(tmp_path / "images"), "--masks", str(tmp_path / "masks"), "--mask-classes", "a,b,c")
    assert annotation_rows(cli)[0]["mask_height_px"] == H - 5


def test_black_and_white_binary_masks_read_white_as_the_class(cli, catalog_path, tmp_path):
    labels = phases(0, classes=2)
    write_set(tmp_path, ["bw"])
    Image.fromarray((labels * 255).astype(np.uint8)).save(tmp_path / "masks" / "bw.png")  # 0 / 255, as often saved
    cli("ingest", str(tmp_path / "images"), "--masks", str(tmp_path / "masks"), "--mask-classes", "background,pore")
    assert (masks_by_name(catalog_path)["bw.png"] == labels).all()
    three = cli(
        "ingest", str(tmp_path / "images"), "--masks", str(tmp_path / "masks"), "--mask-classes", "a,b,c", check=False
    )
    assert three.returncode == 1 and "holds value 255, but there are only 3 classes" in three.stdout  # not guessed


@pytest.mark.parametrize(
    ("mask", "message"),
    [
        (np.zeros((H, W + 3), np.uint8), r"mask bad\.png \(35x24 px\) does not fit image bad\.png \(32x24 px\)"),
        (np.zeros((H + 2, W), np.uint8), r"does not fit image bad\.png"),
        (np.full((H, W), 7, np.uint8), r"mask bad\.png: holds value 7, but there are only 3 classes"),
        (
            np.dstack([np.zeros((H, W), np.uint8), np.ones((H, W), np.uint8), np.zeros((H, W), np.uint8)]),
            r"is a colour image, not a label map",
        ),
    ],
)
def test_a_bad_mask_is_one_line_and_no_row(cli, catalog_path, tmp_path, mask, message):
    write_set(tmp_path, ["good"])
    Image.fromarray(micrograph(phases(1))).save(tmp_path / "images" / "bad.png")
    Image.fromarray(mask).save(tmp_path / "masks" / "bad.png")
    result = cli(
        "ingest", str(tmp_path / "images"), "--masks", str(tmp_path / "masks"), "--mask-classes", "a,b,c", check=False
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stdout.splitlines() if "mask rejected" in line]
    assert len(lines) == 1
    import re

    assert re.search(message, lines[0])
    assert [r["image_path"].rsplit("/", 1)[1] for r in annotation_rows(cli)] == ["good.png"]
    assert cli.rows("SELECT count(*) AS n FROM images")[0]["n"] == 2  # the images themselves are in


def test_images_without_mask_and_masks_without_image_are_reported(cli, tmp_path):
    write_set(tmp_path, ["a", "b"])
    (tmp_path / "masks" / "b.png").unlink()
    Image.fromarray(phases(0)).save(tmp_path / "masks" / "stray.png")
    result = cli("ingest", str(tmp_path / "images"), "--masks", str(tmp_path / "masks"), "--mask-classes", "a,b,c")
    assert "masks: 1 paired, 1 images without mask, 1 mask files without image" in result.stdout
    assert "stray.png" in result.stdout


def test_mirrored_split_folders_pair_each_image_with_its_own_split_mask(cli, catalog_path, tmp_path):
    """images/{train,test}/001.png with masks/{train,test}/001.png: the same name in both splits."""
    truth = {}
    for offset, split in enumerate(("train", "test")):
        for name in ("001", "002"):
            labels = phases(10 * offset + int(name), classes=3)
            (tmp_path / "images" / split).mkdir(parents=True, exist_ok=True)
            (tmp_path / "masks" / split).mkdir(parents=True, exist_ok=True)
            Image.fromarray(micrograph(labels)).save(tmp_path / "images" / split / f"{name}.png")
            Image.fromarray(labels).save(tmp_path / "masks" / split / f"{name}.png")
            truth[f"{split}/{name}.png"] = labels
    result = cli(
        "ingest", str(tmp_path / "images"), "--masks", str(tmp_path / "masks"), "--mask-classes", "a,b,c", "--json"
    )
    assert json.loads(result.stdout)["masks"]["paired"] == 4
    with Catalog.open(catalog_path) as catalog:
        refs = image_masks(catalog)
        paths = dict(catalog.query("SELECT sha256, path FROM images").rows)
        stored = {"/".join(Path(paths[sha]).parts[-2:]): ref for sha, ref in refs.items()}
    for key, labels in truth.items():
        assert Path(stored[key].mask_path).parts[-2:] == tuple(key.split("/"))
        assert (stored[key].read() == labels).all()


def test_equally_near_masks_stay_ambiguous(cli, tmp_path):
    write_set(tmp_path, ["x"])
    for folder in ("a", "b"):
        (tmp_path / "masks" / folder).mkdir()
        Image.fromarray(phases(0)).save(tmp_path / "masks" / folder / "x.png")
    (tmp_path / "masks" / "x.png").unlink()
    result = cli(
        "ingest", str(tmp_path / "images"), "--masks", str(tmp_path / "masks"), "--mask-classes", "a,b,c", check=False
    )
    assert result.returncode == 1 and "several masks match" in result.stdout


def test_hostile_names_pair(cli, catalog_path, tmp_path):
    names = ["021519#3 S0410028", "gefüge (2) µm", "日本語"]
    truth = write_set(tmp_path, names, suffix="_mask")
    result = cli(
        "ingest",
        str(tmp_path / "images"),
        "--masks",
        str(tmp_path / "masks"),
        "--mask-pattern",
        "{stem}_mask",
        "--mask-classes",
        "a,b,c",
    )
    assert "masks: 3 paired" in result.stdout
    decoded = masks_by_name(catalog_path)
    assert all((decoded[name] == labels).all() for name, labels in truth.items())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--mask-classes", "a,b"], "need --masks"),
        (["--masks", "MASKS", "--mask-classes", "a,a"], "named twice"),
        (["--masks", "MASKS", "--mask-colors", "crack=red"], "expected NAME=#RRGGBB"),
        (["--masks", "MASKS", "--mask-classes", "a", "--mask-colors", "b=#000000"], "not both"),
        (["--masks", "MASKS", "--mask-pattern", "mask_only"], "must contain {stem}"),
        (["--mask-pattern", "{stem}"], "tells them from the images"),  # beside the images: every file would match
        (["--masks", "IMAGES"], "is the image folder"),
        (["--masks", "ROOT"], "holds"),  # the folder above images/ and masks/: every image would be a mask
        (["--masks", "NOWHERE"], "is not a folder"),
    ],
)
def test_bad_mask_options_stop_before_anything_is_written(cli, tmp_path, args, message):
    write_set(tmp_path, ["a"])
    places = {
        "MASKS": tmp_path / "masks",
        "IMAGES": tmp_path / "images",
        "ROOT": tmp_path,
        "NOWHERE": tmp_path / "nowhere",
    }
    args = [str(places.get(a, a)) for a in args]
    result = cli("ingest", str(tmp_path / "images"), *args, check=False)
    assert result.returncode == 1 and message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "catalog.duckdb").exists() or cli.rows("SELECT count(*) AS n FROM images")[0]["n"] == 0


def test_predicted_masks_link_to_their_run(cli, catalog_path, tmp_path):
    write_set(tmp_path, ["a"])
    cli("ingest", str(tmp_path / "images"), "--masks", str(tmp_path / "masks"), "--mask-classes", "a,b,c")
    predicted = tmp_path / "pred.png"
    Image.fromarray(phases(2)).save(predicted)
    with Catalog.open(catalog_path) as catalog:
        sha = catalog.query("SELECT sha256 FROM images").rows[0][0]
        assert add_predicted_masks(catalog, "run-1", {sha: predicted}, ["a", "b", "c"]) == 1
        assert add_predicted_masks(catalog, "run-1", {sha: predicted}, ["a", "b", "c"]) == 1
        with pytest.raises(MaskError, match="only 2 classes"):
            add_predicted_masks(catalog, "run-2", {sha: predicted}, ["a", "b"])
        assert (image_masks(catalog, [sha], source="predicted", run_id="run-1")[sha].read() == phases(2)).all()
        assert image_masks(catalog, [sha])[sha].source == "manual"
    rows = cli.rows("SELECT mask_source, model_run_id FROM image_masks ORDER BY mask_source")
    assert rows == [
        {"mask_source": "manual", "model_run_id": None},
        {"mask_source": "predicted", "model_run_id": "run-1"},
    ]


def test_colour_map_parsing():
    assert parse_mask_colors("gamma_prime=#0000ff,carbide=#ff0000").names == ["background", "gamma_prime", "carbide"]
    explicit = parse_mask_colors("crack=#ff0000, background=#000000")
    assert explicit.names == ["background", "crack"] and explicit.classes[0].colour == "#000000"
    assert (
        ClassMap.from_names(["a", "b"]).id == ClassMap.from_names(["a", "b"]).id != ClassMap.from_names(["b", "a"]).id
    )


def test_mask_classes_without_masks_or_pattern_is_one_line_and_nothing_ingested(cli, catalog_path, tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    Image.fromarray(micrograph(phases(0, classes=2))).save(folder / "s1.png")
    result = cli("ingest", str(folder), "--mask-classes", "background,phase", check=False)
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "--masks DIR" in result.stderr and not catalog_path.exists()


def test_fifos_and_link_loops_among_the_masks_are_reported_as_skipped_not_opened(cli, catalog_path, tmp_path):
    import os

    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    labels = phases(0, classes=2)
    for seed, name in enumerate(("s1", "s2")):
        Image.fromarray(micrograph(phases(seed, classes=2))).save(images / f"{name}.png")
    Image.fromarray(labels).save(masks / "s1.png")
    os.mkfifo(masks / "s2.png")  # opening it would hang the ingest while it holds the catalog
    (masks / "loop").symlink_to("loop")
    result = cli("ingest", str(images), "--masks", str(masks), "--mask-classes", "background,phase", "--json")
    summary = json.loads(result.stdout)
    reasons = {Path(entry["path"]).name: entry["reason"] for entry in summary["skipped"]}
    assert "FIFO" in reasons["s2.png"] and "loop" in reasons["loop"]
    assert summary["masks"]["paired"] == 1 and summary["ingested"] == 2

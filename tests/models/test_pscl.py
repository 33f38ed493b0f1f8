"""pscl / pscl-seg: the torch core, and the CLI as users run it on generated microstructures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("datasets")

from fairmicro.models.pscl.augment import Symmetry
from fairmicro.models.pscl.contrast import info_nce, prototypes, select_by_prototype
from fairmicro.models.pscl.net import Segmenter, UNet
from fairmicro.models.pscl.synthetic import micrograph

TINY = ("--epochs", "1", "--min-steps", "0", "--base-channels", "4", "--crop", "32", "--batch-size", "2")
TINY_SEG = ("--epochs", "1", "--steps-per-epoch", "2", "--crop", "32", "--batch-size", "2", "--repeats", "2")


@pytest.mark.parametrize(("channels", "height", "width"), [(1, 37, 50), (3, 16, 16), (1, 5, 9)])
def test_unet_takes_any_size_grey_or_rgb(channels, height, width):
    model = Segmenter(UNet(channels, 4), 3).eval()
    with torch.no_grad():
        out = model(torch.randn(2, channels, height, width))
    assert out.shape == (2, 3, height, width)


def test_symmetry_undo_is_exact():
    x = torch.arange(24.0).reshape(1, 4, 6)
    for rotations in range(4):
        for flip in (False, True):
            s = Symmetry(rotations, flip)
            assert torch.equal(s.undo(s.apply(x)), x)


def test_info_nce_prefers_aligned_pairs():
    a = torch.nn.functional.normalize(torch.randn(8, 16), dim=1)
    labels = torch.arange(8).repeat(2)
    aligned = torch.cat([a, a])
    shuffled = torch.cat([a, a[torch.randperm(8)]])
    good = info_nce(aligned, labels, aligned, labels, 0.5, exclude_self=True)
    bad = info_nce(shuffled, labels, shuffled, labels, 0.5, exclude_self=True)
    assert good < bad


def test_top_k_patches_follow_the_prototypes():
    # two-class embedding: left half points one way, right half the other
    emb = torch.zeros(1, 2, 4, 4)
    emb[0, 0, :, :2] = 1
    emb[0, 1, :, 2:] = 1
    mask = torch.zeros(4, 4, dtype=torch.long)
    mask[:, 2:] = 1
    protos, ids = prototypes(emb[0], mask, 2)
    _, where, classes = select_by_prototype(emb, protos, ids, 3)
    columns = (where % 4).tolist()
    assert all((c >= 2) == bool(k) for c, k in zip(columns, classes.tolist(), strict=True))
    assert sorted(classes.tolist()) == [0, 0, 0, 1, 1, 1]


def _pretrain(images, seed=0, epochs=8, variant="simclr"):
    from fairmicro.models.pscl.data import standardise
    from fairmicro.models.pscl.pretrain import Labelled, PretrainConfig, pretrain

    arrays = [standardise(a, 1) for a, _ in images]
    config = PretrainConfig(
        variant=variant, epochs=epochs, batch_size=4, crop=32, base_channels=8, seed=seed, queue_size=8
    )
    _, history = pretrain(arrays, config, Labelled(arrays[0], images[0][1], 2))
    return history["loss"]


@pytest.mark.slow
def test_pretraining_loss_falls():
    images = [micrograph(48, 2, seed=i) for i in range(8)]
    losses = _pretrain(images)  # default learning rate 1e-4, 16 steps
    assert np.mean(losses[-2:]) < losses[0]


def test_pretraining_is_deterministic_per_seed():
    images = [micrograph(32, 2, seed=i) for i in range(2)]
    first = _pretrain(images, epochs=1)
    assert _pretrain(images, epochs=1) == first
    assert _pretrain(images, seed=1, epochs=1) != first


def test_moco_pretraining_runs_with_finite_losses():
    images = [micrograph(48, 3, seed=i) for i in range(4)]
    assert all(np.isfinite(_pretrain(images, epochs=2, variant="moco")))


# ---------------------------------------------------------------- the CLI


def _write_set(folder: Path, names: list[str], phases: int = 2, size: int = 48) -> None:
    import tifffile

    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    for index, name in enumerate(names):
        image, mask = micrograph(size, phases, seed=index)
        tifffile.imwrite(folder / "images" / name, image)
        tifffile.imwrite(folder / "masks" / name, mask)


NAMES = [f"grain #{i} s.tif" for i in range(6)] + ["b (2)#x.tif", "plain.tif"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A catalog with generated two-phase images and masks, a segmentation build and a pscl pretraining run."""
    from tests.conftest import Cli

    root = tmp_path_factory.mktemp("pscl")
    cli = Cli(root / "catalog.duckdb", root)
    _write_set(root, NAMES)
    cli("ingest", str(root / "images"), "--masks", str(root / "masks"), "--mask-classes", "background,phase_a")
    cli(
        "build",
        "synth",
        "--task",
        "segmentation",
        "--license",
        "MIT",
        "--splits",
        "0.5,0.25,0.25",
        "--seed",
        "0",
        "--out",
        str(root / "ds"),
    )
    result = cli("pretrain", "pscl", "--dataset", str(root / "ds"), *TINY)
    pretrain_id = cli.rows("SELECT run_id FROM model_runs WHERE run_kind = 'pretrain'")[0]["run_id"]
    assert pretrain_id in result.stdout
    return cli, root, pretrain_id


def _run_count(cli) -> int:
    return cli.rows("SELECT count(*) AS n FROM model_runs")[0]["n"]


@pytest.mark.slow
def test_fine_tune_from_pretraining_run_records_provenance_and_predicts_masks(built):
    from PIL import Image

    cli, root, pretrain_id = built
    result = cli(
        "train", "pscl-seg", "--dataset", str(root / "ds"), "--labelled", "1", "--init", pretrain_id, *TINY_SEG
    )
    assert "mean Dice" in result.stdout
    run = cli.rows("SELECT run_id, parent_run_id, task, metrics FROM model_runs WHERE plugin = 'pscl-seg'")[0]
    assert run["parent_run_id"] == pretrain_id and run["task"] == "segmentation"
    metrics = json.loads(run["metrics"])
    assert len(metrics["repeats"]) == 2 and set(metrics["per_class"]) == {"background", "phase_a"}
    labelled = metrics["model_report"]["labelled_sha256"]
    shas = {r["sha256"] for r in cli.rows("SELECT sha256 FROM images")}
    assert len(labelled) == 2 and all(len(x) == 1 and x[0] in shas for x in labelled)

    out = root / "pred"
    cli("predict", run["run_id"], "--dataset", str(root / "ds"), "--split", "test", "--out", str(out), "--annotate")
    test_rows = _split_rows(root / "ds", "test")
    assert sorted(p.name for p in out.iterdir()) == sorted(Path(r["file_name"]).stem + ".png" for r in test_rows)
    for row in test_rows:
        mask = Image.open(out / (Path(row["file_name"]).stem + ".png"))
        assert mask.mode == "L" and mask.size == (row["image_width_px"], row["image_height_px"])
        assert set(np.unique(np.array(mask))) <= {0, 1}
    stored = cli.rows("SELECT mask_source, model_run_id FROM image_masks WHERE mask_source = 'predicted'")
    assert len(stored) == len(test_rows)


def _split_rows(folder: Path, split: str) -> list[dict]:
    import datasets

    data = datasets.load_dataset(str(folder), split=split)
    return data.remove_columns(["image", "mask"]).to_list()


@pytest.mark.slow
@pytest.mark.parametrize("init", ["no-such-run", "CLASSIFICATION"])
def test_init_that_is_not_a_pretraining_run_is_one_line_and_no_run_row(built, init):
    cli, root, _ = built
    if init == "CLASSIFICATION":
        init = "texture-20260101T000000-abcdef"
        cli(
            "query",
            "--write",
            "INSERT INTO model_runs (run_id, plugin, run_kind, task, status) "
            f"VALUES ('{init}', 'texture', 'train', 'classification', 'succeeded') ON CONFLICT DO NOTHING",
        )
    before = _run_count(cli)
    result = cli("train", "pscl-seg", "--dataset", str(root / "ds"), "--init", init, *TINY_SEG, check=False)
    assert result.returncode != 0 and len(result.stderr.strip().splitlines()) == 1
    assert init in result.stderr and "Traceback" not in result.stderr
    assert _run_count(cli) == before


@pytest.mark.slow
@pytest.mark.parametrize("labelled", ["0", "99"])
def test_labelled_count_out_of_range_is_one_line_and_no_run_row(built, labelled):
    cli, root, _ = built
    before = _run_count(cli)
    result = cli(
        "train",
        "pscl-seg",
        "--dataset",
        str(root / "ds"),
        "--labelled",
        labelled,
        "--init",
        "none",
        *TINY_SEG,
        check=False,
    )
    # one error line; a parameter out of its range is a usage error, which the CLI follows with its usage line
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0 and lines[0].startswith("error:") and "labelled" in lines[0]
    assert len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("Usage:"))
    assert "Traceback" not in result.stderr
    assert _run_count(cli) == before


@pytest.mark.slow
def test_predicted_masks_cover_the_whole_source_image_when_the_build_cropped_a_data_bar(tmp_path, monkeypatch):
    """FEI images with a data bar: the build crops it, `predict --out` still writes the source image's size."""
    import tifffile
    from PIL import Image

    from tests.builders.conftest import write_collection
    from tests.conftest import Cli

    bar = 9
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))  # a fresh cache: the splits are generated
    write_collection(tmp_path / "images", specimens_per_class=2, images_per_specimen=2, shape=(40, 56), bar_rows=bar)
    sizes = {}
    for image in (tmp_path / "images").rglob("*.tif"):
        height, width = tifffile.imread(image).shape[:2]
        sizes[image.stem] = (width, height)
        mask = np.zeros((height, width), np.uint8)
        mask[:, width // 2 :] = 1  # the bar rows too: the build must crop them off the mask as off the image
        target = tmp_path / "masks" / image.relative_to(tmp_path / "images")
        target.parent.mkdir(parents=True, exist_ok=True)
        tifffile.imwrite(target, mask)
    assert {h for _, h in sizes.values()} == {40, 40 + bar}
    cli = Cli(tmp_path / "catalog.duckdb", tmp_path)
    cli("ingest", str(tmp_path / "images"), "--masks", str(tmp_path / "masks"), "--mask-classes", "background,right")
    bars = cli.rows("SELECT data_bar_height_px AS bar FROM image_metadata WHERE height_px > 40")
    assert bars and {r["bar"] for r in bars} == {bar}
    ds = tmp_path / "ds"
    cli("build", "barred", "--task", "segmentation", "--license", "MIT", "--out", str(ds))
    trained = cli("train", "pscl-seg", "--dataset", str(ds), "--labelled", "1", "--init", "none", *TINY_SEG)
    assert "Generating" not in trained.stderr  # datasets' progress bars stay out of logs (stderr is no terminal)
    assert (tmp_path / "hf-cache").is_dir()  # the splits were generated here, so bars would have shown
    run_id = cli.rows("SELECT run_id FROM model_runs WHERE plugin = 'pscl-seg'")[0]["run_id"]
    out = tmp_path / "pred"
    cli("predict", run_id, "--dataset", str(ds), "--split", "train", "--out", str(out))
    written = sorted(out.iterdir())
    assert len(written) >= 2
    for path in written:
        assert Image.open(path).size == sizes[path.stem], path.name
        if sizes[path.stem][1] > 40:
            assert (np.array(Image.open(path))[40:] == 0).all()  # the cropped data bar: no prediction


@pytest.mark.slow
def test_predict_out_never_replaces_source_images_or_drawn_masks(tmp_path):
    """`--out` pointed at the data (PNG images, PNG masks of the same names): refused, nothing written."""
    import hashlib

    from PIL import Image

    from tests.conftest import Cli

    for index in range(4):
        image, mask = micrograph(40, 2, seed=index)
        for kind, pixels in (("images", image), ("masks", mask)):
            (tmp_path / kind).mkdir(exist_ok=True)
            Image.fromarray(pixels).save(tmp_path / kind / f"s{index}.png")
    cli = Cli(tmp_path / "catalog.duckdb", tmp_path)
    cli("ingest", str(tmp_path / "images"), "--masks", str(tmp_path / "masks"), "--mask-classes", "background,a")
    ds = tmp_path / "ds"
    cli("build", "pngs", "--task", "segmentation", "--license", "MIT", "--splits", "0.5,0,0.5", "--out", str(ds))
    cli("train", "pscl-seg", "--dataset", str(ds), "--labelled", "1", "--init", "none", *TINY_SEG[:-1], "1")
    run_id = cli.rows("SELECT run_id FROM model_runs WHERE plugin = 'pscl-seg'")[0]["run_id"]

    def digests() -> dict[str, str]:
        return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(tmp_path.glob("*s/*.png"))}

    before, runs = digests(), len(cli.rows("SELECT run_id FROM model_runs"))
    for folder, why in (("images", "was not written by `fairmicro predict`"), ("masks", "is the stored mask of")):
        refused = cli(
            "predict", run_id, "--dataset", str(ds), "--split", "test", "--out", str(tmp_path / folder), check=False
        )
        assert refused.returncode == 1 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
        assert why in refused.stderr
    notes = tmp_path / "notes.txt"
    notes.write_text("keep me")
    as_file = cli("predict", run_id, "--dataset", str(ds), "--split", "test", "--out", str(notes), check=False)
    assert as_file.returncode == 1 and "is not a folder" in as_file.stderr and notes.read_text() == "keep me"
    assert digests() == before and len(cli.rows("SELECT run_id FROM model_runs")) == runs  # no file, no run row
    out = tmp_path / "pred"
    for _ in range(2):  # its own masks it replaces: predicting again into one folder works
        cli("predict", run_id, "--dataset", str(ds), "--split", "test", "--out", str(out))
    assert len(list(out.glob("*.png"))) == 2
    stored = tmp_path / "stored"  # masks stored as annotations: an accepted mask's file is never replaced
    cli("predict", run_id, "--dataset", str(ds), "--split", "test", "--out", str(stored), "--annotate")
    kept = {p.name: p.read_bytes() for p in stored.glob("*.png")}
    runs = len(cli.rows("SELECT run_id FROM model_runs"))
    again = cli("predict", run_id, "--dataset", str(ds), "--split", "test", "--out", str(stored), check=False)
    assert again.returncode == 1 and "is the stored mask of an annotation" in again.stderr, again.stderr
    assert {p.name: p.read_bytes() for p in stored.glob("*.png")} == kept
    assert len(cli.rows("SELECT run_id FROM model_runs")) == runs


def test_a_one_epoch_pretraining_run_reports_its_first_and_last_steps_loss(built):
    """With --epochs 1 the first and last epoch are one: the run compares its first and last tenth of steps."""
    from fairmicro.models.tasks.pretraining import PretrainingTask

    cli, _, pretrain_id = built
    metrics = json.loads(cli.rows(f"SELECT metrics FROM model_runs WHERE run_id = '{pretrain_id}'")[0]["metrics"])
    steps = metrics["loss_steps"]
    assert metrics["epochs"] == 1 and metrics["steps"] == len(steps) >= 2
    window = metrics["loss_window"]
    assert window == max(1, len(steps) // 10)
    assert metrics["loss_first"] == pytest.approx(np.mean(steps[:window]))
    assert metrics["loss_last"] == pytest.approx(np.mean(steps[-window:]))
    assert metrics["history"]["loss"] == [pytest.approx(np.mean(steps))]  # the epoch curve is unchanged
    assert f"of {len(steps)} steps" in PretrainingTask().summary(metrics)[0]

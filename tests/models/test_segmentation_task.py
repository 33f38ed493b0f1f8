"""Segmentation task: Dice/IoU on hand-computed masks, whole-image mask PNGs stitched from rows."""

from __future__ import annotations

import numpy as np
import pytest

from fairmicro.models.tasks.segmentation_metrics import confusion, over_repeats, scores

pytest.importorskip("datasets")


def test_dice_and_iou_hand_computed():
    # truth: 6 px of class 0, 6 px of class 1; prediction gets 1 px of each wrong; 255 ignored
    truth = np.array([[0, 0, 0, 1, 1, 1], [0, 0, 0, 1, 1, 1], [255, 255, 255, 255, 255, 255]], np.uint8)
    pred = np.array([[0, 0, 1, 1, 1, 1], [0, 0, 0, 0, 1, 1], [1, 1, 1, 0, 0, 0]], np.uint8)
    result = scores(confusion([truth], [pred], 2), ["background", "phase"])
    # class 0: TP 5, FP 1, FN 1 -> Dice 10/12, IoU 5/7; class 1 the same
    assert result["per_class"]["background"]["dice"] == pytest.approx(10 / 12)
    assert result["per_class"]["phase"]["iou"] == pytest.approx(5 / 7)
    assert result["mean_dice"] == pytest.approx(10 / 12)
    assert result["foreground_dice"] == pytest.approx(10 / 12)
    assert result["pixels"] == 12 and result["pixel_accuracy"] == pytest.approx(10 / 12)


def test_absent_class_is_left_out_of_the_mean_and_counts_sum_over_images():
    a_truth, a_pred = np.array([[0, 1]], np.uint8), np.array([[0, 0]], np.uint8)
    b_truth, b_pred = np.array([[1, 1]], np.uint8), np.array([[1, 1]], np.uint8)
    result = scores(confusion([a_truth, b_truth], [a_pred, b_pred], 3), ["a", "b", "c"])
    # summed: class a TP1 FP1 FN0 -> Dice 2/3, IoU 1/2; class b TP2 FN1 -> Dice 4/5, IoU 2/3; c absent
    assert result["per_class"]["a"]["dice"] == pytest.approx(2 / 3)
    assert result["per_class"]["b"]["dice"] == pytest.approx(4 / 5)
    assert result["per_class"]["c"]["dice"] is None and result["per_class"]["c"]["iou"] is None
    assert result["mean_dice"] == pytest.approx((2 / 3 + 4 / 5) / 2)
    assert result["mean_iou"] == pytest.approx((1 / 2 + 2 / 3) / 2)


def test_a_predicted_class_missing_from_truth_scores_zero_not_excluded():
    truth, pred = np.array([[0, 0]], np.uint8), np.array([[0, 1]], np.uint8)
    result = scores(confusion([truth], [pred], 2), ["x", "y"])
    assert result["per_class"]["y"]["dice"] == 0.0
    assert result["mean_dice"] == pytest.approx((2 / 3 + 0.0) / 2)


def test_out_of_range_prediction_is_wrong_and_bad_truth_is_refused():
    result = scores(confusion([np.array([[0, 1]], np.uint8)], [np.array([[7, 1]], np.uint8)], 2), ["x", "y"])
    assert result["per_class"]["x"]["dice"] == 0.0 and result["per_class"]["y"]["dice"] == 1.0
    with pytest.raises(ValueError, match="not one of"):
        confusion([np.array([[5]], np.uint8)], [np.array([[0]], np.uint8)], 2)
    with pytest.raises(ValueError, match="differ in size"):
        confusion([np.zeros((2, 2), np.uint8)], [np.zeros((2, 3), np.uint8)], 2)


def test_mean_and_std_over_repeats():
    one = scores(confusion([np.array([[0, 1]], np.uint8)], [np.array([[0, 1]], np.uint8)], 2), ["x", "y"])
    two = scores(confusion([np.array([[0, 1]], np.uint8)], [np.array([[0, 0]], np.uint8)], 2), ["x", "y"])
    summary = over_repeats([one, two], ["x", "y"])
    # repeat 2: x Dice 2/3, y Dice 0 -> mean 1/3; repeat 1: mean 1
    assert summary["mean_dice"] == pytest.approx((1 + 1 / 3) / 2)
    assert summary["mean_dice_std"] == pytest.approx((1 - 1 / 3) / 2)
    assert summary["per_class"]["y"]["dice"] == pytest.approx(0.5)


def _rows(table):
    import datasets

    return datasets.Dataset.from_dict(table)


def test_stitch_places_tiles_on_the_whole_image_uncovered_rows_zero(tmp_path):
    from PIL import Image

    from fairmicro.models.tasks.segmentation_output import write_masks

    sha = "a" * 64
    data = _rows(
        {
            "image_sha256": [sha] * 2 + ["b" * 64],
            "file_name": ["dir/grain #1 a.tif"] * 2 + ["b (2)#x.TIF"],
            "image_height_px": [5, 5, 3],
            "image_width_px": [4, 4, 2],
            "tile_x_px": [0, 2, 0],
            "tile_y_px": [0, 0, 0],
        }
    )
    tiles = [np.full((4, 2), 1, np.uint8), np.full((4, 2), 2, np.uint8), np.full((3, 2), 3, np.uint8)]
    written = write_masks(tmp_path / "out", data, iter(tiles))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["b (2)#x.png", "grain #1 a.png"]
    first = np.array(Image.open(written[sha]))
    assert Image.open(written[sha]).mode == "L" and first.shape == (5, 4)
    assert (first[:4, :2] == 1).all() and (first[:4, 2:] == 2).all() and (first[4] == 0).all()
    assert (np.array(Image.open(written["b" * 64])) == 3).all()


def test_two_images_with_one_stem_do_not_overwrite_each_other(tmp_path):
    from fairmicro.models.tasks.segmentation_output import write_masks

    data = _rows(
        {
            "image_sha256": ["a" * 64, "b" * 64],
            "file_name": ["x/s.tif", "y/s.png"],
            "image_height_px": [2, 2],
            "image_width_px": [2, 2],
            "tile_x_px": [0, 0],
            "tile_y_px": [0, 0],
        }
    )
    written = write_masks(tmp_path, data, iter([np.zeros((2, 2), np.uint8)] * 2))
    assert len({p.name for p in written.values()}) == 2 and (tmp_path / "s.png").is_file()


def test_out_that_is_a_file_is_refused_and_left_alone(tmp_path):
    from fairmicro.errors import ModelError
    from fairmicro.models.tasks.segmentation_output import write_masks

    target = tmp_path / "file"
    target.write_text("keep")
    data = _rows(
        {
            "image_sha256": ["a" * 64],
            "file_name": ["a.tif"],
            "image_height_px": [1],
            "image_width_px": [1],
            "tile_x_px": [0],
            "tile_y_px": [0],
        }
    )
    with pytest.raises(ModelError, match="not a folder"):
        write_masks(target, data, iter([np.zeros((1, 1), np.uint8)]))
    assert target.read_text() == "keep"


def _segmentation_plugin(with_masks: bool):
    from typing import ClassVar

    from fairmicro.models.base import ModelPlugin, PluginParams

    class ToyParams(PluginParams):
        init: str | None = None

    class Plugin(ModelPlugin):
        name: ClassVar[str] = "toy-seg"
        task: ClassVar[str] = "segmentation"
        Params: ClassVar[type[PluginParams]] = ToyParams

        def fit(self, train, validation=None):
            return self

        def save(self, folder):
            return []

        @classmethod
        def load(cls, folder):
            return cls()

    if with_masks:
        Plugin.predict_masks = lambda self, data, member=None: iter(())
    return Plugin


def test_capabilities_a_segmentation_plugin_lacks_are_one_line_errors(tmp_path, monkeypatch):
    from fairmicro.errors import ModelError
    from fairmicro.models.tasks import segmentation

    task = segmentation.SegmentationTask()
    with pytest.raises(ModelError, match="must implement predict_masks"):
        task.check_model(_segmentation_plugin(with_masks=False)())
    task.check_model(_segmentation_plugin(with_masks=True)())
    loaded = []
    monkeypatch.setattr(segmentation, "load_pretrained", lambda *args: loaded.append(args))
    model = _segmentation_plugin(with_masks=True)(init="pretrain-run")
    with pytest.raises(ModelError, match="cannot start from a pretraining run") as caught:
        task.prepare(model, [], tmp_path / "catalog.duckdb")
    assert "\n" not in str(caught.value) and not loaded  # refused before any run is loaded

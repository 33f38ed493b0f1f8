"""The task layer: plugins declare task + typed Params; the CLI and runs follow them."""

from __future__ import annotations

import json
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from pydantic import Field

from fairmicro.errors import ModelError
from fairmicro.models import registry, runner
from fairmicro.models.base import ModelPlugin, PluginParams
from fairmicro.models.provenance import load_run
from fairmicro.models.tasks import get_task, task_names


# ------------------------------------------------------------ CLI parameters
def _no_runs(cli) -> None:
    assert cli.rows("SELECT count(*) AS n FROM model_runs")[0]["n"] == 0


@pytest.mark.parametrize(
    ("args", "code", "fragments"),
    [
        (["--foo", "1"], 2, ["texture has no parameter --foo", "--levels", "--select-k"]),
        (["--foo"], 2, ["texture has no parameter --foo"]),
        (["--levels", "abc"], 2, ["levels='abc'", "valid integer"]),
        (["--levels=abc"], 2, ["levels='abc'"]),
        (["stray"], 2, ["unexpected argument 'stray'"]),
        (["-p", "levels=abc"], 1, ["levels='abc'", "known: mode"]),
        (["-p", "colour=blue"], 1, ["unknown parameter(s) colour"]),
        (["--distances", "1,x"], 2, ["distances"]),
    ],
)
def test_bad_plugin_parameters_are_one_line_and_write_no_run(textured, args, code, fragments):
    cli, dataset = textured
    result = cli("train", "texture", "--dataset", str(dataset), *args, check=False)
    assert result.returncode == code, result.stderr
    lines = error_lines(result.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    _no_runs(cli)


def test_one_value_for_a_list_parameter_is_a_list_of_one():
    from fairmicro.cli.model_cmds import _option_value
    from fairmicro.models.registry import get_plugin

    fields = get_plugin("texture").Params.model_fields
    assert _option_value(fields["distances"], "1") == [1]
    assert _option_value(fields["select_k"], "all") == ["all"]
    assert _option_value(fields["distances"], "1,2") == [1, 2]
    assert _option_value(fields["levels"], "32") == 32


def test_plugin_parameters_as_options_reach_the_run_record(textured):
    cli, dataset = textured
    result = cli(
        "train",
        "texture",
        "--dataset",
        str(dataset),
        "--levels",
        "64",
        "--distances",
        "1,2",
        '--select-k=[4,"all"]',
        "--cv-folds",
        "2",
        "--runs-dir",
        str(cli.cwd / "runs"),
    )
    run_id = result.stdout.split()[1].rstrip(":")
    run = load_run(cli.catalog, run_id)
    assert (run["task"], run["run_kind"], run["status"]) == ("classification", "train", "succeeded")
    plugin = run["parameters"]["plugin"]
    assert (plugin["levels"], plugin["distances"], plugin["select_k"], plugin["cv_folds"]) == (
        64,
        [1, 2],
        [4, "all"],
        2,
    )
    assert plugin["mode"] == "texture" and plugin["lbp_points"] == 12  # defaults recorded too
    assert "validation accuracy" in result.stdout
    # predict dispatches on the run's task: a classifier predicts catalog images, not dataset splits
    refused = cli("predict", run_id, "--dataset", str(dataset), "--out", str(cli.cwd / "masks"), check=False)
    assert refused.returncode == 1 and "does not predict dataset splits" in refused.stderr
    assert len(error_lines(refused.stderr)) == 1
    for args, fragment in ((["--accept", "abc"], "--accept 'abc'"), (["--bogus"], "unexpected argument '--bogus'")):
        bad = cli("predict", run_id, *args, check=False)
        assert bad.returncode in (1, 2) and fragment in bad.stderr and len(error_lines(bad.stderr)) == 1
    assert not (cli.cwd / "masks").exists()
    assert [r["run_kind"] for r in cli.rows("SELECT run_kind FROM model_runs")] == ["train"]


def test_plugins_lists_each_model_plugins_task_and_parameters(cli):
    out = cli("plugins").stdout
    texture = [line for line in out.splitlines() if line.startswith("model      texture")]
    assert texture and "task classification" in texture[0]
    assert "levels=256" in out and "select_k=[8, 16, 'all']" in out and "backbone='resnet50'" in out


def test_params_model_refuses_unknown_and_ill_typed_and_keeps_defaults():
    from fairmicro.models.hybrid_cnn.plugin import HybridCnnPlugin
    from fairmicro.models.texture import TexturePlugin

    assert TexturePlugin().params["distances"] == [1, 2, 4]
    assert HybridCnnPlugin(epochs="3").params["epochs"] == 3
    with pytest.raises(ModelError, match=r"^texture: unknown parameter\(s\) colour, size; .*known: mode, metadata"):
        TexturePlugin(colour=1, size=2)
    with pytest.raises(ModelError, match="epochs=2.5"):
        HybridCnnPlugin(epochs=2.5)
    for plugin in (TexturePlugin, HybridCnnPlugin):
        assert plugin.task == "classification"
        assert all(f.description for f in plugin.Params.model_fields.values()), plugin


# -------------------------------------------------------------------- tasks
def test_every_task_is_registered_and_names_its_columns():
    assert {"classification", "segmentation", "pretraining", "zero-shot"} <= set(task_names())
    assert get_task("classification").columns == ("image", "label")
    assert get_task("pretraining").columns == ("image",)
    assert "mask" in get_task("segmentation").columns
    assert get_task("zero-shot").trains is False
    with pytest.raises(ModelError, match="no model task 'regression'"):
        get_task("regression")


def test_check_dataset_names_the_missing_column():
    datasets = pytest.importorskip("datasets")
    split = datasets.Dataset.from_dict({"image": [np.zeros((4, 4), np.uint8)]})
    get_task("pretraining").check_dataset(split)
    with pytest.raises(ModelError, match="the train split has no 'label' column, which a classification model needs"):
        get_task("classification").check_dataset(split)
    with pytest.raises(ModelError, match="no 'mask' column"):
        get_task("segmentation").check_dataset(split)


# --------------------------------------------- pretraining and zero-shot plugins
class _MeanParams(PluginParams):
    epochs: int = Field(3, description="Epochs.")


class MeanPretrainer(ModelPlugin):
    """Learns the mean grey value; its 'loss' falls each epoch. Never reads a label."""

    name: ClassVar[str] = "mean-pretrainer"
    task: ClassVar[str] = "pretraining"
    Params: ClassVar[type[PluginParams]] = _MeanParams

    def fit(self, train: Any, validation: Any | None = None) -> MeanPretrainer:
        assert validation is None
        images = [np.asarray(image, dtype=float) for image in train.select_columns(["image"])["image"]]
        self.mean_ = float(np.mean([i.mean() for i in images]))
        self.history_ = {"loss": [1.0 / (epoch + 1) for epoch in range(self.params["epochs"])]}
        return self

    def save(self, folder: Path) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "mean.json"
        path.write_text(json.dumps({"params": self.params, "mean": self.mean_}))
        return [path]

    @classmethod
    def load(cls, folder: Path) -> MeanPretrainer:
        state = json.loads((folder / "mean.json").read_text())
        model = cls(**state["params"])
        model.mean_ = state["mean"]
        return model


class BrightDark(ModelPlugin):
    """Zero-shot: 'bright' when the mean grey value is above 127. No training."""

    name: ClassVar[str] = "bright-dark"
    task: ClassVar[str] = "zero-shot"
    classes_: ClassVar[list[str]] = ["bright", "dark"]

    def fit(self, train: Any, validation: Any | None = None) -> BrightDark:
        raise AssertionError("a zero-shot plugin is never fitted")

    def predict_proba(self, data: Any) -> np.ndarray:
        means = np.array([np.asarray(i, dtype=float).mean() for i in data.select_columns(["image"])["image"]])
        bright = (means > 127).astype(float)
        return np.stack([bright, 1 - bright], axis=1).reshape(len(data), 2)

    def save(self, folder: Path) -> list[Path]:
        return []

    @classmethod
    def load(cls, folder: Path) -> BrightDark:
        return cls()


def error_lines(stderr: str) -> list[str]:
    """The lines of a failure, without the one usage hint a usage error ends with (issue 13's convention)."""
    lines = stderr.strip().splitlines()
    if len(lines) > 1 and lines[-1].startswith("Usage: ") and "--help" in lines[-1]:
        lines = lines[:-1]
    return lines


@pytest.fixture
def extra_plugins(monkeypatch):
    found = dict(registry.plugin_entry_points())
    for plugin in (MeanPretrainer, BrightDark):
        found[plugin.name] = EntryPoint(plugin.name, f"{__name__}:{plugin.__name__}", registry.GROUP)
    monkeypatch.setattr(registry, "plugin_entry_points", lambda: found)
    monkeypatch.setattr(runner, "plugin_entry_points", lambda: found)


def test_pretrain_records_a_pretrain_run_with_its_loss_history(textured, extra_plugins):
    cli, dataset = textured
    result = runner.pretrain(
        "mean-pretrainer", str(dataset), {"epochs": 4}, catalog=cli.catalog, runs_dir=cli.cwd / "runs"
    )
    run = load_run(cli.catalog, result.run_id)
    assert (run["run_kind"], run["task"], run["status"], run["split"]) == (
        "pretrain",
        "pretraining",
        "succeeded",
        "train",
    )
    assert run["metrics"]["history"]["loss"] == [1.0, 0.5, 1 / 3, 0.25]
    assert run["metrics"]["loss_last"] < run["metrics"]["loss_first"]
    roles = {a["role"] for a in run["artifacts"]}
    assert {"model", "loss_curve", "metrics"} <= roles and "confusion_matrix" not in roles
    assert cli.rows(f"SELECT count(*) AS n FROM predictions WHERE model_run_id = '{result.run_id}'")[0]["n"] == 0
    assert isinstance(runner.load_model(run), MeanPretrainer)  # what a fine-tuning run starts from
    assert "loss 1.0000 -> 0.2500 over 4 epoch(s)" in result.summary[0]


def test_train_and_pretrain_refuse_the_other_kind_of_plugin_before_any_run(textured, extra_plugins):
    cli, dataset = textured
    with pytest.raises(ModelError, match="mean-pretrainer is a pretraining plugin; run `fairmicro pretrain"):
        runner.train("mean-pretrainer", str(dataset), {}, catalog=cli.catalog)
    with pytest.raises(ModelError, match="texture is a classification plugin; run `fairmicro train texture"):
        runner.pretrain("texture", str(dataset), {}, catalog=cli.catalog)
    with pytest.raises(ModelError, match="never trained"):
        runner.train("bright-dark", str(dataset), {}, catalog=cli.catalog)
    with pytest.raises(ModelError, match="mean-pretrainer: unknown parameter"):
        runner.pretrain("mean-pretrainer", str(dataset), {"epoch": 2}, catalog=cli.catalog)
    _no_runs(cli)


def test_zero_shot_plugin_is_evaluated_without_a_training_run(textured, extra_plugins):
    cli, dataset = textured
    result = runner.evaluate("bright-dark", str(dataset), "test", catalog=cli.catalog, runs_dir=cli.cwd / "runs")
    run = load_run(cli.catalog, result.run_id)
    assert (run["run_kind"], run["task"], run["parent_run_id"], run["status"]) == (
        "evaluate",
        "zero-shot",
        None,
        "succeeded",
    )
    assert sum(result.metrics["predicted"].values()) == result.metrics["n"] > 0
    rows = cli.rows(f"SELECT predicted_label, true_label FROM predictions WHERE model_run_id = '{result.run_id}'")
    assert rows and {r["predicted_label"] for r in rows} <= {"bright", "dark"}
    assert all(r["true_label"] is None for r in rows)  # the dataset's labels are not the plugin's classes
    with pytest.raises(ModelError, match="--dataset is required"):
        runner.evaluate("bright-dark", None, "test", catalog=cli.catalog)
    with pytest.raises(ModelError, match="train it first"):
        runner.evaluate("texture", str(dataset), "test", catalog=cli.catalog)

"""The texture baseline and the run framework, on built datasets with a learnable signal."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from fairmicro.errors import ModelError
from fairmicro.models.provenance import load_run
from fairmicro.models.runner import evaluate, load_model, train

# Default parameters throughout: `-p levels=32` used to copy the image and hide the
# read-only-buffer crash every default 8-bit run hit.


def _train(cli, dataset, shuffle=False, **params):
    return train(
        "texture", str(dataset), params, catalog=cli.catalog, runs_dir=cli.cwd / "runs", shuffle_metadata_check=shuffle
    )


@pytest.mark.slow
def test_texture_mode_beats_chance_and_records_provenance(textured):
    cli, dataset = textured
    result = _train(cli, dataset, mode="texture")
    scores = result.metrics["scores"]
    assert scores["accuracy"] >= 0.9  # chance is 1/3
    run = load_run(cli.catalog, result.run_id)
    assert (run["plugin"], run["run_kind"], run["status"], run["split"], run["seed"]) == (
        "texture",
        "train",
        "succeeded",
        "train",
        0,
    )
    assert run["dataset_ref"] == str(dataset)
    fingerprint = cli.rows("SELECT fingerprint FROM datasets WHERE name = 'demo'")[0]["fingerprint"]
    assert run["dataset_revision"] == fingerprint
    assert run["parameters"]["plugin"]["mode"] == "texture" and run["parameters"]["image_size"] == [32, 32]
    assert {"numpy", "scikit-learn", "fairmicro"} <= set(run["library_versions"])
    assert run["ended_at"] >= run["started_at"] and run["host"]
    assert set(run["metrics"]["scores"]["per_class"]) == {"ferrite_pearlite", "martensite", "spheroidite"}
    assert np.array(run["metrics"]["scores"]["confusion_matrix"]).sum() == scores["n"]
    roles = {a["role"]: a for a in run["artifacts"]}
    assert {"model", "metrics", "confusion_matrix", "training_curves"} <= set(roles)
    curve = json.loads(Path(roles["metrics"]["path"]).read_text())  # metrics.json is what was recorded
    assert curve["scores"]["accuracy"] == scores["accuracy"]
    for artifact in run["artifacts"]:
        assert Path(artifact["path"]).is_file()
    predictions = cli.rows(
        f"SELECT count(*) AS n, count(DISTINCT image_sha256) AS images FROM predictions "
        f"WHERE model_run_id = '{result.run_id}'"
    )
    assert predictions[0]["n"] == scores["n"] and predictions[0]["images"] * 4 == scores["n"]


@pytest.mark.slow
def test_reloaded_model_predicts_identically(textured):
    from fairmicro.builders.resolve import resolve_dataset

    cli, dataset = textured
    result = _train(cli, dataset, mode="hybrid")
    validation = resolve_dataset(dataset, catalog=cli.catalog).dataset["validation"]
    model = load_model(load_run(cli.catalog, result.run_id))
    first = model.predict_proba(validation)
    again = load_model(load_run(cli.catalog, result.run_id)).predict_proba(validation)
    assert np.array_equal(first, again)
    assert first.shape == (len(validation), 3)


@pytest.mark.slow
def test_metadata_carries_the_label_and_shuffling_removes_it(metadata_only):
    cli, dataset = metadata_only
    texture_only = _train(cli, dataset, mode="texture").metrics["scores"]["accuracy"]
    hybrid = _train(cli, dataset, mode="hybrid", shuffle=True).metrics
    metadata = _train(cli, dataset, mode="metadata", shuffle=True).metrics
    assert metadata["scores"]["accuracy"] >= 0.9
    assert hybrid["scores"]["accuracy"] - texture_only >= 0.3
    assert metadata["shuffled_metadata_at_evaluation"]["accuracy_change"] <= -0.3
    assert metadata["shuffled_metadata_at_training"]["accuracy_change"] <= -0.3
    assert "heat_treatment_temperature_c" in metadata["metadata_columns"]


@pytest.mark.slow
def test_evaluate_links_to_its_training_run(textured):
    cli, dataset = textured
    trained = _train(cli, dataset, mode="texture")
    scored = evaluate(
        trained.run_id, split="test", shuffle_metadata_check=True, catalog=cli.catalog, runs_dir=cli.cwd / "runs"
    )
    run = load_run(cli.catalog, scored.run_id)
    assert (run["run_kind"], run["parent_run_id"], run["split"]) == ("evaluate", trained.run_id, "test")
    assert scored.metrics["scores"]["accuracy"] >= 0.9
    assert scored.metrics["shuffled_metadata_at_evaluation"] == {"skipped": "the model uses no metadata"}


def test_failed_training_is_recorded_as_failed(textured):
    cli, dataset = textured
    with pytest.raises(ModelError, match="mode"):
        _train(cli, dataset, mode="telepathy")
    [row] = cli.rows("SELECT status, metrics FROM model_runs")
    assert row["status"] == "failed" and "telepathy" in json.loads(row["metrics"])["error"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["train", "nosuchmodel", "--dataset", "x"], "no model plugin 'nosuchmodel'"),
        (["train", "texture", "--dataset", "x", "-p", "colour=blue"], "unknown parameter(s) colour"),
        (["train", "texture"], "--dataset is required"),
        (["evaluate", "no-such-run"], "no model run 'no-such-run'"),
    ],
)
def test_cli_errors_are_one_line(textured, args, fragment):
    cli, _ = textured
    result = cli(*args, check=False)
    assert result.returncode == 1
    assert fragment in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_default_cli_train_on_8bit_data_does_not_crash_and_shows_grouped_and_leaky_cv(textured):
    cli, dataset = textured
    trained = cli("train", "texture", "--dataset", str(dataset), "--runs-dir", str(cli.cwd / "runs"), check=False)
    assert trained.returncode == 0 and "Traceback" not in trained.stderr, trained.stderr
    out = trained.stdout
    assert "validation accuracy" in out
    assert "grouped CV (StratifiedGroupKFold by specimen_id" in out and "leaky ungrouped CV" in out
    run_id = out.split()[1].rstrip(":")
    assert "test accuracy" in cli("evaluate", run_id).stdout
    listed = json.loads(cli("runs", "--format", "json").stdout)
    assert [r["run_kind"] for r in listed] == ["train", "evaluate"]
    assert (cli.cwd / "runs" / run_id / "confusion_matrix.png").is_file()
    report = load_run(cli.catalog, run_id)["metrics"]["model_report"]
    cv = report["cv"]
    assert cv["group_column"] == "specimen_id" and cv["n_groups"] >= 2
    for figures in (cv["grouped"], cv["leaky_ungrouped"]):
        assert 0.0 <= figures["accuracy"] <= 1.0 and 0.0 <= figures["balanced_accuracy"] <= 1.0
    assert cv["leakage_gap"]["accuracy"] == pytest.approx(cv["leaky_ungrouped"]["accuracy"] - cv["grouped"]["accuracy"])
    ranking = report["feature_ranking"]
    assert len(ranking) == 28 and [r["rank"] for r in ranking if r["rank"]] == list(
        range(1, len([r for r in ranking if r["rank"]]) + 1)
    )
    assert report["selected_features"] == [r["feature"] for r in ranking if r["selected"]]
    assert report["best_params"]["select__k"] in (8, 16, "all")


def test_texture_features_accept_read_only_8bit_images():
    from fairmicro.models.texture_features import TextureSpec, texture_features
    from fairmicro.testing.samples import texture

    image = texture((40, 40))
    image.setflags(write=False)  # as datasets/Arrow/PIL hand images out
    assert texture_features(image, TextureSpec()).shape == (28,)


def _without(dataset, tmp_path, *columns):
    from fairmicro.builders.resolve import resolve_dataset

    splits = resolve_dataset(str(dataset)).dataset
    return {
        name: split.remove_columns([c for c in columns if c in split.column_names]) for name, split in splits.items()
    }


@pytest.mark.slow
@pytest.mark.parametrize(
    ("dropped", "expected_group", "warned"),
    [
        ((), "specimen_id", False),
        (("specimen_id",), "image_sha256", True),
        (("specimen_id", "image_sha256"), None, True),
    ],
)
def test_without_a_specimen_column_cv_falls_back_and_says_so(
    textured, tmp_path, caplog, dropped, expected_group, warned
):
    from fairmicro.models.texture import TexturePlugin

    _, dataset = textured
    splits = _without(dataset, tmp_path, *dropped)
    with caplog.at_level("WARNING"):
        model = TexturePlugin().fit(splits["train"])
    cv = model.report()["cv"]
    assert cv["group_column"] == expected_group
    assert (cv["warning"] is not None) == warned and (("texture:" in caplog.text) == warned)
    if expected_group is None:
        assert cv["scheme"] == "StratifiedKFold" and cv["leaky_ungrouped"] is None
    assert model.predict_proba(splits["test"]).shape == (len(splits["test"]), 3)


@pytest.mark.slow
def test_one_specimen_per_class_in_training_does_not_report_a_zero_grouped_cv(tmp_path, caplog):
    # The demo's 0.34/0.33/0.33 split leaves one specimen of each class in training: folds grouped by
    # specimen then hold out a whole class and scored 0.000, reported as the "grouped CV accuracy".
    import datasets

    from fairmicro.models.texture import TexturePlugin
    from fairmicro.testing.samples import write_demo_collection
    from tests.conftest import Cli

    cli = Cli(tmp_path / "catalog.duckdb", tmp_path)
    table = write_demo_collection(tmp_path / "lab", images_per_specimen=2, shape=(64, 64), specimens_per_class=3)
    cli(
        "ingest",
        str(tmp_path / "lab"),
        "--specimens",
        str(table),
        "--specimen-pattern",
        r"(?P<specimen_id>HC\d+)_",
        "--label-from-folder",
    )
    cli(
        "build",
        "thin",
        "--tile",
        "32",
        "--split-by",
        "specimen_id",
        "--splits",
        "0.34,0.33,0.33",
        "--seed",
        "0",
        "--license",
        "CC-BY-4.0",
        "--out",
        str(tmp_path / "ds"),
    )
    train_split = datasets.load_dataset(str(tmp_path / "ds"))["train"]
    assert len(set(train_split["specimen_id"])) == 3  # one specimen per class
    with caplog.at_level("WARNING"):
        cv = TexturePlugin().fit(train_split).report()["cv"]
    assert cv["group_column"] == "image_sha256" and "only one specimen_id" in cv["warning"]
    assert cv["grouped"]["accuracy"] > 0.5  # chance is 1/3; the held-out-class folds gave 0.0
    assert "only one specimen_id" in caplog.text


def test_feature_settings_without_a_co_occurrence_are_refused_in_one_line(textured):
    cli, dataset = textured
    result = cli("train", "texture", "--dataset", str(dataset), "-p", "levels=0", "--runs-dir", "runs", check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "levels=0" in result.stderr and "greater than or equal to 2" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not list((cli.cwd / "runs").rglob("model.joblib"))
    assert all(row["status"] != "finished" for row in cli.rows("SELECT status FROM model_runs"))


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"levels": 1}, "levels=1: Input should be greater than or equal to 2"),
        ({"levels": 65536}, "levels=65536: Input should be less than or equal to 256"),
        ({"distances": []}, "distances=[]: List should have at least 1 item"),
        ({"levels": -3, "mode": "hybrid"}, "levels=-3: Input should be greater than or equal to 2"),
    ],
)
def test_feature_settings_are_checked_before_any_work(params, problem):
    from fairmicro.models.texture import TexturePlugin

    with pytest.raises(ModelError, match=re.escape(problem)):
        TexturePlugin(**params)

"""The texture baseline and the run framework, on built datasets with a learnable signal."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fairmicro.errors import ModelError
from fairmicro.models.provenance import load_run
from fairmicro.models.runner import evaluate, load_model, train

FAST = {"distances": [1, 2], "levels": 32, "select_k": ["all"], "cv_folds": 2}


def _train(cli, dataset, shuffle=False, **params):
    return train("texture", str(dataset), {**FAST, **params}, catalog=cli.catalog, runs_dir=cli.cwd / "runs",
                 shuffle_metadata_check=shuffle)


def test_texture_mode_beats_chance_and_records_provenance(textured):
    cli, dataset = textured
    result = _train(cli, dataset, mode="texture")
    scores = result.metrics["scores"]
    assert scores["accuracy"] >= 0.9  # chance is 1/3
    run = load_run(cli.catalog, result.run_id)
    assert (run["plugin"], run["run_kind"], run["status"], run["split"], run["seed"]) == ("texture", "train", "succeeded", "train", 0)
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
    predictions = cli.rows(f"SELECT count(*) AS n, count(DISTINCT image_sha256) AS images FROM predictions "
                           f"WHERE model_run_id = '{result.run_id}'")
    assert predictions[0]["n"] == scores["n"] and predictions[0]["images"] * 4 == scores["n"]


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


def test_evaluate_links_to_its_training_run(textured):
    cli, dataset = textured
    trained = _train(cli, dataset, mode="texture")
    scored = evaluate(trained.run_id, split="test", shuffle_metadata_check=True, catalog=cli.catalog,
                      runs_dir=cli.cwd / "runs")
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


def test_cli_train_evaluate_runs(textured):
    cli, dataset = textured
    out = cli("train", "texture", "--dataset", str(dataset), "--mode", "texture", "-p", "levels=32",
              "-p", "distances=[1]", "--runs-dir", str(cli.cwd / "runs")).stdout
    assert "validation accuracy" in out
    run_id = out.split()[1].rstrip(":")
    assert "test accuracy" in cli("evaluate", run_id).stdout
    listed = json.loads(cli("runs", "--format", "json").stdout)
    assert [r["run_kind"] for r in listed] == ["train", "evaluate"]
    assert (cli.cwd / "runs" / run_id / "confusion_matrix.png").is_file()

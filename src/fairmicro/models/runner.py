"""Train and evaluate model plugins on resolved datasets, with provenance in the catalog."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fairmicro.catalog.connection import resolve_catalog_path
from fairmicro.errors import ModelError
from fairmicro.hashing import sha256_file
from fairmicro.models import artifacts
from fairmicro.models.base import ModelPlugin
from fairmicro.models.data import class_names, labels
from fairmicro.models.evaluation import score, shuffle_metadata
from fairmicro.models.provenance import RunRecorder, load_run, new_run_id
from fairmicro.models.registry import get_plugin
from fairmicro.schema import models

MODEL_FOLDER = "model"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunResult:
    """What a finished run reports back."""

    run_id: str
    metrics: dict[str, Any]
    folder: Path


def runs_folder(catalog: str | Path | None, runs_dir: str | Path | None) -> Path:
    """Where run artifacts go: ``runs_dir``, else ``fairmicro-runs/`` beside the catalog."""
    if runs_dir is not None:
        return Path(runs_dir)
    return resolve_catalog_path(catalog).absolute().parent / "fairmicro-runs"


def _split(dataset: Any, name: str) -> Any:
    if name not in dataset:
        raise ModelError(f"dataset has no split {name!r}; it has {', '.join(dataset)}")
    return dataset[name]


def prediction_rows(run_id: str, split: str | None, data: Any, classes: list[str], probabilities: np.ndarray) -> list[models.Prediction]:
    """One Prediction per dataset row (tile origin 0, 0 when the dataset is not tiled)."""
    columns = data.column_names
    table = data.select_columns([c for c in ("image_sha256", "tile_x_px", "tile_y_px", "label") if c in columns]).to_dict()
    count = len(data)
    truth = table.get("label", [None] * count)
    rows = {}
    for index in range(count):
        key = (table["image_sha256"][index], (table.get("tile_x_px") or [0] * count)[index],
               (table.get("tile_y_px") or [0] * count)[index])
        best = int(probabilities[index].argmax())
        rows[key] = models.Prediction(
            model_run_id=run_id, image_sha256=key[0], tile_x_px=int(key[1] or 0), tile_y_px=int(key[2] or 0),
            split=split, true_label=None if truth[index] is None else classes[truth[index]],
            predicted_label=classes[best], confidence=float(probabilities[index, best]),
            probabilities=json.dumps(dict(zip(classes, map(float, probabilities[index]), strict=True))),
        )
    return list(rows.values())


def _save_outputs(folder: Path, metrics: dict[str, Any], model: ModelPlugin | None, title: str) -> list[dict[str, Any]]:
    folder.mkdir(parents=True, exist_ok=True)
    described = []
    if model is not None:
        described += [{**d, "role": "model"} for d in artifacts.describe(model.save(folder / MODEL_FOLDER))]
    pictures = [artifacts.plot_confusion(folder, metrics["scores"], title)]
    curves = artifacts.plot_history(folder, getattr(model, "history_", None)) if model is not None else None
    pictures += [curves] if curves else []
    described += [{**d, "role": p.stem} for d, p in zip(artifacts.describe(pictures), pictures, strict=True)]
    metrics_file = artifacts.write_metrics(folder, metrics)
    described += [{**d, "role": "metrics"} for d in artifacts.describe([metrics_file])]
    return described


def _scores(model: ModelPlugin, data: Any) -> tuple[np.ndarray, dict[str, Any]]:
    probabilities = model.predict_proba(data)
    return probabilities, score(model.classes_, labels(data), probabilities)


def _shuffle_check(model: ModelPlugin, data: Any, baseline: dict[str, Any], seed: int) -> dict[str, Any]:
    """Accuracy with the model's metadata columns permuted across rows."""
    if not model.metadata_columns_:
        return {"skipped": "the model uses no metadata"}
    _, shuffled = _scores(model, shuffle_metadata(data, model.metadata_columns_, seed))
    return {"accuracy": shuffled["accuracy"], "accuracy_change": shuffled["accuracy"] - baseline["accuracy"],
            "columns": model.metadata_columns_}


def train(
    plugin_name: str,
    dataset_ref: str,
    params: dict[str, Any],
    *,
    catalog: str | Path | None = None,
    runs_dir: str | Path | None = None,
    shuffle_metadata_check: bool = False,
) -> RunResult:
    """Fit a plugin on the ``train`` split, score it on ``validation`` (else ``train``)."""
    from fairmicro.builders.resolve import resolve_dataset

    plugin = get_plugin(plugin_name)
    model = plugin(**params)
    resolved = resolve_dataset(dataset_ref, catalog=catalog)
    _split(resolved.dataset, "train")
    recorder = RunRecorder(
        resolve_catalog_path(catalog), new_run_id(plugin_name), plugin_name, model.version, "train",
        {"plugin": model.get_params(), "shuffle_metadata_check": shuffle_metadata_check,
         **_dataset_build(resolved.provenance)},
        resolved.provenance.ref, resolved.provenance.dataset_revision, "train",
        int(model.get_params().get("seed", 0) or 0),
    )
    job = _TrainJob(recorder, model, resolved.dataset, resolved.provenance, runs_folder(catalog, runs_dir))
    recorder.start()
    try:
        return job.run(shuffle_metadata_check)
    except BaseException as exc:
        recorder.fail(str(exc) or type(exc).__name__)
        raise


@dataclass
class _TrainJob:
    """One training run: fit, score, optional metadata checks, artifacts, provenance."""

    recorder: RunRecorder
    model: ModelPlugin
    dataset: Any
    provenance: Any
    runs_root: Path

    @property
    def validation(self) -> Any | None:
        return self.dataset["validation"] if "validation" in self.dataset else None

    @property
    def eval_name(self) -> str:
        return "validation" if self.validation is not None else "train"

    def run(self, shuffle_check: bool) -> RunResult:
        model, train_data, eval_data = self.model, self.dataset["train"], self.dataset[self.eval_name]
        model.fit(train_data, self.validation)
        probabilities, scores = _scores(model, eval_data)
        metrics: dict[str, Any] = {"split": self.eval_name, "scores": scores,
                                   "metadata_columns": model.metadata_columns_, "dataset": self.provenance.__dict__}
        if hasattr(model, "report"):
            metrics["model_report"] = model.report()
        if shuffle_check:
            seed = self.recorder.seed or 0
            metrics["shuffled_metadata_at_evaluation"] = _shuffle_check(model, eval_data, scores, seed)
            metrics["shuffled_metadata_at_training"] = self._shuffled_training(scores, seed)
        self.recorder.parameters.update(metadata_columns=model.metadata_columns_, image_size=_image_size(train_data))
        folder = self.runs_root / self.recorder.run_id
        described = _save_outputs(folder, metrics, model, f"{self.recorder.run_id} on {self.eval_name}")
        rows = prediction_rows(self.recorder.run_id, self.eval_name, eval_data, model.classes_, probabilities)
        self.recorder.finish(metrics, described, rows)
        return RunResult(self.recorder.run_id, metrics, folder)

    def _shuffled_training(self, baseline: dict[str, Any], seed: int) -> dict[str, Any]:
        """Refit with the training metadata permuted across rows; compare accuracy on the same split."""
        if not self.model.metadata_columns_:
            return {"skipped": "the model uses no metadata"}
        shuffled_train = shuffle_metadata(self.dataset["train"], self.model.metadata_columns_, seed)
        control = type(self.model)(**self.model.get_params()).fit(shuffled_train, self.validation)
        _, scores = _scores(control, self.dataset[self.eval_name])
        return {"accuracy": scores["accuracy"], "accuracy_change": scores["accuracy"] - baseline["accuracy"]}


def _dataset_build(provenance: Any) -> dict[str, Any]:
    """Which build the dataset came from and how it turned images into rows (read from its card).

    ``fairmicro predict`` prepares new images with this ``input_plan``; a Hub
    dataset carries it in its card, so the run needs no catalog to know it.
    """
    from fairmicro.builders.model_input import MODEL_INPUT_KEY, card_metadata

    recorded = card_metadata(Path(provenance.path))
    return {"dataset_fingerprint": recorded.get("fingerprint") or provenance.fingerprint,
            "input_plan": recorded.get(MODEL_INPUT_KEY)}


def _warn_other_input(parent: dict[str, Any], provenance: Any) -> None:
    """Warn when the evaluated dataset cut its images differently from the training dataset."""
    trained = (parent.get("parameters") or {}).get("input_plan")
    evaluated = _dataset_build(provenance)["input_plan"]
    if trained and evaluated and trained != evaluated:
        log.warning("run %s was trained on rows cut with %s; this dataset was cut with %s",
                    parent["run_id"], trained, evaluated)


def _image_size(data: Any) -> list[int] | None:
    if not len(data):
        return None
    first = np.asarray(data[0]["image"])
    return [int(first.shape[0]), int(first.shape[1])]


def load_model(run: dict[str, Any]) -> ModelPlugin:
    """The fitted model of a training run, after checking its files' sha256."""
    if run.get("run_kind") != "train" or run.get("status") != "succeeded":
        raise ModelError(f"run {run['run_id']} is a {run.get('status')} {run.get('run_kind')} run, not a finished training run")
    model_files = [a for a in run.get("artifacts") or [] if a.get("role") == "model"]
    if not model_files:
        raise ModelError(f"run {run['run_id']} recorded no model files")
    for artifact in model_files:
        path = Path(artifact["path"])
        if not path.is_file() or sha256_file(path) != artifact["sha256"]:
            raise ModelError(f"run {run['run_id']}: model file {path} is missing or changed since the run")
    return get_plugin(run["plugin"]).load(Path(model_files[0]["path"]).parent)


def evaluate(
    run_id: str,
    dataset_ref: str | None = None,
    split: str = "test",
    *,
    shuffle_metadata_check: bool = False,
    catalog: str | Path | None = None,
    runs_dir: str | Path | None = None,
) -> RunResult:
    """Score a trained model on a split; an ``evaluate`` run linked to its training run."""
    from fairmicro.builders.resolve import resolve_dataset

    parent = load_run(resolve_catalog_path(catalog), run_id)
    model = load_model(parent)
    resolved = resolve_dataset(dataset_ref or parent["dataset_ref"], catalog=catalog)
    data = _split(resolved.dataset, split)
    _warn_other_input(parent, resolved.provenance)
    if class_names(data) != model.classes_:
        raise ModelError(f"dataset classes {class_names(data)} differ from the model's {model.classes_}")
    seed = int(parent.get("seed") or 0)
    recorder = RunRecorder(
        resolve_catalog_path(catalog), new_run_id(parent["plugin"]), parent["plugin"], model.version, "evaluate",
        {"shuffle_metadata_check": shuffle_metadata_check}, resolved.provenance.ref,
        resolved.provenance.dataset_revision, split, seed, parent_run_id=run_id,
    )
    recorder.start()
    try:
        probabilities, scores = _scores(model, data)
        metrics: dict[str, Any] = {"split": split, "scores": scores, "metadata_columns": model.metadata_columns_}
        if shuffle_metadata_check:
            metrics["shuffled_metadata_at_evaluation"] = _shuffle_check(model, data, scores, seed)
        folder = runs_folder(catalog, runs_dir) / recorder.run_id
        described = _save_outputs(folder, metrics, None, f"{run_id} on {split}")
        recorder.finish(metrics, described, prediction_rows(recorder.run_id, split, data, model.classes_, probabilities))
    except BaseException as exc:
        recorder.fail(str(exc) or type(exc).__name__)
        raise
    return RunResult(recorder.run_id, metrics, folder)

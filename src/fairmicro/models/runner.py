"""The run lifecycle: run id, run record, artifact folder and provenance for every model run.

What a run computes is its task's business (:mod:`fairmicro.models.tasks`):
the runner resolves the dataset, asks the plugin's task to check, fit, score,
plot and write its rows, and records the run around that (``running`` at
start, ``succeeded`` with metrics and artifacts' sha256 in one transaction
with the task's rows, or ``failed`` with the reason).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fairmicro.catalog import Catalog
from fairmicro.catalog.connection import ENV_VAR, resolve_catalog_path
from fairmicro.errors import ModelError
from fairmicro.hashing import sha256_file
from fairmicro.models import artifacts
from fairmicro.models.base import ModelPlugin
from fairmicro.models.provenance import RunRecorder, load_run, new_run_id
from fairmicro.models.registry import get_plugin, plugin_entry_points
from fairmicro.models.tasks import get_task
from fairmicro.models.tasks.base import Evaluation, Task

MODEL_FOLDER = "model"
MODEL_KINDS = ("train", "pretrain")  # runs whose saved model later runs load
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunResult:
    """What a finished run reports back (``summary``: the task's lines for the CLI)."""

    run_id: str
    metrics: dict[str, Any]
    folder: Path
    task: str = "classification"
    summary: list[str] = field(default_factory=list)


def runs_folder(catalog: str | Path | None, runs_dir: str | Path | None) -> Path:
    """Where run artifacts go: ``runs_dir``, else ``fairmicro-runs/`` beside the catalog file.

    A shared DuckLake catalog has no file to sit beside: its runs go under the
    shared ``--data-path`` when that is a local folder, else the working directory.
    """
    if runs_dir is not None:
        return Path(runs_dir)
    from fairmicro.catalog.ducklake import data_path, is_lake

    location = catalog if catalog is not None else os.environ.get(ENV_VAR)
    if is_lake(location):
        shared = data_path()
        base = Path(shared) if shared and "://" not in shared else Path.cwd()
        return base.absolute() / "fairmicro-runs"
    return resolve_catalog_path(catalog).absolute().parent / "fairmicro-runs"


def _split(dataset: Any, name: str) -> Any:
    if name not in dataset:
        raise ModelError(f"dataset has no split {name!r}; it has {', '.join(dataset)}")
    return dataset[name]


def plugin_task(plugin: type[ModelPlugin]) -> Task:
    """The task object of a plugin class."""
    return get_task(plugin.task)


def _save_outputs(
    folder: Path, task: Task, evaluation: Evaluation, model: ModelPlugin | None, title: str
) -> list[dict[str, Any]]:
    """Model files, the task's plots and files, and ``metrics.json``, each described with its sha256."""
    folder.mkdir(parents=True, exist_ok=True)
    described = []
    if model is not None:
        described += [{**d, "role": "model"} for d in artifacts.describe(model.save(folder / MODEL_FOLDER))]
    pictures = task.plots(folder, evaluation.metrics, model, title)
    described += [{**d, "role": p.stem} for d, p in zip(artifacts.describe(pictures), pictures, strict=True)]
    described += [{**d, "role": "output"} for d in artifacts.describe(evaluation.files)]
    metrics_file = artifacts.write_metrics(folder, evaluation.metrics)
    described += [{**d, "role": "metrics"} for d in artifacts.describe([metrics_file])]
    return described


def _finish(
    recorder: RunRecorder, task: Task, evaluation: Evaluation, described: list[dict[str, Any]], write: Any = None
) -> None:
    """Complete the run row and write the task's rows, in one transaction."""
    with Catalog.open(recorder.catalog_path) as catalog, catalog.transaction():
        recorder.complete(catalog, evaluation.metrics, described)
        (write or task.write_outputs)(catalog, recorder.run_id, evaluation)


def _guarded(recorder: RunRecorder, job: Any) -> Any:
    """Start the run, run ``job``; a failure marks the run failed and propagates."""
    recorder.start()
    try:
        return job()
    except BaseException as exc:
        recorder.fail(str(exc) or type(exc).__name__)
        raise


def _check_kind(plugin: type[ModelPlugin], task: Task, kind: str) -> None:
    if not task.trains:
        raise ModelError(
            f"{plugin.name} is a {task.name} plugin and is never trained; "
            f"score it with `fairmicro evaluate {plugin.name} --dataset D`"
        )
    if task.fit_kind != kind:
        command = "pretrain" if task.fit_kind == "pretrain" else "train"
        raise ModelError(f"{plugin.name} is a {task.name} plugin; run `fairmicro {command} {plugin.name} ...`")


def train(
    plugin_name: str,
    dataset_ref: str,
    params: dict[str, Any],
    *,
    catalog: str | Path | None = None,
    runs_dir: str | Path | None = None,
    shuffle_metadata_check: bool = False,
    options: dict[str, Any] | None = None,
    kind: str = "train",
) -> RunResult:
    """Fit a plugin on its task's training split and score it (``validation``, else ``train``).

    ``kind`` is ``train`` or ``pretrain`` (see :func:`pretrain`); it must be the
    plugin's task's ``fit_kind``. ``options`` are the task's run options
    (e.g. ``shuffle_metadata`` for classification).
    """
    from fairmicro.builders.resolve import resolve_dataset

    plugin = get_plugin(plugin_name)
    task = plugin_task(plugin)
    _check_kind(plugin, task, kind)
    model = plugin(**params)
    task.check_model(model)
    options = {**(options or {}), **({"shuffle_metadata": True} if shuffle_metadata_check else {})}
    resolved = resolve_dataset(dataset_ref, catalog=catalog)
    train_name = task.training_split(resolved.dataset)
    task.check_dataset(resolved.dataset[train_name], train_name)
    parent = task.prepare(model, resolved.dataset[train_name], resolve_catalog_path(catalog))
    recorder = RunRecorder(
        resolve_catalog_path(catalog),
        new_run_id(plugin_name),
        plugin_name,
        model.version,
        kind,
        {
            "plugin": model.get_params(),
            "shuffle_metadata_check": shuffle_metadata_check,
            **({"options": options} if options else {}),
            **_dataset_build(resolved.provenance),
        },
        resolved.provenance.ref,
        resolved.provenance.dataset_revision,
        train_name,
        int(model.get_params().get("seed", 0) or 0),
        parent_run_id=parent,
        task=task.name,
    )
    job = _FitJob(
        recorder,
        task,
        model,
        resolved.dataset,
        resolved.provenance,
        runs_folder(catalog, runs_dir),
        train_name,
        options,
    )
    return _guarded(recorder, job.run)


def pretrain(plugin_name: str, dataset_ref: str, params: dict[str, Any], **kwargs: Any) -> RunResult:
    """Fit a pretraining plugin on unlabelled images: a run of kind ``pretrain`` (see :func:`train`)."""
    return train(plugin_name, dataset_ref, params, kind="pretrain", **kwargs)


@dataclass
class _FitJob:
    """One fitting run: fit, score, task checks, artifacts, provenance."""

    recorder: RunRecorder
    task: Task
    model: ModelPlugin
    dataset: Any
    provenance: Any
    runs_root: Path
    train_name: str
    options: dict[str, Any]

    def run(self) -> RunResult:
        task, model, train_data = self.task, self.model, self.dataset[self.train_name]
        validation = self.dataset["validation"] if "validation" in self.dataset and self.train_name == "train" else None
        task.fit(model, train_data, validation)
        eval_name = task.evaluation_split(self.dataset) or self.train_name
        seed = self.recorder.seed or 0
        evaluation = task.evaluate(model, self.dataset[eval_name], split=eval_name, seed=seed, options=self.options)
        evaluation.metrics.update(
            task.training_checks(model, self.dataset, evaluation, seed=seed, options=self.options)
        )
        evaluation.metrics["dataset"] = self.provenance.__dict__
        self.recorder.parameters.update(
            metadata_columns=list(getattr(model, "metadata_columns_", []) or []), image_size=_image_size(train_data)
        )
        folder = self.runs_root / self.recorder.run_id
        described = _save_outputs(folder, task, evaluation, model, f"{self.recorder.run_id} on {eval_name}")
        _finish(self.recorder, task, evaluation, described)
        return RunResult(self.recorder.run_id, evaluation.metrics, folder, task.name, task.summary(evaluation.metrics))


def _dataset_build(provenance: Any) -> dict[str, Any]:
    """Which build the dataset came from and how it turned images into rows (read from its card).

    ``fairmicro predict`` prepares new images with this ``input_plan``; a Hub
    dataset carries it in its card, so the run needs no catalog to know it.
    """
    from fairmicro.builders.model_input import MODEL_INPUT_KEY, card_metadata

    recorded = card_metadata(Path(provenance.path))
    return {
        "dataset_fingerprint": recorded.get("fingerprint") or provenance.fingerprint,
        "input_plan": recorded.get(MODEL_INPUT_KEY),
    }


def _warn_other_input(parent: dict[str, Any], provenance: Any) -> None:
    """Warn when the evaluated dataset cut its images differently from the training dataset."""
    trained = (parent.get("parameters") or {}).get("input_plan")
    evaluated = _dataset_build(provenance)["input_plan"]
    if trained and evaluated and trained != evaluated:
        log.warning(
            "run %s was trained on rows cut with %s; this dataset was cut with %s", parent["run_id"], trained, evaluated
        )


def _image_size(data: Any) -> list[int] | None:
    if not len(data) or "image" not in data.column_names:
        return None
    first = np.asarray(data[0]["image"])
    return [int(first.shape[0]), int(first.shape[1])]


def load_model(run: dict[str, Any]) -> ModelPlugin:
    """The fitted model of a finished training or pretraining run, after checking its files' sha256."""
    if run.get("run_kind") not in MODEL_KINDS or run.get("status") != "succeeded":
        raise ModelError(
            f"run {run['run_id']} is a {run.get('status')} {run.get('run_kind')} run, not a finished training run"
        )
    model_files = [a for a in run.get("artifacts") or [] if a.get("role") == "model"]
    if not model_files:
        raise ModelError(f"run {run['run_id']} recorded no model files")
    for artifact in model_files:
        path = Path(artifact["path"])
        if not path.is_file() or sha256_file(path) != artifact["sha256"]:
            raise ModelError(f"run {run['run_id']}: model file {path} is missing or changed since the run")
    return get_plugin(run["plugin"]).load(Path(model_files[0]["path"]).parent)


def run_task(run_id: str, catalog: str | Path | None) -> str:
    """The task of a recorded run (older runs: their plugin's task)."""
    run = load_run(resolve_catalog_path(catalog), run_id)
    return run.get("task") or get_plugin(run["plugin"]).task


@dataclass(frozen=True)
class _Source:
    """The model a scoring run uses: from a parent run, or a zero-shot plugin as it is."""

    model: ModelPlugin
    task: Task
    plugin: str
    parent: dict[str, Any] | None
    parameters: dict[str, Any]


def model_source(run_or_plugin: str, params: dict[str, Any] | None, catalog: str | Path | None) -> _Source:
    """A training run's model, or (for a task that never trains) a plugin made from ``params``."""
    if run_or_plugin in plugin_entry_points():
        plugin = get_plugin(run_or_plugin)
        task = plugin_task(plugin)
        if task.trains:
            raise ModelError(
                f"{run_or_plugin} is a {task.name} plugin: train it first "
                f"(`fairmicro train {run_or_plugin} ...`) and give the run id"
            )
        model = plugin(**(params or {}))
        return _Source(model, task, run_or_plugin, None, {"plugin": model.get_params()})
    if params:
        raise ModelError("plugin parameters (-p/--NAME) apply to a plugin, not to a run id")
    parent = load_run(resolve_catalog_path(catalog), run_or_plugin)
    model = load_model(parent)
    return _Source(model, plugin_task(type(model)), parent["plugin"], parent, {})


def evaluate(
    run_id: str,
    dataset_ref: str | None = None,
    split: str = "test",
    *,
    shuffle_metadata_check: bool = False,
    catalog: str | Path | None = None,
    runs_dir: str | Path | None = None,
    params: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
) -> RunResult:
    """Score a trained model (or a zero-shot plugin) on a split; an ``evaluate`` run linked to its parent."""
    from fairmicro.builders.resolve import resolve_dataset

    source = model_source(run_id, params, catalog)
    ref = dataset_ref or (source.parent or {}).get("dataset_ref")
    if ref is None:
        raise ModelError("--dataset is required to score a plugin that has no training run")
    resolved = resolve_dataset(ref, catalog=catalog)
    data = _split(resolved.dataset, split)
    if source.parent is not None:
        _warn_other_input(source.parent, resolved.provenance)
    source.task.check_compatible(source.model, data, split)
    options = {**(options or {}), **({"shuffle_metadata": True} if shuffle_metadata_check else {})}
    seed = int((source.parent or {}).get("seed") or source.model.get_params().get("seed", 0) or 0)
    recorder = RunRecorder(
        resolve_catalog_path(catalog),
        new_run_id(source.plugin),
        source.plugin,
        source.model.version,
        "evaluate",
        {**source.parameters, "shuffle_metadata_check": shuffle_metadata_check},
        resolved.provenance.ref,
        resolved.provenance.dataset_revision,
        split,
        seed,
        parent_run_id=None if source.parent is None else run_id,
        task=source.task.name,
    )
    title = f"{run_id} on {split}"

    def job() -> RunResult:
        evaluation = source.task.evaluate(source.model, data, split=split, seed=seed, options=options)
        folder = runs_folder(catalog, runs_dir) / recorder.run_id
        _finish(recorder, source.task, evaluation, _save_outputs(folder, source.task, evaluation, None, title))
        return RunResult(
            recorder.run_id, evaluation.metrics, folder, source.task.name, source.task.summary(evaluation.metrics)
        )

    return _guarded(recorder, job)


def predict_dataset(
    run_id: str,
    dataset_ref: str | None,
    split: str = "test",
    *,
    out: Path | None = None,
    accept: bool = False,
    catalog: str | Path | None = None,
    runs_dir: str | Path | None = None,
) -> RunResult:
    """Predict every row of a dataset split with its task (e.g. one mask per image into ``out``)."""
    from fairmicro.builders.resolve import resolve_dataset

    source = model_source(run_id, None, catalog)
    if type(source.task).predict_dataset is Task.predict_dataset:
        source.task.predict_dataset(source.model, None, split=split, out=out)  # the task's one-line refusal
    ref = dataset_ref or (source.parent or {}).get("dataset_ref")
    if ref is None:
        raise ModelError("--dataset is required to predict with a plugin that has no training run")
    resolved = resolve_dataset(ref, catalog=catalog)
    data = _split(resolved.dataset, split)
    source.task.check_out(data, out, resolve_catalog_path(catalog))
    seed = int((source.parent or {}).get("seed") or 0)
    recorder = RunRecorder(
        resolve_catalog_path(catalog),
        new_run_id(source.plugin),
        source.plugin,
        source.model.version,
        "predict",
        {"out": None if out is None else str(out), "accept": accept},
        resolved.provenance.ref,
        resolved.provenance.dataset_revision,
        split,
        seed,
        parent_run_id=run_id,
        task=source.task.name,
    )

    def job() -> RunResult:
        evaluation = source.task.predict_dataset(source.model, data, split=split, out=out)
        folder = runs_folder(catalog, runs_dir) / recorder.run_id
        described = _save_outputs(folder, source.task, evaluation, None, f"{run_id} on {split}")

        def write(cat: Catalog, rid: str, ev: Evaluation) -> None:
            source.task.write_predictions(cat, rid, ev, accept=accept)

        _finish(recorder, source.task, evaluation, described, write)
        return RunResult(
            recorder.run_id, evaluation.metrics, folder, source.task.name, source.task.summary(evaluation.metrics)
        )

    return _guarded(recorder, job)

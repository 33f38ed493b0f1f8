"""``fairmicro.train / pretrain / evaluate / predict / qualify / runs``: model runs as library calls.

Thin wrappers over :mod:`fairmicro.models.runner`, :mod:`fairmicro.models.labelling`
and :func:`fairmicro.models.qualifier.qualify`. A run is named by its id or by
the result object that returned it; a dataset by a built folder, a
:class:`~fairmicro.api.pipeline.BuildReport`, a catalog dataset name or a Hub id.
Every run is recorded in the catalog, as on the command line.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from fairmicro.api.catalog import Catalog, catalog_path
from fairmicro.api.ingest import PathLike
from fairmicro.errors import ModelError

if TYPE_CHECKING:
    from fairmicro.api.pipeline import BuildReport
    from fairmicro.catalog.store import QueryResult
    from fairmicro.models.labelling import PredictResult
    from fairmicro.models.qualifier import QualifyResult
    from fairmicro.models.runner import RunResult

DatasetRef = Union[str, "os.PathLike[str]", "BuildReport"]
DEFAULT_ACCEPT = 0.9  # classification predict: suggestions at or above this probability become labels
CatalogRef = Union[Catalog, str, "os.PathLike[str]", None]


def _dataset(ref: DatasetRef | None) -> str | None:
    if ref is None or isinstance(ref, str):
        return ref
    if isinstance(ref, os.PathLike):
        return os.fspath(ref)
    raise ModelError(f"dataset {ref!r}: expected a built folder, a catalog dataset name or a Hub id ORG/NAME")


def _run_id(run: str | RunResult | PredictResult | QualifyResult) -> str:
    run_id = run if isinstance(run, str) else getattr(run, "run_id", None)
    if not isinstance(run_id, str) or not run_id:
        raise ModelError(f"run {run!r}: expected a run id (see fairmicro.runs()) or the result of a run")
    return run_id


def _plugin_params(params: Mapping[str, Any] | None, extra: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` and keyword arguments as one dict; ``metadata="none"``/``"a,b"`` read as on the CLI."""
    merged = {**(params or {}), **extra}
    if isinstance(merged.get("metadata"), str):
        from fairmicro.models.metadata import parse_metadata_option

        merged["metadata"] = parse_metadata_option(merged["metadata"])
    return merged


def _runs_dir(runs_dir: PathLike | None) -> Path | None:
    return None if runs_dir is None else Path(runs_dir)


def train(
    plugin: str,
    dataset: DatasetRef,
    *,
    catalog: CatalogRef = None,
    runs_dir: PathLike | None = None,
    shuffle_metadata: bool = False,
    params: Mapping[str, Any] | None = None,
    **plugin_params: Any,
) -> RunResult:
    """Train a model plugin on a dataset (``fairmicro train``); the run and its artifacts land in the catalog.

    Parameters
    ----------
    plugin
        Model plugin name, e.g. ``"texture"`` (see ``fairmicro plugins``).
    dataset
        A built folder or :class:`BuildReport`, a catalog dataset name, or a Hub id ``ORG/NAME[@REV]``.
    catalog
        Where the run is recorded (a :class:`Catalog`, a file, or None for the default catalog).
    runs_dir
        Artifact folder (default: ``fairmicro-runs/`` beside the catalog).
    shuffle_metadata
        Also report accuracy with metadata permuted across rows.
    params, **plugin_params
        The plugin's parameters (e.g. ``mode="hybrid"``, ``seed=1``); unknown names are refused.

    Returns
    -------
    RunResult
        ``run_id``, ``metrics``, artifact ``folder``, ``task`` and the ``summary`` lines.

    Raises
    ------
    ModelError
        Unknown plugin or parameter, unusable dataset, failed fit (the run is recorded as failed).
    MissingExtraError
        The plugin's packages are not installed (the message names the extra).
    """
    from fairmicro.models.runner import train as run_train

    ref = _dataset(dataset)
    if ref is None:
        raise ModelError("dataset is required (a built folder, a catalog dataset name or a Hub id)")
    return run_train(
        plugin,
        ref,
        _plugin_params(params, plugin_params),
        catalog=catalog_path(catalog),
        runs_dir=_runs_dir(runs_dir),
        shuffle_metadata_check=shuffle_metadata,
    )


def pretrain(
    plugin: str,
    dataset: DatasetRef,
    *,
    catalog: CatalogRef = None,
    runs_dir: PathLike | None = None,
    params: Mapping[str, Any] | None = None,
    **plugin_params: Any,
) -> RunResult:
    """Pretrain a plugin on the unlabelled images of a dataset (``fairmicro pretrain``); a run of kind pretrain.

    Parameters are those of :func:`train`; labels are not needed.

    Returns
    -------
    RunResult
        The pretraining run; pass its ``run_id`` as a plugin's ``init`` parameter to fine-tune from it.
    """
    from fairmicro.models.runner import pretrain as run_pretrain

    ref = _dataset(dataset)
    if ref is None:
        raise ModelError("dataset is required (a built folder, a catalog dataset name or a Hub id)")
    return run_pretrain(
        plugin, ref, _plugin_params(params, plugin_params), catalog=catalog_path(catalog), runs_dir=_runs_dir(runs_dir)
    )


def evaluate(
    run: str | RunResult,
    dataset: DatasetRef | None = None,
    split: str = "test",
    *,
    catalog: CatalogRef = None,
    runs_dir: PathLike | None = None,
    shuffle_metadata: bool = False,
    params: Mapping[str, Any] | None = None,
    labels: str | None = None,
) -> RunResult:
    """Score a trained model on a dataset split (``fairmicro evaluate``); an evaluate run linked to it.

    Parameters
    ----------
    run
        A training run (its id or its :class:`RunResult`), or the name of a zero-shot plugin.
    dataset
        Default: the dataset the run was trained on.
    split
        The split to score.
    shuffle_metadata
        Also report accuracy with metadata permuted across rows.
    params
        Parameters of a zero-shot plugin named as ``run``.
    labels
        For a qualify run: the ``image_metadata`` column its decisions are compared with
        (docs/qualify.md); ``dataset`` and ``split`` do not apply then.

    Returns
    -------
    RunResult
        The evaluate run's id, metrics (accuracy, per-class scores, ...) and artifact folder.
    """
    from fairmicro.models.runner import evaluate as run_evaluate

    if labels is not None:
        return _evaluate_labels(_run_id(run), labels, catalog, runs_dir)
    return run_evaluate(
        _run_id(run),
        _dataset(dataset),
        split,
        shuffle_metadata_check=shuffle_metadata,
        catalog=catalog_path(catalog),
        runs_dir=_runs_dir(runs_dir),
        params=dict(params or {}) or None,
    )


def _evaluate_labels(run_id: str, labels: str, catalog: CatalogRef, runs_dir: PathLike | None) -> RunResult:
    from fairmicro.models.qualifier.evaluation import evaluate_labels

    if not isinstance(labels, str) or not labels.strip():
        raise ModelError("--labels: empty column name; name the image_metadata column holding the labels")
    return evaluate_labels(run_id, labels, catalog=catalog_path(catalog), runs_dir=_runs_dir(runs_dir))


def predict(
    run: str | RunResult,
    *,
    where: str = "label IS NULL",
    threshold: float | None = None,
    annotate: bool = False,
    dataset: DatasetRef | None = None,
    split: str = "test",
    out: PathLike | None = None,
    catalog: CatalogRef = None,
    runs_dir: PathLike | None = None,
    accept: float | bool | None = None,
) -> PredictResult | RunResult:
    """Predict with a trained model (``fairmicro predict``).

    A classification run labels catalog images: those ``where`` selects get a
    suggestion; one at or above probability ``threshold`` (default 0.9) becomes
    the label, the rest wait for review (:func:`fairmicro.reviews`). With
    ``dataset`` or ``out`` (or a segmentation run) every row of a dataset split
    is predicted instead, and ``annotate=True`` stores the outputs in the
    catalog as predicted annotations.

    Parameters
    ----------
    run
        A training run: its id or its :class:`RunResult`.
    where
        Catalog images to label (SQL over ``image_metadata``, sandboxed).
    threshold
        Probability at or above which a suggestion becomes the label (default 0.9).
    annotate
        Dataset predictions: store them as predicted annotations.
    dataset, split, out
        Predict every row of this dataset split (default: the run's dataset), writing files to ``out``.
    accept
        The old form of ``threshold`` (a probability) and ``annotate`` (``True``).

    Returns
    -------
    PredictResult or RunResult
        Counts predicted / labelled / queued (catalog images), or the predict run (dataset split).
    """
    from fairmicro.models.runner import predict_dataset, run_task

    threshold, annotate = _threshold_annotate(threshold, annotate, accept)
    run_id, path = _run_id(run), catalog_path(catalog)
    if dataset is None and out is None and run_task(run_id, path) == "classification":
        from fairmicro.models.labelling import predict_catalog

        return predict_catalog(run_id, where, DEFAULT_ACCEPT if threshold is None else threshold, catalog=path)
    return predict_dataset(
        run_id,
        _dataset(dataset),
        split,
        out=None if out is None else Path(out),
        accept=annotate,
        catalog=path,
        runs_dir=_runs_dir(runs_dir),
    )


def _threshold_annotate(
    threshold: float | None, annotate: bool, accept: float | bool | None
) -> tuple[float | None, bool]:
    """``threshold`` and ``annotate``, with the old ``accept`` (a probability, or True) folded in."""
    if accept is False:
        raise ModelError("accept=False: give the probability at or above which suggestions become labels")
    if accept is None:
        return threshold, annotate
    if accept is not True and threshold is None:
        threshold = float(accept)
    return threshold, True


def qualify(
    assessments: PathLike,
    where: str = "TRUE",
    *,
    catalog: CatalogRef = None,
    clip: str = "openai/clip-vit-base-patch32",
    flava: str = "facebook/flava-full",
    fusion: str = "zsum",
    fusion_weights: str | Sequence[float] | None = None,
    threshold: float = 0.0,
    calibration: str | None = None,
    normalise: str | None = None,
    top_k: int = 3,
    **options: Any,
) -> QualifyResult:
    """Score catalog images against expert assessments with CLIP and FLAVA, zero-shot (``fairmicro qualify``).

    Parameters
    ----------
    assessments
        An assessment YAML file, or a built-in set (``"ni-wc"``); see docs/qualify.md.
    where
        SQL predicate over ``image_metadata`` choosing the images (runs sandboxed).
    clip, flava
        Hub ids (``ID[@REVISION]``) or local folders of the two models.
    fusion, fusion_weights, threshold
        ``"zsum"`` or ``"weighted"`` (``fusion_weights``: CLIP, FLAVA summing to 1, default
        ``(0.5, 0.5)``); hybrid >= threshold accepts. ``weights=`` is the old name of ``fusion_weights``.
    calibration, normalise
        SQL predicate of the images mu and sigma come from; or ``"batch"`` (over the scored images).
    top_k
        Nearest reference images listed per result.
    **options
        Any further option of :func:`fairmicro.models.qualifier.qualify`, passed on as it is.

    Returns
    -------
    QualifyResult
        ``run_id``, ``rows`` (one per image and assessment: scores and decision), ``metrics``.
    """
    from fairmicro.models.qualifier import qualify as run_qualify

    if "weights" in options:  # the old name, which `train --weights` (a backbone's start) made ambiguous
        import warnings

        warnings.warn("qualify(weights=...) is deprecated; use fusion_weights=", DeprecationWarning, stacklevel=2)
        old = options.pop("weights")
        fusion_weights = old if fusion_weights is None else fusion_weights
    return run_qualify(
        os.fspath(assessments),
        where,
        catalog=catalog_path(catalog),
        clip=clip,
        flava=flava,
        fusion=fusion,
        weights=fusion_weights,
        threshold=threshold,
        calibration=calibration,
        normalise=normalise,
        top_k=top_k,
        **options,
    )


def qualify_json(result: QualifyResult) -> str:
    """A qualify run's rows as the JSON list ``fairmicro qualify --json`` prints (finite floats only)."""
    from fairmicro.models.qualifier.run import results_as_json

    return results_as_json(result.rows)


def runs(catalog: CatalogRef = None) -> QueryResult:
    """Every model run in the catalog with its task and main metric, oldest first (``fairmicro runs``)."""
    from fairmicro.models.provenance import list_runs

    return list_runs(catalog_path(catalog))

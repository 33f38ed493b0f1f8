"""Segmentation task: one class per pixel, learnt from a ``mask`` column (8-bit label map, 255 = no label).

Contract of a segmentation plugin: ``fit(train, validation=None)``, ``classes_``
(class name per label value), ``n_members_`` (models scored separately, e.g.
fine-tuning repeats) and ``predict_masks(data, member=None)`` yielding one
``uint8`` label map per row (``member=None``: the plugin's combined prediction).
A plugin with an ``init`` parameter starts from a pretraining run's model
(:meth:`SegmentationTask.prepare` loads it through ``set_init``).

Metrics (:mod:`fairmicro.models.tasks.segmentation_metrics`): per-class and
mean Dice and IoU from the pixels of the whole split whose truth is not 255,
per repeat and as mean and std over repeats.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from fairmicro.errors import ModelError
from fairmicro.models.tasks.base import Evaluation, Task
from fairmicro.models.tasks.segmentation_metrics import confusion, over_repeats, scores

if TYPE_CHECKING:
    from fairmicro.catalog import Catalog
    from fairmicro.models.base import ModelPlugin

MASK = "mask"
IGNORE = 255


@runtime_checkable
class MaskPredictor(Protocol):
    """What a segmentation plugin offers beyond :class:`~fairmicro.models.base.ModelPlugin`."""

    def predict_masks(self, data: Any, member: int | None = None) -> Iterable[np.ndarray]:
        """One ``uint8`` label map per row (repeat ``member``; None: the combined prediction)."""
        ...


@runtime_checkable
class PretrainedStart(Protocol):
    """A segmentation plugin that can start from a pretraining run's model (its ``init`` parameter)."""

    def set_init(self, pretrained: ModelPlugin, run_id: str) -> None:
        """Start from ``pretrained``, the model of pretraining run ``run_id``."""
        ...


def _predictor(model: ModelPlugin) -> MaskPredictor:
    """``model`` as a mask predictor, or a one-line error naming what it lacks."""
    if not isinstance(model, MaskPredictor) or not callable(model.predict_masks):
        raise ModelError(f"{model.name}: a segmentation plugin must implement predict_masks(data, member=None)")
    return model


def _truth(data: Any) -> list[np.ndarray]:
    from fairmicro.models.pscl.data import rows_masks

    return rows_masks(data, range(len(data)))


class SegmentationTask(Task):
    """One class per pixel, learnt from a ``mask`` column."""

    name: ClassVar[str] = "segmentation"
    columns: ClassVar[tuple[str, ...]] = ("image", MASK)

    def _build_hint(self, missing: list[str]) -> str:
        return "; build it with `fairmicro build ... --task segmentation`" if MASK in missing else ""

    def check_model(self, model: ModelPlugin) -> None:
        """A segmentation plugin must offer ``predict_masks``."""
        _predictor(model)

    def evaluation_split(self, dataset: Any) -> str | None:
        """``validation``, else ``test``, else ``train``."""
        return next(name for name in ("validation", "test", "train") if name in dataset)

    def prepare(self, model: ModelPlugin, train: Any, catalog_path: Path | None) -> str | None:
        """Checks before a run row exists: labelled count, ``init`` run; returns the init run id (parent).

        Raises
        ------
        ModelError
            ``--labelled`` larger than the labelled images of ``train``; ``--init`` naming no
            run, or a run that is not a finished pretraining run.
        """
        labelled = model.get_params().get("labelled")
        if labelled is not None:
            from fairmicro.models.pscl.selection import labelled_rows

            labelled_rows(train, int(labelled), 0)
        init = model.get_params().get("init")
        if not init or init == "none":
            return None
        if not isinstance(model, PretrainedStart):
            raise ModelError(f"{model.name}: --init {init}: this plugin cannot start from a pretraining run")
        model.set_init(load_pretrained(init, catalog_path), init)
        return init

    def evaluate(
        self, model: ModelPlugin, data: Any, *, split: str, seed: int = 0, options: dict[str, Any] | None = None
    ) -> Evaluation:
        """Dice and IoU per class, per repeat and their mean and std over repeats."""
        self.check_compatible(model, data, split)
        truth = _truth(data)
        repeats = []
        predictor = _predictor(model)
        for member in range(getattr(model, "n_members_", 1)):
            predicted = list(predictor.predict_masks(data, member=member))
            repeats.append(scores(confusion(truth, predicted, len(model.classes_)), model.classes_))
        metrics = {
            "split": split,
            "n": len(data),
            "classes": model.classes_,
            "repeats": repeats,
            **over_repeats(repeats, model.classes_),
            "model_report": model.report(),
        }
        return Evaluation(metrics)

    def check_compatible(self, model: ModelPlugin, data: Any, split: str) -> None:
        """The split has masks whose values are classes of the model (or 255)."""
        self.check_dataset(data, split)
        from fairmicro.models.pscl.selection import mask_class_names

        names = mask_class_names(data)
        if names[: len(model.classes_)] != model.classes_[: len(names)]:
            raise ModelError(f"the {split} split's mask classes {names} differ from the model's {model.classes_}")

    def plots(self, folder: Path, metrics: dict[str, Any], model: ModelPlugin | None, title: str) -> list[Path]:
        """``class_scores.png`` (Dice and IoU per class, mean and std over repeats) and ``loss_curve.png``."""
        from fairmicro.models.tasks.segmentation_output import plot_class_scores, plot_loss

        if "per_class" not in metrics:  # a prediction run: the masks are its output
            return []
        pictures = [plot_class_scores(folder, metrics, title)]
        history = getattr(model, "history_", None) if model is not None else None
        return pictures + ([plot_loss(folder, history, title)] if history else [])

    def summary(self, metrics: dict[str, Any]) -> list[str]:
        """Mean Dice/IoU over repeats, then per class (predictions: how many masks were written where)."""
        if "masks" in metrics:
            return [
                f"{metrics['split']}: {metrics['images']} mask(s) of {metrics['n']} row(s) written to {metrics['out']}"
            ]
        head = (
            f"{metrics['split']} (n={metrics['n']}, {len(metrics['repeats'])} repeat(s)): mean Dice "
            f"{_fmt(metrics['mean_dice'])} ± {_fmt(metrics['mean_dice_std'])}, mean IoU "
            f"{_fmt(metrics['mean_iou'])} ± {_fmt(metrics['mean_iou_std'])}"
        )
        lines = [head]
        for name, values in metrics["per_class"].items():
            lines.append(
                f"  {name}: Dice {_fmt(values['dice'])} ± {_fmt(values['dice_std'])}, "
                f"IoU {_fmt(values['iou'])} ± {_fmt(values['iou_std'])}"
            )
        return lines + list((metrics.get("model_report") or {}).get("summary") or [])

    def check_out(self, data: Any, out: Path | None, catalog_path: Path) -> None:
        """``out`` must not hold, under a mask's name, a file no ``predict --out`` wrote, nor the file of a stored
        mask annotation (one line, no run row)."""
        from fairmicro.catalog import Catalog
        from fairmicro.catalog.masks import stored_mask_paths
        from fairmicro.models.tasks.segmentation_output import mask_targets, refuse_foreign

        if out is None or "image" not in data.column_names:
            return
        targets = mask_targets(Path(out), data)
        names = {str(t) for t in targets} | {os.path.realpath(t) for t in targets}
        with Catalog.open_for_reading(catalog_path) as catalog:
            stored = stored_mask_paths(catalog, sorted(names))
        refuse_foreign(Path(out), targets, stored)

    def predict_dataset(self, model: ModelPlugin, data: Any, *, split: str, out: Path | None) -> Evaluation:
        """One whole-image 8-bit PNG label map per source image, ``out/<file stem>.png``."""
        from fairmicro.models.tasks.segmentation_output import write_masks

        if out is None:
            raise ModelError("--out DIR is required: a segmentation model writes one mask PNG per image")
        if "image" not in data.column_names:
            raise ModelError(f"the {split} split has no 'image' column to predict masks for")
        written = write_masks(out, data, _predictor(model).predict_masks(data))
        metrics = {
            "split": split,
            "n": len(data),
            "images": len(written),
            "out": str(out),
            "classes": model.classes_,
            "masks": {sha: str(p) for sha, p in written.items()},
        }
        return Evaluation(metrics, outputs=written, files=list(written.values()))

    def write_predictions(self, catalog: Catalog, run_id: str, evaluation: Evaluation, *, accept: bool) -> None:
        """With ``accept``: the written masks become ``predicted`` mask annotations."""
        if not accept:
            return
        from fairmicro.catalog.masks import add_predicted_masks

        add_predicted_masks(catalog, run_id, evaluation.outputs, evaluation.metrics["classes"])


def load_pretrained(run_id: str, catalog_path: Path | None) -> ModelPlugin:
    """The model of a finished pretraining run (one-line error otherwise)."""
    from fairmicro.models.provenance import load_run
    from fairmicro.models.runner import load_model

    run = load_run(catalog_path, run_id)
    if run.get("run_kind") != "pretrain" or run.get("status") != "succeeded":
        raise ModelError(
            f"--init {run_id}: a {run.get('status')} {run.get('task') or ''} {run.get('run_kind')} run "
            "(plugin "
            f"{run.get('plugin')}), not a finished pretraining run; "
            "give a run of `fairmicro pretrain pscl` or none"
        )
    return load_model(run)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"

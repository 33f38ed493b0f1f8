"""Pretraining task: self-supervised learning from unlabelled images.

Plugins implement ``fit(train)`` (no ``label`` is read, any dataset with an
``image`` column will do) and expose ``history_`` with at least ``loss`` per
epoch, and optionally :data:`STEP_LOSSES` (the loss of every step: the run's
``loss_first``/``loss_last`` then compare its first and last tenth of steps, so
a one-epoch run shows whether its loss fell). A pretraining run (``run_kind``
``pretrain``) scores no split: its metrics are the loss history, its plot the
loss curve; it writes no rows besides the run record. Its saved model is what
fine-tuning runs start from.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from fairmicro.errors import ModelError
from fairmicro.models.tasks.base import Evaluation, Task

if TYPE_CHECKING:
    from fairmicro.models.base import ModelPlugin

STEP_LOSSES = "loss_steps"  # history_ key of the per-step losses (not an epoch series)


class PretrainingTask(Task):
    """Self-supervised pretraining on images alone."""

    name: ClassVar[str] = "pretraining"
    columns: ClassVar[tuple[str, ...]] = ("image",)
    fit_kind: ClassVar[str] = "pretrain"

    def training_split(self, dataset: Any) -> str:
        """``train`` when the dataset has it, else its only split."""
        if "train" in dataset:
            return "train"
        names = list(dataset)
        if len(names) != 1:
            raise ModelError(f"dataset has no split 'train' to pretrain on; it has {', '.join(names) or 'none'}")
        return names[0]

    def evaluation_split(self, dataset: Any) -> str | None:
        """Pretraining scores no split."""
        return None

    def fit(self, model: ModelPlugin, train: Any, validation: Any | None = None) -> ModelPlugin:
        """``model.fit(train)``: no labels, no validation."""
        fitted = model.fit(train)
        if not (getattr(fitted, "history_", None) or {}).get("loss"):
            raise ModelError(f"{model.name}: a pretraining plugin must record history_['loss'] per epoch")
        return fitted

    def evaluate(
        self, model: ModelPlugin, data: Any, *, split: str, seed: int = 0, options: dict[str, Any] | None = None
    ) -> Evaluation:
        """The loss history of the fit (``data`` is the split it was fitted on)."""
        return Evaluation(loss_metrics(model.history_ or {}, split, len(data)))

    def plots(self, folder: Path, metrics: dict[str, Any], model: ModelPlugin | None, title: str) -> list[Path]:
        """``loss_curve.png``."""
        from fairmicro.models import artifacts

        return [artifacts.plot_curves(folder, "loss_curve", metrics["history"], title, ylabel="loss")]

    def summary(self, metrics: dict[str, Any]) -> list[str]:
        """Loss at the start and the end of pretraining."""
        first, last = (_figure(metrics.get(k)) for k in ("loss_first", "loss_last"))
        steps, window = metrics.get("steps"), metrics.get("loss_window")
        where = f" (means of the first and last {window} of {steps} steps)" if steps else ""
        line = f"pretrained on {metrics['split']} ({metrics['n']} images): loss {first} -> {last}{where} "
        return [line + f"over {metrics['epochs']} epoch(s)"]


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def loss_metrics(history: dict[str, list[float]], split: str, n: int) -> dict[str, Any]:
    """JSON-ready metrics of a loss history (non-finite values kept as None).

    ``loss_first``/``loss_last``: the mean loss of the first and last tenth of the steps (at least one step)
    when the history has :data:`STEP_LOSSES`, else of the first and last epoch.
    """
    clean = {key: [float(v) if math.isfinite(float(v)) else None for v in values] for key, values in history.items()}
    per_step = clean.pop(STEP_LOSSES, None) or []
    loss = clean.get("loss") or [None]
    first, last, window = loss[0], loss[-1], None
    if per_step:
        window = max(1, len(per_step) // 10)
        first, last = _mean(per_step[:window]), _mean(per_step[-window:])
    return {
        "split": split,
        "n": n,
        "epochs": len(clean.get("loss") or []),
        "steps": len(per_step) or None,
        "loss_window": window,
        STEP_LOSSES: per_step or None,
        "loss_first": first,
        "loss_last": last,
        "history": clean,
    }


def _mean(values: list[float | None]) -> float | None:
    finite = [v for v in values if v is not None]
    return sum(finite) / len(finite) if finite else None

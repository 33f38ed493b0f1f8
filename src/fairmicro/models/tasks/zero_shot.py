"""Zero-shot task: plugins scored as they are, without a training run.

A zero-shot plugin implements ``predict_proba(data)`` over its ``classes_``
(e.g. text prompts) straight after ``__init__`` (it loads its weights
lazily); ``fit`` is never called by fairmicro. ``fairmicro evaluate PLUGIN
--dataset D`` scores it: with a ``label`` column whose classes match, like
a classifier; without one, only its predictions are stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from fairmicro.models.tasks.base import Evaluation
from fairmicro.models.tasks.classification import ClassificationTask

if TYPE_CHECKING:
    from fairmicro.models.base import ModelPlugin


class ZeroShotTask(ClassificationTask):
    """Scoring images against a plugin's own classes, with no training."""

    name: ClassVar[str] = "zero-shot"
    columns: ClassVar[tuple[str, ...]] = ("image",)
    trains: ClassVar[bool] = False

    def check_dataset(self, data: Any, split: str = "train") -> None:
        """Only ``image`` is needed."""
        super(ClassificationTask, self).check_dataset(data, split)

    def check_compatible(self, model: ModelPlugin, data: Any, split: str) -> None:
        """Only ``image`` is needed; a ``label`` column is used when its classes are the model's."""
        self.check_dataset(data, split)

    def evaluate(self, model: ModelPlugin, data: Any, *, split: str, seed: int = 0,
                 options: dict[str, Any] | None = None) -> Evaluation:
        """Scores when the split's labels are the model's classes; else the class distribution predicted."""
        if _labels_match(model, data):
            return super().evaluate(model, data, split=split, seed=seed, options=options)
        probabilities = model.predict_proba(data)
        counts = np.bincount(probabilities.argmax(axis=1), minlength=len(model.classes_)) if len(data) else []
        metrics = {"split": split, "n": len(data),
                   "predicted": {c: int(n) for c, n in zip(model.classes_, counts, strict=False)}}
        return Evaluation(metrics, (split, data.remove_columns([c for c in ("label",) if c in data.column_names]),
                                    list(model.classes_), probabilities))

    def plots(self, folder: Any, metrics: dict[str, Any], model: ModelPlugin | None, title: str) -> list[Any]:
        """The confusion matrix when labels were scored."""
        return super().plots(folder, metrics, None, title) if "scores" in metrics else []

    def summary(self, metrics: dict[str, Any]) -> list[str]:
        """Scores, or the predicted class counts."""
        if "scores" in metrics:
            return super().summary(metrics)
        counts = ", ".join(f"{c} {n}" for c, n in metrics["predicted"].items())
        return [f"{metrics['split']}: {metrics['n']} row(s) scored ({counts})"]


def _labels_match(model: ModelPlugin, data: Any) -> bool:
    feature = data.features.get("label") if hasattr(data, "features") else None
    return feature is not None and list(getattr(feature, "names", []) or []) == list(model.classes_)

"""Zero-shot task: plugins scored as they are, without a training run.

A zero-shot plugin implements ``predict_proba(data)`` over its ``classes_``
(e.g. text prompts) straight after ``__init__`` (it loads its weights
lazily); ``fit`` is never called by fairmicro. ``fairmicro evaluate PLUGIN
--dataset D`` scores it: with a ``label`` column whose classes match, like
a classifier; without one, only its predictions are stored.

Qualifier runs (``fairmicro qualify``, run kind ``qualify``) are zero-shot
runs too; ``fairmicro evaluate RUN_ID --labels COLUMN`` compares their
accept/reject decisions with labelled images. The metrics of such an
evaluation are this task's (:func:`decision_metrics`, one entry per
assessment under ``assessments``), and so is its confusion-matrix picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from fairmicro.models.tasks.base import Evaluation
from fairmicro.models.tasks.classification import ClassificationTask

if TYPE_CHECKING:
    from fairmicro.models.base import ModelPlugin

DECISIONS = ("accept", "reject")  # confusion-matrix order: rows true, columns decided
TOP_K = (1, 3, 5, 10)


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

    def evaluate(
        self, model: ModelPlugin, data: Any, *, split: str, seed: int = 0, options: dict[str, Any] | None = None
    ) -> Evaluation:
        """Scores when the split's labels are the model's classes; else the class distribution predicted."""
        if _labels_match(model, data):
            return super().evaluate(model, data, split=split, seed=seed, options=options)
        probabilities = model.predict_proba(data)
        counts = (
            np.bincount(probabilities.argmax(axis=1), minlength=len(model.classes_)) if len(data) else np.zeros(0, int)
        )
        metrics = {
            "split": split,
            "n": len(data),
            "predicted": {c: int(n) for c, n in zip(model.classes_, counts, strict=False)},
        }
        return Evaluation(
            metrics,
            (
                split,
                data.remove_columns([c for c in ("label",) if c in data.column_names]),
                list(model.classes_),
                probabilities,
            ),
        )

    def plots(self, folder: Any, metrics: dict[str, Any], model: ModelPlugin | None, title: str) -> list[Any]:
        """The confusion matrix when labels were scored (one panel per assessment for decisions)."""
        if "assessments" in metrics:
            return [plot_decisions(Path(folder), metrics["assessments"], title)]
        return super().plots(folder, metrics, None, title) if "scores" in metrics else []

    def summary(self, metrics: dict[str, Any]) -> list[str]:
        """Scores, or the predicted class counts."""
        if "assessments" in metrics:
            return decision_summary(metrics)
        if "scores" in metrics:
            return super().summary(metrics)
        counts = ", ".join(f"{c} {n}" for c, n in metrics["predicted"].items())
        return [f"{metrics['split']}: {metrics['n']} row(s) scored ({counts})"]


def _labels_match(model: ModelPlugin, data: Any) -> bool:
    feature = data.features.get("label") if hasattr(data, "features") else None
    return feature is not None and list(getattr(feature, "names", []) or []) == list(model.classes_)


def _ratio(hits: int, total: int) -> float | None:
    return hits / total if total else None


def decision_metrics(
    truth: Sequence[str], decided: Sequence[str], hybrid: Sequence[float], order: Sequence[str]
) -> dict[str, Any]:
    """Accept/reject decisions scored against labels (``accept`` is the positive class).

    Parameters
    ----------
    truth, decided
        ``accept``/``reject`` per labelled image.
    hybrid
        The images' hybrid scores: top-K ranks them, highest first.
    order
        A tie-break per image (e.g. its path), so equal scores rank the same way every time.

    Returns
    -------
    dict
        ``confusion_matrix`` (rows true, columns decided, in :data:`DECISIONS` order), ``n``, ``accuracy``,
        ``precision`` and ``recall`` of ``accept`` (None when undefined), ``f1`` and ``top_k_accuracy``: for
        each K of :data:`TOP_K` up to ``n``, the share of the K highest-hybrid images labelled ``accept``.
    """
    pairs = list(zip(truth, decided, strict=True))
    matrix = [[sum(t == row and d == col for t, d in pairs) for col in DECISIONS] for row in DECISIONS]
    (tp, fn), (fp, tn) = matrix
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = (
        None
        if precision is None or recall is None
        else (2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    )
    ranked = sorted(range(len(pairs)), key=lambda i: (-hybrid[i], order[i]))
    top_k = {str(k): sum(truth[i] == "accept" for i in ranked[:k]) / k for k in TOP_K if k <= len(pairs)}
    return {
        "classes": list(DECISIONS),
        "confusion_matrix": matrix,
        "n": len(pairs),
        "accuracy": _ratio(tp + tn, len(pairs)),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "top_k_accuracy": top_k,
    }


def plot_decisions(folder: Path, assessments: dict[str, dict[str, Any]], title: str) -> Path:
    """``confusion_matrix.png``: one accept/reject matrix per assessment (rows labelled, columns decided)."""
    from fairmicro.models.deps import require

    matplotlib = require("matplotlib", "fairmicro evaluate")
    matplotlib.use("Agg")
    plt = require("matplotlib.pyplot", "fairmicro evaluate")
    count = max(len(assessments), 1)
    fig, axes = plt.subplots(1, count, figsize=(2.8 * count + 0.6, 3.2), squeeze=False)
    for ax, (name, scores) in zip(axes[0], assessments.items(), strict=False):
        ax.imshow(scores["confusion_matrix"], cmap="Blues")
        ax.set_xticks(range(2), DECISIONS)
        ax.set_yticks(range(2), DECISIONS)
        ax.set_xlabel("decided")
        ax.set_ylabel("labelled")
        for i, row in enumerate(scores["confusion_matrix"]):
            for j, value in enumerate(row):
                ax.text(j, i, str(value), ha="center", va="center")
        accuracy = scores["accuracy"]
        ax.set_title(
            f"{name}\nn {scores['n']}" + ("" if accuracy is None else f", accuracy {accuracy:.2f}"), fontsize=8
        )
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path = folder / "confusion_matrix.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def decision_summary(metrics: dict[str, Any]) -> list[str]:
    """One line per assessment: labelled images, accuracy, precision, recall, top-K."""
    head = (
        f"{metrics['n']} labelled decision(s) compared with --labels {metrics['labels']} "
        f"(qualify run {metrics['qualify_run']})"
    )
    lines = [head]
    for name, scores in metrics["assessments"].items():
        if not scores["n"]:
            lines.append(f"{name}: no labelled image")
            continue
        shown = ", ".join(f"{key} {_shown(scores[key])}" for key in ("accuracy", "precision", "recall"))
        top = ", ".join(f"top-{k} {v:.2f}" for k, v in scores["top_k_accuracy"].items())
        lines.append(
            f"{name}: n {scores['n']}, {shown}; {top}; confusion (rows labelled accept/reject, "
            f"columns decided) {scores['confusion_matrix']}"
        )
    return lines


def _shown(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.3f}"

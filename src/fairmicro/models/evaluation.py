"""Scores of a model on a split, and the adversarial metadata shuffle."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from fairmicro.models.deps import require

COMMAND = "fairmicro evaluate"


def score(classes: list[str], y_true: np.ndarray, probabilities: np.ndarray) -> dict[str, Any]:
    """Accuracy, macro F1, per-class report and confusion matrix (rows = true class)."""
    metrics = require("sklearn.metrics", COMMAND)
    y_pred = probabilities.argmax(axis=1)
    indices = list(range(len(classes)))
    report = metrics.classification_report(
        y_true, y_pred, labels=indices, target_names=classes, output_dict=True, zero_division=0
    )
    return {
        "n": len(y_true),
        "accuracy": float(metrics.accuracy_score(y_true, y_pred)) if len(y_true) else 0.0,
        "macro_f1": float(metrics.f1_score(y_true, y_pred, labels=indices, average="macro", zero_division=0)),
        "per_class": {name: {k: float(v) for k, v in report[name].items()} for name in classes},
        "confusion_matrix": metrics.confusion_matrix(y_true, y_pred, labels=indices).tolist(),
        "classes": list(classes),
    }


def shuffle_metadata(data: Any, columns: Sequence[str], seed: int) -> Any:
    """The split with ``columns`` permuted together across rows (images and labels untouched)."""
    if not columns:
        return data
    columns = list(columns)
    order = np.random.default_rng(seed).permutation(len(data))
    shuffled = data.select_columns(columns).select(order)
    result = data.remove_columns(columns)
    for column in columns:
        result = result.add_column(column, shuffled[column], feature=data.features[column])
    return result

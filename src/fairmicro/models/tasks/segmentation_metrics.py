"""Dice and IoU of label maps, per class, per repeat and over repeats.

Pixels whose truth is 255 (no label, e.g. rows a mask does not cover) are left
out. Counts are summed over every image of the split before dividing (one
confusion matrix per split), as in the PSCL reference code. A class that is
absent from both truth and prediction has no Dice or IoU (``None``) and is
left out of the means; the foreground mean also leaves out a class named
``background``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

IGNORE = 255


def confusion(truth: Sequence[np.ndarray], predicted: Sequence[np.ndarray], n_classes: int) -> np.ndarray:
    """``n x (n + 1)`` pixel counts (rows: truth, columns: prediction) over labelled pixels.

    The last column counts predicted values outside ``0..n-1`` (wrong for every
    class); truth values other than 255 must be below ``n``.
    """
    total = np.zeros((n_classes, n_classes + 1), dtype=np.int64)
    for t, p in zip(truth, predicted, strict=True):
        if t.shape != p.shape:
            raise ValueError(f"prediction {p.shape} and mask {t.shape} differ in size")
        keep = t != IGNORE
        true, pred = t[keep].astype(np.int64), np.minimum(p[keep].astype(np.int64), n_classes)
        if true.size and true.max() >= n_classes:
            raise ValueError(f"mask value {int(true.max())} is not one of the {n_classes} classes")
        total += np.bincount(true * (n_classes + 1) + pred, minlength=n_classes * (n_classes + 1)).reshape(
            n_classes, n_classes + 1
        )
    return total


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 else float(numerator / denominator)


def _mean(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None


def scores(matrix: np.ndarray, classes: Sequence[str]) -> dict[str, Any]:
    """Per-class Dice/IoU/pixel counts and their means (see the module docstring).

    ``matrix`` may carry a last column of out-of-range predictions (from :func:`confusion`).
    """
    n = len(classes)
    tp = np.diag(matrix[:, :n]).astype(float)
    truth_px = matrix.sum(axis=1).astype(float)
    predicted_px = matrix[:, :n].sum(axis=0).astype(float)
    fp, fn = predicted_px - tp, truth_px - tp
    per_class = {
        name: {
            "dice": _ratio(2 * tp[i], 2 * tp[i] + fp[i] + fn[i]),
            "iou": _ratio(tp[i], tp[i] + fp[i] + fn[i]),
            "truth_pixels": int(truth_px[i]),
            "predicted_pixels": int(predicted_px[i]),
        }
        for i, name in enumerate(classes)
    }
    foreground = [name for name in classes if name.lower() != "background"]
    return {
        "per_class": per_class,
        "mean_dice": _mean([v["dice"] for v in per_class.values()]),
        "mean_iou": _mean([v["iou"] for v in per_class.values()]),
        "foreground_dice": _mean([per_class[c]["dice"] for c in foreground]),
        "foreground_iou": _mean([per_class[c]["iou"] for c in foreground]),
        "pixel_accuracy": _ratio(tp.sum(), matrix.sum()),
        "pixels": int(matrix.sum()),
    }


def _mean_std(values: list[float | None]) -> tuple[float | None, float | None]:
    kept = [v for v in values if v is not None]
    if not kept:
        return None, None
    return float(np.mean(kept)), float(np.std(kept))


def over_repeats(repeats: list[dict[str, Any]], classes: Sequence[str]) -> dict[str, Any]:
    """Mean and (population) std over repeats of every figure of :func:`scores`."""
    summary: dict[str, Any] = {}
    for key in ("mean_dice", "mean_iou", "foreground_dice", "foreground_iou", "pixel_accuracy"):
        summary[key], summary[f"{key}_std"] = _mean_std([r[key] for r in repeats])
    per_class = {}
    for name in classes:
        entry = {}
        for metric in ("dice", "iou"):
            entry[metric], entry[f"{metric}_std"] = _mean_std([r["per_class"][name][metric] for r in repeats])
        per_class[name] = entry
    return {**summary, "per_class": per_class}

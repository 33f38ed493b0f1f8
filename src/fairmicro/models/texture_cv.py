"""Cross-validation for the texture baseline: grouped folds, and the leaky comparison.

Tiles of one specimen look alike, so a CV that puts tiles of one specimen in
both the training and the test part of a fold measures recognition of the
specimen, not of the class. :func:`cv_plan` groups the folds by the
``group_column`` (default ``specimen_id``); without it, by source image (tiles
of one image stay together), and only when neither exists falls back to plain
stratified folds, with a warning. :func:`cv_summary` reports the tuned
pipeline's grouped-CV accuracy and balanced accuracy and, beside them, the
same figures from a leaky ungrouped stratified CV.
"""

from __future__ import annotations

import contextlib
import logging
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from fairmicro.errors import ModelError
from fairmicro.models.deps import require

log = logging.getLogger(__name__)

COMMAND = "fairmicro train texture"
IMAGE_GROUP = "image_sha256"
SCORINGS = ("accuracy", "balanced_accuracy")


@dataclass(frozen=True)
class CvPlan:
    """How the training split is cut into CV folds."""

    folds: Any
    groups: np.ndarray | None
    group_column: str | None
    n_groups: int
    warning: str | None = None

    @property
    def scheme(self) -> str:
        """The splitter's class name."""
        return type(self.folds).__name__


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence scikit-learn's small-sample warnings (constant features, thin folds, absent classes)."""
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore")
        yield


def _column(data: Any, name: str) -> list[Any] | None:
    if not name or name not in data.column_names:
        return None
    return list(data[name])


def _groups(data: Any, column: str) -> tuple[np.ndarray | None, str | None, str | None]:
    """Group of each row, the column used, and a warning when it is not ``column``."""
    values = _column(data, column)
    images = _column(data, IMAGE_GROUP)
    if values is not None and len({v for v in values if v not in (None, "")}) >= 2:
        fill = images or [f"row {i}" for i in range(len(values))]
        # a row without a group is its own group (its source image), never lumped with others
        return (
            np.asarray([str(v) if v not in (None, "") else f"?{f}" for v, f in zip(values, fill, strict=True)]),
            column,
            None,
        )
    why = f"the dataset has no {column!r} column" if values is None else f"{column!r} has fewer than 2 distinct values"
    if images is not None and len(set(images)) >= 2:
        return (
            np.asarray(images),
            IMAGE_GROUP,
            (
                f"texture: {why}; CV folds keep the tiles of one image together but images of one specimen may "
                f"fall on both sides, so the CV figures can be optimistic (build with --split-by or -p group_column=...)"
            ),
        )
    return None, None, f"texture: {why} and no image ids; CV falls back to plain stratified folds (optimistic)"


def cv_plan(data: Any, y: np.ndarray, params: dict[str, Any]) -> CvPlan:
    """Grouped stratified folds over the training split (see the module docstring)."""
    model_selection = require("sklearn.model_selection", COMMAND)
    groups, column, warning = _groups(data, str(params.get("group_column") or ""))
    if warning:
        log.warning(warning)
    folds_wanted, seed = int(params["cv_folds"]), int(params["seed"])
    if folds_wanted < 2:
        raise ModelError(f"texture: cv_folds must be at least 2, got {folds_wanted}")
    if groups is not None and _fewest_groups_per_class(groups, y) < 2 and column != IMAGE_GROUP:
        groups, column, warning = _image_groups_instead(data, column, warning)
    if groups is not None and _fewest_groups_per_class(groups, y) >= 2:
        n_groups = len(set(groups.tolist()))
        # at most as many folds as the thinnest class has groups: every fold trains on every class
        folds = model_selection.StratifiedGroupKFold(
            min(folds_wanted, _fewest_groups_per_class(groups, y)), shuffle=True, random_state=seed
        )
        return CvPlan(folds, groups, column, n_groups, warning)
    if groups is not None:
        fallback = (
            f"texture: a class has only one {column} in the training split, so no fold can test on an "
            "unseen one; CV falls back to plain stratified folds (optimistic)"
        )
        log.warning(fallback)
        warning = _join(warning, fallback)
    return CvPlan(_stratified(y, folds_wanted, seed), None, None, len(y), warning)


def _fewest_groups_per_class(groups: np.ndarray, y: np.ndarray) -> int:
    """The smallest number of distinct groups any class of ``y`` has."""
    return min(len(set(groups[y == c].tolist())) for c in np.unique(y))


def _image_groups_instead(
    data: Any, column: str | None, warning: str | None
) -> tuple[np.ndarray | None, str | None, str | None]:
    """Source images as CV groups when some class has a single ``column`` value (specimen) in training."""
    images = _column(data, IMAGE_GROUP)
    why = (
        f"texture: a class has only one {column} in the training split, so grouped CV cannot test on an unseen "
        f"{column}; CV folds keep the tiles of one image together instead (optimistic when images of one "
        f"{column} look alike; put more {column}s of each class in training)"
    )
    log.warning(why)
    return (np.asarray(images) if images is not None else None), IMAGE_GROUP, _join(warning, why)


def _join(first: str | None, second: str) -> str:
    return second if not first else f"{first}; {second}"


def _stratified(y: np.ndarray, folds_wanted: int, seed: int) -> Any:
    model_selection = require("sklearn.model_selection", COMMAND)
    present = np.bincount(y)
    smallest = int(present[present > 0].min()) if len(y) else 0
    if smallest < 2:
        raise ModelError("texture: the training split needs at least 2 rows of every class (or 2 specimens)")
    return model_selection.StratifiedKFold(min(folds_wanted, smallest), shuffle=True, random_state=seed)


def _number(value: Any) -> float | None:
    value = float(value)
    return None if math.isnan(value) else round(value, 6)


def _figures(results: dict[str, Any], prefix: str, index: int | slice) -> dict[str, float | None]:
    out = {}
    for name in SCORINGS:
        values = np.asarray(results[f"{prefix}{name}"], dtype=np.float64)[index]
        out[name] = _number(np.nanmean(values) if np.ndim(values) else values)
        out[f"{name}_std"] = _number(np.nanstd(values)) if np.ndim(values) else None
    return out


def cv_summary(
    search: Any, estimator: Any, features: np.ndarray, y: np.ndarray, plan: CvPlan, params: dict[str, Any]
) -> dict[str, Any]:
    """Grouped-CV figures of the chosen hyperparameters, and the leaky ungrouped CV beside them."""
    best = int(search.best_index_)
    grouped = {name: _number(search.cv_results_[f"mean_test_{name}"][best]) for name in SCORINGS}
    grouped.update({f"{name}_std": _number(search.cv_results_[f"std_test_{name}"][best]) for name in SCORINGS})
    summary: dict[str, Any] = {
        "scheme": plan.scheme,
        "group_column": plan.group_column,
        "n_groups": plan.n_groups,
        "folds": int(plan.folds.get_n_splits()),
        "refit_on": params["scoring"],
        "grouped": grouped,
        "warning": plan.warning,
    }
    if plan.groups is None:
        summary["leaky_ungrouped"] = None
        summary["summary"] = [
            f"stratified CV ({summary['folds']} folds, no groups): {_line(grouped)}",
            *([plan.warning] if plan.warning else []),
        ]
        return summary
    leaky = _leaky(estimator, features, y, plan, params)
    summary["leaky_ungrouped"] = leaky
    summary["leakage_gap"] = {name: _gap(leaky, grouped, name) for name in SCORINGS}
    gap = summary["leakage_gap"]["accuracy"]
    grouped_line = (
        f"grouped CV ({plan.scheme} by {plan.group_column}, {summary['folds']} folds over "
        f"{plan.n_groups} groups): {_line(grouped)}"
    )
    leaky_line = f"leaky ungrouped CV (StratifiedKFold, same pipeline): {_line(leaky)}"
    if gap is not None:
        leaky_line += f" -- leakage would inflate accuracy by {gap:+.3f}"
    summary["summary"] = [grouped_line, leaky_line, *([plan.warning] if plan.warning else [])]
    return summary


def _leaky(estimator: Any, features: np.ndarray, y: np.ndarray, plan: CvPlan, params: dict[str, Any]) -> dict[str, Any]:
    model_selection = require("sklearn.model_selection", COMMAND)
    try:
        folds = _stratified(y, int(plan.folds.get_n_splits()), int(params["seed"]))
    except ModelError as exc:
        return {"skipped": str(exc)}
    with quiet():
        results = model_selection.cross_validate(
            estimator, features, y, cv=folds, scoring=list(SCORINGS), n_jobs=params["n_jobs"], error_score=np.nan
        )
    return {**_figures(results, "test_", slice(None)), "folds": int(folds.get_n_splits())}


def _gap(leaky: dict[str, Any], grouped: dict[str, Any], name: str) -> float | None:
    if leaky.get(name) is None or grouped.get(name) is None:
        return None
    return round(leaky[name] - grouped[name], 6)


def _line(figures: dict[str, Any]) -> str:
    if "skipped" in figures:
        return f"skipped ({figures['skipped']})"

    def text(name: str) -> str:
        value = figures.get(name)
        return "n/a" if value is None else f"{value:.3f}"

    return f"accuracy {text('accuracy')}, balanced accuracy {text('balanced_accuracy')}"

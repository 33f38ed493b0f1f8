"""Semi-automatic labelling (Modarres et al. 2017): predict, accept the confident, review the rest.

``predict`` runs a trained model over catalog images chosen by SQL. Each
image is tiled like the training data (the tile size the run recorded), its
tile probabilities are averaged, and the result is stored as a prediction.
At or above ``accept`` it becomes a ``predicted`` label (filling only images
that have no label yet); below it the suggestion is queued for review. A
person confirms or corrects a queued suggestion, and that label is stored as
``manual``. Predictions never overwrite an existing label.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fairmicro.catalog import Catalog
from fairmicro.catalog.connection import resolve_catalog_path
from fairmicro.catalog.store import QueryResult, utcnow
from fairmicro.errors import ModelError
from fairmicro.models.base import ModelPlugin
from fairmicro.models.provenance import RunRecorder, load_run, new_run_id
from fairmicro.models.runner import load_model
from fairmicro.schema import models

IMAGE_COLUMNS = ("sha256", "path", "file_format", "page_index", "data_bar_height_px", "label")
IMAGES_PER_BATCH = 32
COMMAND = "fairmicro predict"


@dataclass(frozen=True)
class Suggestion:
    """A model's label for one catalog image."""

    sha256: str
    path: str
    label: str
    confidence: float
    probabilities: dict[str, float]
    catalog_label: str | None


@dataclass(frozen=True)
class PredictResult:
    """Counts of a predict run."""

    run_id: str
    predicted: int
    accepted: int
    queued: int


def _tiles(pixels: np.ndarray, size: list[int] | None) -> Iterator[np.ndarray]:
    from fairmicro.builders.tiling import grid_origins

    if not size or pixels.shape[0] < size[0] or pixels.shape[1] < size[1]:
        yield pixels
        return
    rows, cols = size
    for y, x in grid_origins(pixels.shape[0], pixels.shape[1], max(rows, cols), max(rows, cols)):
        yield pixels[y : y + rows, x : x + cols]


def _suggest(model: ModelPlugin, catalog: Catalog, rows: list[dict[str, Any]], size: list[int] | None) -> list[Suggestion]:
    """Tile, predict and average per image for one batch of catalog rows."""
    from fairmicro.builders.deps import require
    from fairmicro.builders.pixels import encode_png, load_catalog_image

    datasets = require("datasets", COMMAND)

    records, owners = [], []
    for index, row in enumerate(rows):
        for tile in _tiles(load_catalog_image(catalog, row), size):
            # PNG bytes, as the builder stores tiles: keeps 16-bit pixels 16-bit.
            records.append({"image": {"bytes": encode_png(np.ascontiguousarray(tile)), "path": None},
                            **{c: row[c] for c in model.metadata_columns_}})
            owners.append(index)
    data = datasets.Dataset.from_list(records).cast_column("image", datasets.Image())
    probabilities = model.predict_proba(data)
    owner = np.asarray(owners)
    suggestions = []
    for index, row in enumerate(rows):
        mean = probabilities[owner == index].mean(axis=0)
        best = int(mean.argmax())
        suggestions.append(Suggestion(row["sha256"], row["path"], model.classes_[best], float(mean[best]),
                                      dict(zip(model.classes_, map(float, mean), strict=True)), row["label"]))
    return suggestions


def _selected(catalog: Catalog, where: str, columns: list[str]) -> list[dict[str, Any]]:
    from fairmicro.builders.selection import Selection, check_selection, iter_rows

    selection = Selection(where)
    check_selection(catalog, selection)
    return list(iter_rows(catalog, selection, columns))


def predict_catalog(run_id: str, where: str, accept: float, *, catalog: str | Path | None = None) -> PredictResult:
    """Suggest labels for the images ``where`` selects, with the model of training run ``run_id``."""
    if not 0.0 <= accept <= 1.0:
        raise ModelError(f"--accept {accept} must be between 0 and 1")
    path = resolve_catalog_path(catalog)
    parent = load_run(path, run_id)
    model = load_model(parent)
    columns = list(dict.fromkeys([*IMAGE_COLUMNS, *model.metadata_columns_]))
    with Catalog.open(path, read_only=True) as cat:
        rows = _selected(cat, where, columns)
        size = (parent.get("parameters") or {}).get("image_size")
        suggestions = [s for start in range(0, len(rows), IMAGES_PER_BATCH)
                       for s in _suggest(model, cat, rows[start : start + IMAGES_PER_BATCH], size)]
    recorder = RunRecorder(path, new_run_id(parent["plugin"]), parent["plugin"], model.version, "predict",
                           {"where": where, "accept": accept}, parent_run_id=run_id, seed=parent.get("seed"))
    recorder.start()
    accepted = [s for s in suggestions if s.confidence >= accept]
    metrics = {"predicted": len(suggestions), "accepted": len(accepted), "queued": len(suggestions) - len(accepted)}
    with Catalog.open(path) as cat, cat.transaction():
        recorder.complete(cat, metrics, [], _prediction_rows(recorder.run_id, suggestions))
        _store_suggestions(cat, recorder.run_id, suggestions, accept)
    return PredictResult(recorder.run_id, len(suggestions), len(accepted), len(suggestions) - len(accepted))


def _prediction_rows(run_id: str, suggestions: list[Suggestion]) -> list[models.Prediction]:
    return [
        models.Prediction(model_run_id=run_id, image_sha256=s.sha256, tile_x_px=0, tile_y_px=0,
                          true_label=s.catalog_label, predicted_label=s.label, confidence=s.confidence,
                          probabilities=json.dumps(s.probabilities, sort_keys=True))
        for s in suggestions
    ]


def _store_suggestions(catalog: Catalog, run_id: str, suggestions: list[Suggestion], accept: float) -> None:
    now = utcnow()
    annotations = []
    for s in suggestions:
        confident = s.confidence >= accept
        annotations.append(models.Annotation(
            annotation_id=f"{run_id}:{s.sha256[:16]}", image_sha256=s.sha256,
            annotation_kind="class_label" if confident else "review",
            label=s.label, label_source="predicted", confidence=s.confidence,
            model_run_id=run_id, created_at=now, created_by=run_id,
        ))
    catalog.insert("annotations", annotations)
    # fills only unlabelled images: manual, folder and table labels stay
    catalog.fill_image_labels([(s.sha256, None, s.label, "predicted") for s in suggestions if s.confidence >= accept])


# ------------------------------------------------------------------- review
# The newest open suggestion per image that no person has labelled yet, least confident first.
REVIEW_SQL = (
    "SELECT a.image_sha256, i.path, a.label AS suggested, a.confidence, a.model_run_id, "
    "i.label AS current_label, i.label_source "
    "FROM annotations a JOIN images i ON i.sha256 = a.image_sha256 "
    "WHERE a.annotation_kind = 'review' AND i.label_source IS DISTINCT FROM 'manual' "
    "QUALIFY row_number() OVER (PARTITION BY a.image_sha256 ORDER BY a.created_at DESC) = 1 "
    "ORDER BY a.confidence, i.path"
)


def pending_reviews(catalog: str | Path | None = None) -> QueryResult:
    """The review queue, least confident first."""
    with Catalog.open(resolve_catalog_path(catalog), read_only=True) as cat:
        return cat.query(REVIEW_SQL)


def set_manual_label(sha_prefix: str, label: str | None, *, catalog: str | Path | None = None) -> tuple[str, str]:
    """Confirm (``label=None``: take the suggestion) or correct an image's label; stored as ``manual``.

    Returns (image sha256, label).
    """
    with Catalog.open(resolve_catalog_path(catalog)) as cat:
        matches = cat.query("SELECT sha256 FROM images WHERE starts_with(sha256, ?)", [sha_prefix.lower()]).rows
        if len(matches) != 1:
            raise ModelError(f"image {sha_prefix!r} matches {len(matches)} images; give more of its sha256")
        sha = matches[0][0]
        pending = cat.query("SELECT annotation_id, label FROM annotations WHERE image_sha256 = ? AND "
                            "annotation_kind = 'review' ORDER BY created_at DESC", [sha]).rows
        if label is None and not pending:
            raise ModelError(f"image {sha[:12]} has no suggestion to confirm; give --label")
        chosen = label or pending[0][1]
        with cat.transaction():
            _store_manual_label(cat, sha, chosen, bool(pending))
    return sha, chosen


def _store_manual_label(cat: Catalog, sha: str, chosen: str, resolves_review: bool) -> None:
    cat.execute("UPDATE images SET label = ?, label_source = 'manual' WHERE sha256 = ?", [chosen, sha])
    if resolves_review:
        cat.execute("UPDATE annotations SET annotation_kind = 'class_label', label_source = 'manual', label = ?, "
                    "created_at = ?, created_by = ? WHERE image_sha256 = ? AND annotation_kind = 'review'",
                    [chosen, utcnow(), getpass.getuser(), sha])
    else:
        cat.insert("annotations", [models.Annotation(
            annotation_id=f"manual:{sha[:16]}:{utcnow():%Y%m%dT%H%M%S%f}", image_sha256=sha,
            annotation_kind="class_label", label=chosen, label_source="manual",
            created_at=utcnow(), created_by=getpass.getuser())])

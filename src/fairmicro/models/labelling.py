"""Semi-automatic labelling (Modarres et al. 2017): predict, accept the confident, review the rest.

``predict`` runs a trained model over catalog images chosen by SQL. Each
image is turned into model input by the builders' one function
(:func:`fairmicro.builders.model_input.input_rows`) with the plan the training
dataset's build recorded (tile size, stride, data-bar crop, ``--crop-bottom``),
so the model sees tiles prepared exactly like its training rows. Its tile
probabilities are averaged and the result stored as a prediction. At or above
``accept`` it becomes a ``predicted`` label (filling only images that have no
label yet); below it the suggestion is queued for review. A person confirms or
corrects a queued suggestion, and that label is stored as ``manual``.
Predictions never overwrite an existing label.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fairmicro.catalog import Catalog
from fairmicro.catalog.connection import resolve_catalog_path
from fairmicro.catalog.store import QueryResult, utcnow
from fairmicro.errors import ModelError
from fairmicro.models.base import ModelPlugin
from fairmicro.models.provenance import RunRecorder, load_run, new_run_id
from fairmicro.models.runner import load_model
from fairmicro.schema import models

if TYPE_CHECKING:
    from fairmicro.builders.tiling import TilingSpec

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
    """Counts of a predict run; ``skipped`` names images that gave no model input."""

    run_id: str
    predicted: int
    accepted: int
    queued: int
    skipped: tuple[str, ...] = ()


def input_plan(parent: dict[str, Any], catalog: Catalog) -> TilingSpec:
    """How the training run's dataset turned images into rows: the plan its build recorded.

    Read from the run (recorded at training time from the dataset's card), else
    from the catalog's record of the build the run's dataset revision names.

    Raises
    ------
    ModelError
        If neither records it (a dataset built by an older fairmicro).
    """
    from fairmicro.builders.tiling import TilingSpec

    parameters = parent.get("parameters") or {}
    recorded = parameters.get("input_plan")
    if recorded is None:
        fingerprint = parameters.get("dataset_fingerprint") or parent.get("dataset_revision")
        recorded = catalog.build_parameters(fingerprint)
    if not isinstance(recorded, dict):
        raise ModelError(
            f"run {parent['run_id']}: its dataset {parent.get('dataset_ref')!r} records no tiling "
            "plan (built by an older fairmicro); rebuild it with `fairmicro build` and retrain"
        )
    return TilingSpec.from_model_input(recorded)


def _model_rows(
    model: ModelPlugin, catalog: Catalog, rows: list[dict[str, Any]], spec: TilingSpec
) -> tuple[list[dict[str, Any]], list[int]]:
    """The model's input rows of each catalog row, built as ``fairmicro build`` builds them, and their owners."""
    from fairmicro.builders.model_input import input_rows

    records, owners = [], []
    for index, row in enumerate(rows):
        if row["height_px"] is not None and spec.bottom_rows(row["data_bar_height_px"]) >= row["height_px"]:
            continue  # nothing left after the crop: reported as skipped
        for _, out in input_rows(catalog, row, spec):
            record = {"image": out["image"]}
            record.update({c: out[c] if c in out else row.get(c) for c in model.metadata_columns_})
            records.append(record)
            owners.append(index)
    return records, owners


def _suggest(model: ModelPlugin, catalog: Catalog, rows: list[dict[str, Any]], spec: TilingSpec) -> list[Suggestion]:
    """Prepare, predict and average per image for one batch of catalog rows (images with no tiles are left out)."""
    from fairmicro.builders.deps import require

    datasets = require("datasets", COMMAND)
    records, owners = _model_rows(model, catalog, rows, spec)
    if not records:
        return []
    data = datasets.Dataset.from_list(records).cast_column("image", datasets.Image())
    probabilities = model.predict_proba(data)
    owner = np.asarray(owners)
    suggestions = []
    for index, row in enumerate(rows):
        if not (owner == index).any():
            continue
        mean = probabilities[owner == index].mean(axis=0)
        best = int(mean.argmax())
        suggestions.append(
            Suggestion(
                row["sha256"],
                row["path"],
                model.classes_[best],
                float(mean[best]),
                dict(zip(model.classes_, map(float, mean), strict=True)),
                row["label"],
            )
        )
    return suggestions


def _selected(catalog: Catalog, where: str, model: ModelPlugin) -> list[dict[str, Any]]:
    from fairmicro.builders.model_input import metadata_row, read_columns
    from fairmicro.catalog.selection import Selection, check_selection, iter_rows, resolve_columns

    selection = Selection(where)
    check_selection(catalog, selection)
    produced = set(metadata_row({})) | {"tile_x_px", "tile_y_px", "tile_width_px", "tile_height_px"}
    extra = [c for c in model.metadata_columns_ if c not in produced]
    columns = list(dict.fromkeys([*read_columns(), "label", *extra]))
    return list(iter_rows(catalog, selection, columns, resolve_columns(catalog, extra)))


def _skipped(rows: list[dict[str, Any]], suggestions: list[Suggestion], spec: TilingSpec) -> tuple[str, ...]:
    done = {s.sha256 for s in suggestions}
    size = f"one {spec.tile}x{spec.tile} px tile" if spec.tile else "any rows"
    return tuple(
        f"{Path(r['path']).name}: too small for {size} after cropping" for r in rows if r["sha256"] not in done
    )


def predict_catalog(run_id: str, where: str, accept: float, *, catalog: str | Path | None = None) -> PredictResult:
    """Suggest labels for the images ``where`` selects, with the model of training run ``run_id``.

    Every image is prepared by :func:`fairmicro.builders.model_input.input_rows`
    with the plan the training dataset's build recorded (see :func:`input_plan`).
    """
    if not 0.0 <= accept <= 1.0:
        raise ModelError(f"--accept {accept} must be between 0 and 1")
    path = resolve_catalog_path(catalog)
    parent = load_run(path, run_id)
    model = load_model(parent)
    if model.task != "classification":
        raise ModelError(
            f"run {run_id} is a {model.task} model; it predicts dataset splits: "
            f"`fairmicro predict {run_id} --dataset D --split test --out DIR`"
        )
    with Catalog.open(path, read_only=True) as cat:
        spec = input_plan(parent, cat)
        rows = _selected(cat, where, model)
        suggestions = [
            s
            for start in range(0, len(rows), IMAGES_PER_BATCH)
            for s in _suggest(model, cat, rows[start : start + IMAGES_PER_BATCH], spec)
        ]
    skipped = _skipped(rows, suggestions, spec)
    recorder = RunRecorder(
        path,
        new_run_id(parent["plugin"]),
        parent["plugin"],
        model.version,
        "predict",
        {"where": where, "accept": accept, "input_plan": spec.model_input()},
        parent_run_id=run_id,
        seed=parent.get("seed"),
        task=model.task,
    )
    recorder.start()
    accepted = [s for s in suggestions if s.confidence >= accept]
    metrics = {
        "predicted": len(suggestions),
        "accepted": len(accepted),
        "queued": len(suggestions) - len(accepted),
        "skipped": len(skipped),
    }
    with Catalog.open(path) as cat, cat.transaction():
        recorder.complete(cat, metrics, [])
        cat.add_predictions(_prediction_rows(recorder.run_id, suggestions))
        _store_suggestions(cat, recorder.run_id, suggestions, accept)
    return PredictResult(recorder.run_id, len(suggestions), len(accepted), len(suggestions) - len(accepted), skipped)


def _prediction_rows(run_id: str, suggestions: list[Suggestion]) -> list[models.Prediction]:
    return [
        models.Prediction(
            model_run_id=run_id,
            image_sha256=s.sha256,
            tile_x_px=0,
            tile_y_px=0,
            true_label=s.catalog_label,
            predicted_label=s.label,
            confidence=s.confidence,
            probabilities=json.dumps(s.probabilities, sort_keys=True),
        )
        for s in suggestions
    ]


def _store_suggestions(catalog: Catalog, run_id: str, suggestions: list[Suggestion], accept: float) -> None:
    now = utcnow()
    annotations = []
    for s in suggestions:
        confident = s.confidence >= accept
        annotations.append(
            models.Annotation(
                annotation_id=f"{run_id}:{s.sha256[:16]}",
                image_sha256=s.sha256,
                annotation_kind="class_label" if confident else "review",
                label=s.label,
                label_source="predicted",
                confidence=s.confidence,
                model_run_id=run_id,
                created_at=now,
                created_by=run_id,
            )
        )
    catalog.insert("annotations", annotations)
    # fills only unlabelled images: manual, folder and table labels stay
    catalog.fill_image_labels([(s.sha256, None, s.label, "predicted") for s in suggestions if s.confidence >= accept])


# ------------------------------------------------------------------- review
def pending_reviews(catalog: str | Path | None = None) -> QueryResult:
    """The review queue, least confident first."""
    with Catalog.open(resolve_catalog_path(catalog), read_only=True) as cat:
        return cat.review_queue()


def set_manual_label(
    sha_prefix: str, label: str | None, *, catalog: str | Path | None = None, new_label: bool = False
) -> tuple[str, str]:
    """Confirm (``label=None``: take the suggestion) or correct an image's label; stored as ``manual``.

    ``label`` must be one the catalog already knows (a label of some image, or a
    class of the model that made the suggestion), so a typo never becomes a new
    class; ``new_label=True`` accepts a genuinely new one. Returns (image sha256, label).

    Raises
    ------
    ModelError
        If the prefix does not name one image, there is nothing to confirm, or the label is unknown.
    """
    with Catalog.open(resolve_catalog_path(catalog)) as cat:
        matches = cat.images_with_prefix(sha_prefix.lower())
        if len(matches) != 1:
            raise ModelError(f"image {sha_prefix!r} matches {len(matches)} images; give more of its sha256")
        sha = matches[0]
        pending = cat.open_reviews(sha)
        if label is None and not pending:
            raise ModelError(f"image {sha[:12]} has no suggestion to confirm; give --label")
        chosen = pending[0][1] if label is None else check_label(label, known_labels(cat, pending), new_label)
        with cat.transaction():
            _store_manual_label(cat, sha, chosen, bool(pending))
    return sha, chosen


def known_labels(cat: Catalog, pending: Sequence[Sequence[Any]] = ()) -> list[str]:
    """Labels a review may set: every image label in the catalog and the suggesting models' classes."""
    labels = cat.image_labels()
    for run_id in {row[2] for row in pending if row[2]}:
        labels.update(cat.run_classes(run_id))
    labels.update(row[1] for row in pending if row[1])
    return sorted(labels)


def check_label(label: str, known: list[str], new_label: bool = False) -> str:
    """``label`` (trimmed) if it is known, or new and allowed; else one line listing the valid ones.

    Raises
    ------
    ModelError
        If the label is empty, has control characters, or is unknown without ``new_label``.
    """
    text = label.strip()
    if not text or len(text) > 200 or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise ModelError(f"--label {label!r}: a label is one line of 1 to 200 printable characters")
    if text in known or new_label:
        return text
    import difflib

    close = difflib.get_close_matches(text, known, n=1) or [k for k in known if k.lower() == text.lower()]
    hint = f"did you mean {close[0]!r}? " if close else ""
    listed = ", ".join(known[:20]) + (f", ... ({len(known)} in all)" if len(known) > 20 else "")
    raise ModelError(
        f"--label {label!r} is not a known label; {hint}known: {listed or 'none yet'}; "
        "pass --new-label to add a new class"
    )


def _store_manual_label(cat: Catalog, sha: str, chosen: str, resolves_review: bool) -> None:
    cat.set_manual_label(sha, chosen)
    if resolves_review:
        cat.resolve_reviews(sha, chosen, at=utcnow(), by=getpass.getuser())
    else:
        cat.insert(
            "annotations",
            [
                models.Annotation(
                    annotation_id=f"manual:{sha[:16]}:{utcnow():%Y%m%dT%H%M%S%f}",
                    image_sha256=sha,
                    annotation_kind="class_label",
                    label=chosen,
                    label_source="manual",
                    created_at=utcnow(),
                    created_by=getpass.getuser(),
                )
            ],
        )

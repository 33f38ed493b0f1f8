"""Model runs, predictions and the labelling review queue: the catalog verbs the model layer uses.

Mixed into :class:`fairmicro.catalog.store.Catalog` (:class:`RunsMixin`), so
``models/`` asks for runs, predictions and reviews by name and never speaks SQL.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fairmicro.catalog.store import QueryResult
    from fairmicro.schema import models

RUN_JSON_COLUMNS = ("parameters", "metrics", "artifacts", "library_versions")

RUNS_SQL = (
    "SELECT run_id, run_kind, task, plugin, status, dataset_ref, json_extract_string(metrics, '$.split') AS scored_on, "
    "round(CAST(json_extract(metrics, '$.scores.accuracy') AS DOUBLE), 4) AS accuracy, "
    "parent_run_id, started_at, ended_at FROM model_runs ORDER BY started_at"
)

# The newest open suggestion per image that no person has labelled yet, least confident first.
REVIEW_SQL = (
    "SELECT a.image_sha256, i.path, a.label AS suggested, a.confidence, a.model_run_id, "
    "i.label AS current_label, i.label_source "
    "FROM annotations a JOIN images i ON i.sha256 = a.image_sha256 "
    "WHERE a.annotation_kind = 'review' AND i.label_source IS DISTINCT FROM 'manual' "
    "QUALIFY row_number() OVER (PARTITION BY a.image_sha256 ORDER BY a.created_at DESC) = 1 "
    "ORDER BY a.confidence, i.path"
)


class RunsMixin:
    """Catalog verbs for ``model_runs``, ``predictions`` and review annotations."""

    # provided by Catalog
    def query(self, sql: str, params: Sequence[Any] | None = None) -> QueryResult: ...  # type: ignore[empty-body]
    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None: ...
    def insert(self, table: str, records: Sequence[Any], conflict: str = "DO NOTHING") -> None: ...

    # ------------------------------------------------------------- runs
    def start_model_run(self, record: models.ModelRun) -> None:
        """Insert a run's row (status ``running``)."""
        self.insert("model_runs", [record])

    def complete_model_run(
        self, run_id: str, *, metrics: str | None, artifacts: str | None, parameters: str | None, ended_at: datetime
    ) -> None:
        """Mark a run succeeded with its metrics, artifacts and final parameters (JSON texts)."""
        self.execute(
            "UPDATE model_runs SET metrics = ?, artifacts = ?, ended_at = ?, status = 'succeeded', "
            "parameters = ? WHERE run_id = ?",
            [metrics, artifacts, ended_at, parameters, run_id],
        )

    def fail_model_run(self, run_id: str, *, metrics: str | None, ended_at: datetime) -> None:
        """Mark a run failed (the reason in its metrics JSON)."""
        self.execute(
            "UPDATE model_runs SET status = 'failed', ended_at = ?, metrics = ? WHERE run_id = ?",
            [ended_at, metrics, run_id],
        )

    def model_run(self, run_id: str) -> dict[str, Any] | None:
        """A run's row as a dict with its JSON columns decoded; None when there is none."""
        result = self.query("SELECT * FROM model_runs WHERE run_id = ?", [run_id])
        if not result.rows:
            return None
        row = dict(zip(result.columns, result.rows[0], strict=True))
        for column in RUN_JSON_COLUMNS:
            if row.get(column):
                row[column] = json.loads(row[column])
        return row

    def model_run_ids(self) -> list[str]:
        """Every run id, oldest first."""
        return [r[0] for r in self.query("SELECT run_id FROM model_runs ORDER BY started_at").rows]

    def model_runs_table(self) -> QueryResult:
        """Every run with its task, split scored and accuracy (classification), oldest first."""
        return self.query(RUNS_SQL)

    def add_predictions(self, rows: Sequence[models.Prediction]) -> None:
        """Insert a run's predictions."""
        self.insert("predictions", rows)

    def predictions_of(self, run_id: str) -> QueryResult:
        """A run's predictions, in image and tile order."""
        return self.query(
            "SELECT * FROM predictions WHERE model_run_id = ? ORDER BY image_sha256, tile_y_px, tile_x_px", [run_id]
        )

    def build_parameters(self, fingerprint: str | None) -> dict[str, Any] | None:
        """The recorded parameters of the newest build with this dataset fingerprint."""
        rows = self.query(
            "SELECT parameters FROM datasets WHERE fingerprint = ? ORDER BY created_at DESC NULLS LAST LIMIT 1",
            [fingerprint],
        ).rows
        return json.loads(rows[0][0]) if rows and rows[0][0] else None

    # ----------------------------------------------------------- review
    def review_queue(self) -> QueryResult:
        """Open suggestions, newest per image not labelled by a person, least confident first."""
        return self.query(REVIEW_SQL)

    def images_with_prefix(self, sha_prefix: str) -> list[str]:
        """sha256 of every image whose hash starts with ``sha_prefix``."""
        return [r[0] for r in self.query("SELECT sha256 FROM images WHERE starts_with(sha256, ?)", [sha_prefix]).rows]

    def open_reviews(self, sha256: str) -> list[tuple[str, str, str | None]]:
        """(annotation id, suggested label, model run) of an image's review suggestions, newest first."""
        return [
            tuple(r)
            for r in self.query(
                "SELECT annotation_id, label, model_run_id FROM annotations WHERE image_sha256 = ? AND "
                "annotation_kind = 'review' ORDER BY created_at DESC",
                [sha256],
            ).rows
        ]

    def image_labels(self) -> set[str]:
        """Every label some image has."""
        return {r[0] for r in self.query("SELECT DISTINCT label FROM images WHERE label IS NOT NULL").rows}

    def run_classes(self, run_id: str) -> list[str]:
        """The classes a run's stored probabilities name."""
        rows = self.query(
            "SELECT probabilities FROM predictions WHERE model_run_id = ? AND probabilities IS NOT NULL LIMIT 1",
            [run_id],
        ).rows
        return list(json.loads(rows[0][0])) if rows else []

    def set_manual_label(self, sha256: str, label: str) -> None:
        """An image's label, stored as set by a person."""
        self.execute("UPDATE images SET label = ?, label_source = 'manual' WHERE sha256 = ?", [label, sha256])

    def resolve_reviews(self, sha256: str, label: str, *, at: datetime, by: str) -> None:
        """Turn an image's open review suggestions into its manual class label."""
        self.execute(
            "UPDATE annotations SET annotation_kind = 'class_label', label_source = 'manual', label = ?, "
            "created_at = ?, created_by = ? WHERE image_sha256 = ? AND annotation_kind = 'review'",
            [label, at, by, sha256],
        )

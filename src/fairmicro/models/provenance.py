"""Provenance written back into the catalog: one ``model_runs`` row per run, its predictions.

The catalog is opened only for these short writes, never for the length of a
training run, so `fairmicro query` keeps working while a model trains.
"""

from __future__ import annotations

import json
import platform
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from fairmicro.catalog import Catalog
from fairmicro.catalog.store import QueryResult, utcnow
from fairmicro.schema import models

LIBRARIES = (
    "fairmicro",
    "numpy",
    "scikit-learn",
    "scikit-image",
    "keras",
    "torch",
    "tensorflow",
    "datasets",
    "huggingface_hub",
    "duckdb",
    "pyarrow",
)


def new_run_id(plugin: str) -> str:
    """Sortable, unique run id, e.g. ``texture-20261121T210455-3f2a9c``."""
    return f"{plugin}-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


def library_versions() -> dict[str, str]:
    """Versions of the installed libraries a run may depend on."""
    found = {}
    for name in LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, default=str)


@dataclass
class RunRecorder:
    """Writes one run's row at start and completes it at the end."""

    catalog_path: Path | None
    run_id: str
    plugin: str
    plugin_version: str
    run_kind: str
    parameters: dict[str, Any]
    dataset_ref: str | None = None
    dataset_revision: str | None = None
    split: str | None = None
    seed: int | None = None
    parent_run_id: str | None = None
    task: str | None = None
    started_at: datetime = field(default_factory=utcnow)

    def record(self) -> models.ModelRun:
        """The run's row as it is inserted (status ``running``)."""
        return models.ModelRun(
            run_id=self.run_id,
            plugin=self.plugin,
            plugin_version=self.plugin_version,
            parameters=_json(self.parameters),
            dataset_ref=self.dataset_ref,
            dataset_revision=self.dataset_revision,
            split=self.split,
            seed=self.seed,
            library_versions=_json(library_versions()),
            started_at=self.started_at,
            host=platform.node(),
            status="running",
            run_kind=self.run_kind,
            parent_run_id=self.parent_run_id,
            task=self.task,
        )

    def start(self) -> None:
        """Insert the row with status ``running``."""
        record = self.record()
        with Catalog.open(self.catalog_path) as catalog:
            catalog.start_model_run(record)

    def complete(self, catalog: Catalog, metrics: dict[str, Any], artifacts: list[dict[str, Any]]) -> None:
        """Mark the row succeeded, inside a transaction the caller holds (with the task's rows)."""
        catalog.complete_model_run(
            self.run_id,
            metrics=_json(metrics),
            artifacts=_json(artifacts),
            parameters=_json(self.parameters),
            ended_at=utcnow(),
        )

    def fail(self, message: str) -> None:
        """Mark the run failed, with the reason in its metrics."""
        with Catalog.open(self.catalog_path) as catalog:
            catalog.fail_model_run(self.run_id, metrics=_json({"error": message}), ended_at=utcnow())


def load_run(catalog_path: Path | None, run_id: str) -> dict[str, Any]:
    """A model run's row as a dict (JSON columns decoded)."""
    from fairmicro.errors import ModelError

    with Catalog.open(catalog_path, read_only=True) as catalog:
        row = catalog.model_run(run_id)
    if row is None:
        raise ModelError(f"no model run {run_id!r} in the catalog; list runs with `fairmicro runs`")
    return row


def list_runs(catalog_path: Path | None) -> QueryResult:
    """Every model run with its task and main metric, oldest first."""
    with Catalog.open(catalog_path, read_only=True) as catalog:
        return catalog.model_runs_table()

"""A write that conflicts with another writer's commit on a shared catalog is retried, not failed.

Ingest batches re-run their work (``backend.atomic``); every other write
transaction (a run, build, review or qualification record) is replayed
statement by statement by the lake connection when its COMMIT conflicts.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from fairmicro.catalog import Catalog
from fairmicro.catalog.backend import is_conflict
from tests.catalog.ducklake_support import Lake, lake_fixture, pg_dsn_fixture, write_images  # noqa: F401

pytestmark = pytest.mark.slow
RUN = (
    "INSERT INTO model_runs (run_id, plugin, run_kind, task, status) VALUES (?, 'texture', 'train', "
    "'classification', 'running')"
)


def _interleaved(lake: Lake, replay: bool) -> Exception | None:
    """Writer A opens a transaction, writer B commits meanwhile, then A commits; A's error, if any."""
    with Catalog.open(lake.location) as a, Catalog.open(lake.location) as b:
        a.con.replay = replay
        a.con.execute("BEGIN TRANSACTION")
        a.execute(RUN, [f"a-{replay}"])
        a.execute("UPDATE images SET label = 'late', label_source = 'manual' WHERE label IS NULL")
        with b.transaction():
            b.execute(RUN, [f"b-{replay}"])
        try:
            a.con.execute("COMMIT")
        except duckdb.Error as exc:
            return exc
    return None


@pytest.fixture
def lake_env(lake: Lake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Lake:
    monkeypatch.setenv("FAIRMICRO_DATA_PATH", str(lake.data_path))
    lake("ingest", str(write_images(tmp_path / "imgs", range(2))))
    return lake


def test_conflicting_commit_is_replayed_and_keeps_both_writes(lake_env: Lake) -> None:
    assert _interleaved(lake_env, replay=True) is None
    with Catalog.open(lake_env.location, read_only=True) as catalog:
        runs = sorted(r[0] for r in catalog.query("SELECT run_id FROM model_runs").rows)
        labels = catalog.query("SELECT DISTINCT label, label_source FROM images").rows
    assert runs == ["a-True", "b-True"]
    assert labels == [("late", "manual")]


def test_without_replay_the_same_interleaving_conflicts(lake_env: Lake) -> None:
    error = _interleaved(lake_env, replay=False)  # proves the test above exercises a real conflict
    assert error is not None and is_conflict(error)
    with Catalog.open(lake_env.location, read_only=True) as catalog:
        runs = [r[0] for r in catalog.query("SELECT run_id FROM model_runs").rows]
        unlabelled = catalog.query("SELECT count(*) FROM images WHERE label IS NULL").rows[0][0]
    assert runs == ["b-False"] and unlabelled == 2

"""Several ingest processes writing one shared (DuckLake) catalog at once; one is killed mid-batch.

Four real CLI processes ingest overlapping folders (copies of the same images
at different paths, and the same paths), one of them is SIGKILLed while it
writes and then rerun; the end state is checked with SQL on the lake.
"""

from __future__ import annotations

import shutil
import signal
import time
from pathlib import Path

import pytest

from fairmicro.catalog import Catalog
from tests.catalog.ducklake_support import Lake, lake_fixture, pg_dsn_fixture, write_images  # noqa: F401  (fixtures lake, pg_dsn)

pytestmark = pytest.mark.slow


def _state(location: str) -> dict[str, int]:
    with Catalog.open(location, read_only=True) as catalog:
        row = catalog.query(
            "SELECT (SELECT count(*) FROM images), (SELECT count(DISTINCT sha256) FROM images), "
            "(SELECT count(*) FROM imaging_conditions), (SELECT count(DISTINCT image_sha256) FROM imaging_conditions), "
            "(SELECT count(*) FROM image_files), (SELECT count(DISTINCT path) FROM image_files), "
            "(SELECT count(*) FROM image_files f WHERE NOT EXISTS (SELECT 1 FROM images i WHERE i.sha256 = f.image_sha256)), "
            "(SELECT count(*) FROM images i WHERE NOT EXISTS (SELECT 1 FROM image_files f WHERE f.image_sha256 = i.sha256)), "
            "(SELECT count(*) FROM schema_migrations), (SELECT count(DISTINCT name) FROM schema_migrations)"
        ).rows[0]
    keys = (
        "images",
        "distinct_sha",
        "conditions",
        "distinct_conditions",
        "files",
        "distinct_paths",
        "orphan_files",
        "images_without_file",
        "migrations",
        "distinct_migrations",
    )
    return dict(zip(keys, row, strict=True))


def _wait_for_first_batch(folder: Path, victim: object, timeout: float = 120) -> None:
    """Until some writer has committed a batch (its data file exists), while the victim still runs."""
    deadline = time.monotonic() + timeout
    while not (folder.is_dir() and any(folder.iterdir())) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    assert victim.poll() is None, "the victim finished before it could be killed"  # type: ignore[attr-defined]


def test_four_writers_and_a_kill_keep_every_file_once(lake: Lake, tmp_path: Path) -> None:
    shared = write_images(tmp_path / "shared", range(24))
    a = write_images(tmp_path / "a", range(24, 40))
    shutil.copytree(shared, a / "copy")  # the same images at other paths
    b = write_images(tmp_path / "b", range(40, 56))
    procs = [
        lake.start("ingest", str(shared), str(a), "--batch-size", "6"),
        lake.start("ingest", str(shared), str(b), "--batch-size", "6"),
        lake.start("ingest", str(a), str(b), "--batch-size", "6"),
        lake.start("ingest", str(b), str(shared), "--batch-size", "6"),
    ]
    victim = procs[3]
    _wait_for_first_batch(lake.data_path / "main" / "image_files", victim)
    victim.send_signal(signal.SIGKILL)
    for proc in procs[:3]:
        _, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
    victim.wait()
    rerun = lake("ingest", str(b), str(shared), "--batch-size", "6")
    assert "rejected 0" in rerun.stdout + rerun.stderr or rerun.returncode == 0
    state = _state(lake.location)
    files = 24 + 16 + 24 + 16  # shared, a, a/copy, b: every path once
    assert state == {
        "images": 56,
        "distinct_sha": 56,
        "conditions": 56,
        "distinct_conditions": 56,
        "files": files,
        "distinct_paths": files,
        "orphan_files": 0,
        "images_without_file": 0,
        "migrations": state["distinct_migrations"],
        "distinct_migrations": state["distinct_migrations"],
    }


def test_two_processes_migrate_a_new_lake_once(lake: Lake, tmp_path: Path) -> None:
    folder = write_images(tmp_path / "imgs", range(3))
    procs = [lake.start("ingest", str(folder)) for _ in range(3)]
    for proc in procs:
        _, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
    state = _state(lake.location)
    assert state["migrations"] == state["distinct_migrations"] >= 8
    assert (state["images"], state["distinct_sha"], state["files"]) == (3, 3, 3)

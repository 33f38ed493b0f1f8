"""Kill an ingest mid-run, rerun it: no duplicates, no half-written images."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import duckdb
import pytest

from fairmicro.testing.samples import texture, write_fei_tiff

FILES = 120


def _invariants(catalog_path) -> dict[str, int]:
    con = duckdb.connect(str(catalog_path), read_only=True)
    try:
        counts = dict(
            zip(
                ("images", "conditions", "files", "shas", "orphans"),
                con.execute(
                    "SELECT (SELECT count(*) FROM images), (SELECT count(*) FROM imaging_conditions), "
                    "(SELECT count(*) FROM image_files), (SELECT count(DISTINCT sha256) FROM images), "
                    "(SELECT count(*) FROM images i WHERE NOT EXISTS "
                    "   (SELECT 1 FROM imaging_conditions c WHERE c.image_sha256 = i.sha256) "
                    "   OR NOT EXISTS (SELECT 1 FROM image_files f WHERE f.image_sha256 = i.sha256))"
                ).fetchone(),
                strict=True,
            )
        )
    finally:
        con.close()
    return counts


def test_killed_ingest_leaves_whole_batches_and_rerun_completes(tmp_path, catalog_path):
    folder = tmp_path / "in"
    for index in range(FILES):
        write_fei_tiff(folder / f"img_{index:04d}.tif", texture((64, 64), seed=index))
    env = {**os.environ, "FAIRMICRO_CATALOG": str(catalog_path)}
    command = [sys.executable, "-m", "fairmicro", "--debug", "ingest", str(folder), "--batch-size", "7"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
    commits = 0
    for line in process.stderr:
        commits += "committed batch" in line
        if commits == 3:
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, "ingest finished before it could be interrupted"

    partial = _invariants(catalog_path)
    assert partial["orphans"] == 0
    assert partial["images"] == partial["conditions"] == partial["files"] == partial["shas"]
    assert 21 <= partial["images"] < FILES

    rerun = subprocess.run([*command[:3], *command[4:], "--json"], capture_output=True, text=True, env=env, check=True)
    summary = json.loads(rerun.stdout)
    assert summary["already_present"] == partial["images"]
    assert summary["ingested"] == FILES - partial["images"]
    final = _invariants(catalog_path)
    assert final == {"images": FILES, "conditions": FILES, "files": FILES, "shas": FILES, "orphans": 0}


KILL_FILES = 300
KILL_POINTS = 5


@pytest.mark.slow
def test_ingest_killed_at_five_random_points_keeps_whole_batches_and_a_rerun_completes(tmp_path, catalog_path):
    """SIGKILL at 5 random moments (after a random number of commits, plus a random delay into the next
    batch), each kill resuming the previous partial catalog; then a rerun finishes the job."""
    folder = tmp_path / "in"
    for index in range(KILL_FILES):
        write_fei_tiff(folder / f"img_{index:04d}.tif", texture((48, 48), seed=index))
    env = {**os.environ, "FAIRMICRO_CATALOG": str(catalog_path)}
    command = [sys.executable, "-m", "fairmicro", "--debug", "ingest", str(folder), "--batch-size", "7"]
    rng = random.Random(20261201)
    before = 0
    for _point in range(KILL_POINTS):
        after_commits, delay = rng.randint(1, 12), rng.uniform(0.0, 0.3)
        process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
        commits = 0
        for line in process.stderr:
            commits += "committed batch" in line
            if commits == after_commits:
                time.sleep(delay)
                process.send_signal(signal.SIGKILL)
                break
        process.wait(timeout=120)
        partial = _invariants(catalog_path)
        assert partial["orphans"] == 0
        assert partial["images"] == partial["conditions"] == partial["files"] == partial["shas"]
        assert before <= partial["images"] <= KILL_FILES  # a batch of already-present files adds none
        before = partial["images"]

    rerun = subprocess.run([*command[:3], *command[4:], "--json"], capture_output=True, text=True, env=env, check=True)
    summary = json.loads(rerun.stdout)
    assert summary["already_present"] == before
    assert summary["ingested"] == KILL_FILES - before
    final = _invariants(catalog_path)
    assert final == {
        "images": KILL_FILES,
        "conditions": KILL_FILES,
        "files": KILL_FILES,
        "shas": KILL_FILES,
        "orphans": 0,
    }

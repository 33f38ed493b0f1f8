"""An independent check, as a script would do it: its own PostgreSQL, two concurrent ingests, one SIGKILL.

Nothing of fairmicro's catalog code reads the result: the lake is attached
with plain DuckDB (the pinned extensions, read-only) and checked with SQL.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from fairmicro.catalog.ducklake import extension_file
from fairmicro.catalog.pg import throwaway_cluster, unavailable_reason
from tests.catalog.ducklake_support import write_images

pytestmark = pytest.mark.slow
CHECKS = {
    "images": "SELECT count(*) FROM images",
    "duplicate_images": "SELECT count(*) - count(DISTINCT sha256) FROM images",
    "files": "SELECT count(*) FROM image_files",
    "duplicate_paths": "SELECT count(*) - count(DISTINCT path) FROM image_files",
    "orphan_files": "SELECT count(*) FROM image_files f ANTI JOIN images i ON i.sha256 = f.image_sha256",
    "images_without_file": "SELECT count(*) FROM images i ANTI JOIN image_files f ON f.image_sha256 = i.sha256",
    "images_without_conditions": "SELECT count(*) FROM images i ANTI JOIN imaging_conditions c "
    "ON c.image_sha256 = i.sha256",
    "duplicate_migrations": "SELECT count(*) - count(DISTINCT name) FROM schema_migrations",
}


def _start(env: dict[str, str], cwd: Path, *folders: Path) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "fairmicro", "ingest", *map(str, folders), "--batch-size", "4"]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)


def _check(location: str) -> dict[str, int]:
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    for name in ("postgres_scanner", "ducklake"):
        con.execute(f"LOAD '{extension_file(name)}'")
    con.execute(f"ATTACH '{location}' AS lake (READ_ONLY)")
    con.execute("USE lake")
    try:
        return {name: con.execute(sql).fetchone()[0] for name, sql in CHECKS.items()}
    finally:
        con.close()


def test_two_writers_and_a_kill_checked_with_plain_sql(tmp_path: Path) -> None:
    reason = unavailable_reason()
    if reason:
        pytest.skip(f"no PostgreSQL for DuckLake tests: {reason}")
    shared = write_images(tmp_path / "shared", range(16))
    own = write_images(tmp_path / "own", range(16, 28))
    shutil.copytree(shared, own / "copy")  # the same images under other paths
    with throwaway_cluster("independent") as dsn:
        location = f"ducklake:postgres:{dsn}"
        data = tmp_path / "data"
        env = {**os.environ, "FAIRMICRO_CATALOG": location, "FAIRMICRO_DATA_PATH": str(data)}
        survivor = _start(env, tmp_path, shared, own)
        victim = _start(env, tmp_path, own, shared)
        deadline = time.monotonic() + 120
        while not list(data.glob("main/image_files/*")) and time.monotonic() < deadline and victim.poll() is None:
            time.sleep(0.05)
        victim.send_signal(signal.SIGKILL)
        assert victim.wait() == -signal.SIGKILL, "the victim finished before it could be killed"
        _, err = survivor.communicate(timeout=240)
        assert survivor.returncode == 0, err
        rerun = subprocess.run(
            [sys.executable, "-m", "fairmicro", "ingest", str(own), str(shared)],
            check=False,
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert rerun.returncode == 0, rerun.stderr
        state = _check(location)
    assert state == {
        "images": 28,
        "duplicate_images": 0,
        "files": 16 + 12 + 16,
        "duplicate_paths": 0,
        "orphan_files": 0,
        "images_without_file": 0,
        "images_without_conditions": 0,
        "duplicate_migrations": 0,
    }

"""Kill `fairmicro build` at random moments: no half folder is ever registered or left at --out; a rerun completes."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.builders.conftest import write_collection
from tests.conftest import Cli

PATTERN = r"(?P<specimen_id>S\d{3})_"
BUILD = ("build", "d", "--tile", "16", "--license", "MIT", "--no-validate")


def _complete(folder: Path, reference: Path) -> bool:
    """The folder holds everything a finished build writes, shards byte-identical to the reference build."""
    import pyarrow.parquet as pq

    if not all((folder / name).is_file() for name in ("README.md", "ro-crate-metadata.json", "croissant.json")):
        return False
    shards = sorted(p.relative_to(reference) for p in (reference / "data").glob("*.parquet"))
    if sorted(p.relative_to(folder) for p in (folder / "data").glob("*.parquet")) != shards:
        return False
    for shard in shards:
        pq.read_metadata(folder / shard)
    return all((folder / s).read_bytes() == (reference / s).read_bytes() for s in shards)


def _staging(out: Path) -> set[str]:
    return {p.name for p in out.parent.glob(f".{out.name}.*")} if out.parent.exists() else set()


def _registered(catalog: Path) -> tuple[list[str], int]:
    con = duckdb.connect(str(catalog), read_only=True)
    try:
        paths = [row[0] for row in con.execute("SELECT output_path FROM datasets").fetchall()]
        orphans = con.execute(
            "SELECT count(*) FROM dataset_images di WHERE NOT EXISTS "
            "(SELECT 1 FROM datasets d WHERE d.dataset_id = di.dataset_id)"
        ).fetchone()[0]
    finally:
        con.close()
    return paths, orphans


@pytest.mark.slow
def test_build_killed_at_five_random_points_registers_no_half_folder_and_a_rerun_completes(tmp_path, catalog_path):
    cli = Cli(catalog_path, tmp_path)
    table = write_collection(tmp_path / "images", specimens_per_class=5, images_per_specimen=4, shape=(64, 96))
    cli(
        "ingest",
        str(tmp_path / "images"),
        "--specimens",
        str(table),
        "--specimen-pattern",
        PATTERN,
        "--label-from-folder",
    )
    start = time.monotonic()
    reference_summary = json.loads(cli(*BUILD, "--out", "ref", "--json").stdout)
    duration = time.monotonic() - start
    reference, out = tmp_path / "ref", tmp_path / "datasets" / "d"

    env = {**os.environ, "FAIRMICRO_CATALOG": str(catalog_path)}
    command = [sys.executable, "-m", "fairmicro", *BUILD, "--out", str(out)]
    rng = random.Random(7)
    for _point in range(5):
        staged = _staging(out)
        process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while _staging(out) == staged and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)  # kill while the build writes, not while it imports
        time.sleep(rng.uniform(0.0, 0.4) * duration)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        assert not out.exists() or _complete(out, reference)
        registered, orphans = _registered(catalog_path)
        assert orphans == 0
        for path in registered:
            assert _complete(Path(path), reference), f"registered build folder {path} is incomplete"
        visible = [p.name for p in out.parent.iterdir() if not p.name.startswith(".")] if out.parent.exists() else []
        assert visible in ([], ["d"])  # staging folders are hidden siblings, never a second visible folder

    summary = json.loads(cli(*BUILD, "--out", str(out), "--json").stdout)
    assert summary["fingerprint"] == reference_summary["fingerprint"]
    assert _complete(out, reference)
    registered, orphans = _registered(catalog_path)
    assert orphans == 0 and str(out.resolve()) in registered

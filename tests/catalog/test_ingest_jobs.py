"""`fairmicro ingest --jobs N` writes exactly what `--jobs 1` writes, rejections included."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fairmicro.testing.samples import texture, write_fei_tiff, write_zeiss_tiff

SQL = (
    "SELECT path, sha256, extractor, width_px, detector, accelerating_voltage_kv, pixel_size_x_nm "
    "FROM image_metadata ORDER BY path"
)


def _fairmicro(catalog: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FAIRMICRO_CATALOG": str(catalog)}
    return subprocess.run([sys.executable, "-m", "fairmicro", *args], capture_output=True, text=True,
                          env=env, timeout=300, check=False)


def _folder(root: Path) -> Path:
    folder = root / "in"
    for index in range(6):
        writer = write_zeiss_tiff if index % 2 else write_fei_tiff
        writer(folder / f"img_{index}.tif", texture((48, 64), seed=index))
    (folder / "copy of img_1.tif").write_bytes((folder / "img_1.tif").read_bytes())
    (folder / "garbage.tif").write_bytes(b"II*\x00garbage")
    (folder / "empty.tif").write_bytes(b"")
    return folder


def test_ingest_with_two_jobs_writes_what_one_job_writes(tmp_path):
    folder = _folder(tmp_path)
    results = {}
    for jobs in ("1", "2"):
        catalog = tmp_path / f"jobs{jobs}.duckdb"
        run = _fairmicro(catalog, "ingest", "--json", "--jobs", jobs, str(folder))
        assert run.returncode == 0, run.stderr
        summary = json.loads(run.stdout)
        rows = json.loads(_fairmicro(catalog, "query", SQL, "--format", "json").stdout)
        results[jobs] = (summary, rows)

    (summary_1, rows_1), (summary_2, rows_2) = results["1"], results["2"]
    assert rows_2 == rows_1 and len(rows_1) == 6
    assert summary_2 == summary_1
    assert summary_1["ingested"] == 6 and summary_1["already_present"] == 1
    assert {Path(r["path"]).name for r in summary_2["rejected"]} == {"garbage.tif", "empty.tif"}


def test_jobs_zero_uses_every_core_and_writes_what_one_job_writes(tmp_path):
    folder = _folder(tmp_path)
    catalogs = {jobs: tmp_path / f"jobs{jobs}.duckdb" for jobs in ("0", "1")}
    summaries = {}
    for jobs, catalog in catalogs.items():
        run = _fairmicro(catalog, "ingest", "--json", "--jobs", jobs, str(folder))
        assert run.returncode == 0, run.stderr
        summaries[jobs] = json.loads(run.stdout)
    assert summaries["0"] == summaries["1"]
    rows = [json.loads(_fairmicro(c, "query", SQL, "--format", "json").stdout) for c in catalogs.values()]
    assert rows[0] == rows[1]


def test_negative_jobs_is_refused_and_nothing_is_written(tmp_path):
    folder = _folder(tmp_path)
    catalog = tmp_path / "c.duckdb"
    run = _fairmicro(catalog, "ingest", "--jobs", "-1", str(folder))
    assert run.returncode != 0
    assert "--jobs" in run.stderr
    assert not catalog.exists()

"""Shared DuckLake catalog vs the single-file catalog: ingest files/s with 1, 2 and 4 writers, and a
filtered aggregate over 1,000,000 rows, on the same files, in one run.

Starts its own throw-away PostgreSQL (as user postgres when run as root) and removes it afterwards.

    .venv/bin/python benchmarks/ducklake.py [--files 240] [--rows 1000000]

Each writer is a real `fairmicro ingest` process over its own share of the files (all start together);
files/s = files / wall time of the slowest writer. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fairmicro.catalog import Catalog
from fairmicro.catalog.ducklake import set_data_path
from fairmicro.catalog.pg import create_database, throwaway_cluster
from fairmicro.catalog.synthetic import add_synthetic_images
from fairmicro.testing.samples import texture, write_fei_tiff

AGGREGATE = (
    "SELECT detector, count(*), avg(magnification) FROM image_metadata "
    "WHERE accelerating_voltage_kv BETWEEN 10 AND 20 AND label = 'pearlite' GROUP BY detector ORDER BY detector"
)


def _files(folder: Path, count: int) -> list[Path]:
    for index in range(count):
        write_fei_tiff(folder / f"w{index % 4}" / f"img_{index:05d}.tif", texture((256, 256), seed=index))
    return sorted(folder.glob("w*"))


def _ingest(catalog: str, data_path: Path, folders: list[Path], writers: int) -> float:
    env = {**os.environ, "FAIRMICRO_CATALOG": catalog, "FAIRMICRO_DATA_PATH": str(data_path)}
    shares = [folders[i::writers] for i in range(writers)]
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "fairmicro", "ingest", *map(str, share)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for share in shares
    ]
    for proc in procs:
        _, err = proc.communicate()
        if proc.returncode:
            raise SystemExit(f"ingest failed: {err.strip()}")
    return time.perf_counter() - start


def _aggregate(location: str, rows: int) -> dict[str, float]:
    with Catalog.open(location) as catalog:
        start = time.perf_counter()
        add_synthetic_images(catalog, rows)
        loaded = time.perf_counter() - start
    with Catalog.open(location, read_only=True) as catalog:
        catalog.query(AGGREGATE)  # warm
        start = time.perf_counter()
        for _ in range(3):
            catalog.query(AGGREGATE)
        return {"load_s": round(loaded, 2), "aggregate_s": round((time.perf_counter() - start) / 3, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=240)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    result: dict[str, object] = {"files": args.files, "rows": args.rows, "ingest_files_per_s": {}, "aggregate": {}}
    with tempfile.TemporaryDirectory() as tmp, throwaway_cluster() as dsn:
        root = Path(tmp)
        folders = _files(root / "images", args.files)
        for writers in (1, 2, 4):
            lake = f"ducklake:postgres:{create_database(dsn, f'ingest{writers}')}"
            for name, catalog in (("ducklake", lake), ("file", str(root / f"ingest{writers}.duckdb"))):
                seconds = _ingest(catalog, root / f"data{writers}", folders, writers)
                result["ingest_files_per_s"].setdefault(name, {})[writers] = round(args.files / seconds, 1)  # type: ignore[union-attr]
        set_data_path(root / "agg-data")
        lake = f"ducklake:postgres:{create_database(dsn, 'aggregate')}"
        for name, catalog in (("ducklake", lake), ("file", str(root / "aggregate.duckdb"))):
            result["aggregate"][name] = _aggregate(catalog, args.rows)  # type: ignore[index]
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

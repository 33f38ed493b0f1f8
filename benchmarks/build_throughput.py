"""Build throughput against plain ``pyarrow.parquet``, and peak memory at two selection sizes.

For each selection size the script writes a demo collection (Zeiss/FEI
TIFFs, ``fairmicro.testing.samples``) and ingests it; a fresh child process then,
in the same run:

1. builds it with ``fairmicro.builders.build_dataset`` (tiles, PNG encoding,
   hash checks, shards, card; validation off, it is a fixed cost timed apart),
2. writes the same source image bytes with a plain ``pyarrow.parquet``
   writer (one binary column, same row-group size and compression) - the floor
   of "putting these images into Parquet",
3. builds again under ``tracemalloc`` for the peak of Python/numpy allocations.

The child's peak RSS after the first build is read from ``resource``, and the
pyarrow pool's peak from ``pyarrow``. Flat memory means the peaks barely move
while the selection grows.

Run: ``python benchmarks/build_throughput.py [--sizes 48 384] [--shape 512] [--tile 256]``
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

log = logging.getLogger("build_throughput")
PATTERN = r"(?P<specimen_id>HC\d+)_"
SPECIMENS = 6  # write_demo_collection's specimen count


def _collection(root: Path, images: int, shape: int) -> Path:
    from fairmicro.catalog import Catalog
    from fairmicro.catalog.ingest import IngestOptions, ingest
    from fairmicro.catalog.specimens import load_specimen_table
    from fairmicro.testing.samples import write_demo_collection

    table = write_demo_collection(
        root / "images", images_per_specimen=max(1, images // SPECIMENS), shape=(shape, shape)
    )
    options = IngestOptions(
        specimens=load_specimen_table(table, None),
        specimen_pattern=re.compile(PATTERN),
        label_from_folder=True,
    )
    with Catalog.open(root / "catalog.duckdb") as catalog:
        ingest(catalog, [root / "images"], options)
    return root / "catalog.duckdb"


def _build(catalog_path: Path, out: Path, tile: int) -> object:
    from fairmicro.builders import BuildConfig, SplitSpec, TilingSpec, build_dataset
    from fairmicro.catalog import Catalog

    config = BuildConfig(
        name="bench",
        out=out,
        tiling=TilingSpec(tile=tile),
        splits=SplitSpec((0.5, 0.5)),
        validate=False,
    )
    with Catalog.open(catalog_path) as catalog:
        return build_dataset(catalog, config)


def _plain_parquet(catalog_path: Path, out: Path, rows_per_group: int) -> int:
    """Write every selected source file's bytes with pyarrow.parquet; returns bytes written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from fairmicro.catalog import Catalog

    with Catalog.open(catalog_path, read_only=True) as catalog:
        paths = [p for (p,) in catalog.query("SELECT path FROM images ORDER BY sha256").rows]
    schema = pa.schema([("path", pa.string()), ("bytes", pa.binary())])
    total = 0
    with pq.ParquetWriter(out, schema, compression="snappy") as writer:
        for start in range(0, len(paths), rows_per_group):
            chunk = paths[start : start + rows_per_group]
            blobs = [Path(p).read_bytes() for p in chunk]
            total += sum(len(b) for b in blobs)
            writer.write_table(pa.table({"path": chunk, "bytes": blobs}, schema=schema))
    return total


def _validation_seconds(out: Path) -> float:
    from fairmicro.builders.croissant import validate_croissant
    from fairmicro.builders.rocrate import validate_crate

    start = time.perf_counter()
    validate_croissant(out / "croissant.json")
    validate_crate(out)
    return time.perf_counter() - start


def child(root: Path, tile: int) -> dict[str, float]:
    """Measure one prepared selection in this (fresh) process."""
    import pyarrow as pa

    from fairmicro.builders.hf import ROWS_PER_GROUP

    catalog_path = root / "catalog.duckdb"
    start = time.perf_counter()
    result = _build(catalog_path, root / "built", tile)
    build_s = time.perf_counter() - start
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3  # peak so far: imports + this build
    arrow_mb = pa.default_memory_pool().max_memory() / 1e6
    start = time.perf_counter()
    source_bytes = _plain_parquet(catalog_path, root / "plain.parquet", ROWS_PER_GROUP)
    plain_s = time.perf_counter() - start
    tracemalloc.start()
    _build(catalog_path, root / "built-again", tile)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "images": result.info.images,
        "rows": result.info.rows,
        "source_mb": source_bytes / 1e6,
        "build_s": build_s,
        "plain_s": plain_s,
        "validation_s": _validation_seconds(root / "built"),
        "traced_peak_mb": traced_peak / 1e6,
        "arrow_peak_mb": arrow_mb,
        "max_rss_mb": rss_mb,
    }


def _report(figures: list[dict[str, float]]) -> None:
    header = (
        f"{'images':>7} {'rows':>6} {'src MB':>7} {'build s':>8} {'plain s':>8} {'ratio':>6} "
        f"{'build MB/s':>10} {'rows/s':>7} {'valid. s':>8} {'traced MB':>9} {'arrow MB':>8} {'RSS MB':>7}"
    )
    lines = [header]
    for f in figures:
        lines.append(
            f"{f['images']:>7.0f} {f['rows']:>6.0f} {f['source_mb']:>7.1f} {f['build_s']:>8.2f} "
            f"{f['plain_s']:>8.3f} {f['build_s'] / f['plain_s']:>6.1f} {f['source_mb'] / f['build_s']:>10.1f} "
            f"{f['rows'] / f['build_s']:>7.0f} {f['validation_s']:>8.2f} {f['traced_peak_mb']:>9.1f} "
            f"{f['arrow_peak_mb']:>8.1f} {f['max_rss_mb']:>7.0f}"
        )
    lines.append(
        "ratio = build time / plain pyarrow.parquet time for the same source image bytes; "
        "traced = Python+numpy peak (tracemalloc), arrow = pyarrow pool peak, RSS = process peak "
        "after imports + one build"
    )
    sys.stdout.write("\n".join(lines) + "\n")


def main() -> None:
    """Run each size in a child process and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[48, 384], help="images per selection")
    parser.add_argument("--shape", type=int, default=512, help="image edge in px")
    parser.add_argument("--tile", type=int, default=256, help="tile edge in px")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.child:
        sys.stdout.write(json.dumps(child(args.child, args.tile)) + "\n")
        return
    figures = []
    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix="fairmicro-bench-") as tmp:
            _collection(Path(tmp), size, args.shape)
            run = subprocess.run(
                [sys.executable, __file__, "--child", tmp, "--tile", str(args.tile)],
                capture_output=True,
                text=True,
                check=True,
            )
        figures.append(json.loads(run.stdout.strip().splitlines()[-1]))
    _report(figures)


if __name__ == "__main__":
    main()

"""Ingest throughput, measured against baselines run on the same files in the same run.

Prints: files/s and MB/s for a first ingest, for a rerun (unchanged files are
skipped by size+mtime), the ratio of ingest time to a plain sha256 pass over
the same bytes (the floor any content-addressed ingest pays), and to sha256 +
tifffile decode. Usage: python benchmarks/ingest_throughput.py [N_FILES] [SIZE]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import tifffile

from fairmicro.catalog import Catalog
from fairmicro.catalog.ingest import IngestOptions, Ingestor, iter_image_files
from fairmicro.hashing import sha256_file
from fairmicro.testing.samples import texture, write_fei_tiff, write_zeiss_tiff


def _timed(func) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "in"
        for index in range(count):
            writer = write_zeiss_tiff if index % 2 else write_fei_tiff
            writer(folder / f"img_{index:05d}.tif", texture((size * 3 // 4, size), seed=index))
        files = list(iter_image_files([folder]))
        megabytes = sum(f.stat().st_size for f in files) / 1e6

        hash_only = _timed(lambda: [sha256_file(f) for f in files])

        def hash_and_decode() -> None:
            for f in files:
                sha256_file(f)
                tifffile.imread(f)

        decode = _timed(hash_and_decode)
        with Catalog.open(Path(tmp) / "bench.duckdb") as catalog:
            first = _timed(lambda: Ingestor(catalog, IngestOptions()).run(files))
            rerun = _timed(lambda: Ingestor(catalog, IngestOptions()).run(files))

    print(f"files: {count} x {size}x{size * 3 // 4} px, {megabytes:.1f} MB")
    print(f"first ingest : {first:7.2f} s  {count / first:8.1f} files/s  {megabytes / first:7.1f} MB/s")
    print(f"rerun        : {rerun:7.2f} s  {count / rerun:8.1f} files/s  (unchanged files skipped)")
    print(f"sha256 only  : {hash_only:7.2f} s  -> ingest / sha256 = {first / hash_only:5.1f}x")
    print(f"sha256+decode: {decode:7.2f} s  -> ingest / (sha256+decode) = {first / decode:5.1f}x")
    print(f"rerun / first ingest = {rerun / first:5.3f}")


if __name__ == "__main__":
    main()

"""The pixel check at ingest streams strips/tiles: a small deflate file declaring a huge image
needs memory for one segment, not for the decoded image (issue 10: 0.5 MB took 1.24 GB)."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import tifffile

SIDE = 16384  # 16384 x 16384 x 16 bit = 512 MiB decoded
DECODED_MB = SIDE * SIDE * 2 / 2**20
STEP = 1 << 20


def _zeros_stream(nbytes: int) -> bytes:
    """A valid zlib stream of ``nbytes`` zeros, built from one compressed 1 MiB block."""
    head = zlib.compressobj(9)
    first = head.compress(bytes(STEP)) + head.flush(zlib.Z_FULL_FLUSH)
    body = zlib.compressobj(9)
    body.compress(bytes(STEP))
    body.flush(zlib.Z_FULL_FLUSH)
    repeat = body.compress(bytes(STEP)) + body.flush(zlib.Z_FULL_FLUSH)
    adler = 1
    for _ in range(nbytes // STEP):
        adler = zlib.adler32(bytes(STEP), adler)
    # final empty fixed-Huffman block, then the Adler-32 of the whole data
    return first + repeat * (nbytes // STEP - 1) + b"\x03\x00" + struct.pack(">I", adler)


def write_tiled(path: Path) -> Path:
    tile = zlib.compress(bytes(256 * 256 * 2), 9)
    count = (SIDE // 256) ** 2
    tifffile.imwrite(
        path, iter([tile] * count), shape=(SIDE, SIDE), dtype="uint16", compression="zlib", tile=(256, 256)
    )
    return path


def write_strips(path: Path) -> Path:
    strip = zlib.compress(bytes(16 * SIDE * 2), 9)
    tifffile.imwrite(
        path, iter([strip] * (SIDE // 16)), shape=(SIDE, SIDE), dtype="uint16", compression="zlib", rowsperstrip=16
    )
    return path


def write_single_strip(path: Path, stream: bytes | None = None) -> Path:
    stream = _zeros_stream(SIDE * SIDE * 2) if stream is None else stream
    tifffile.imwrite(path, iter([stream]), shape=(SIDE, SIDE), dtype="uint16", compression="zlib", rowsperstrip=SIDE)
    return path


# Runs the real CLI entry in one process: a small ingest first (DuckDB, imports and caches warm),
# then the peak RSS growth over each further ingest.
MEASURE = """
import json, resource, sys
from fairmicro.cli.app import main

def ingest(path):
    sys.argv = ["fairmicro", "ingest", "--json", path]
    try:
        main()
    except SystemExit:
        pass

warmup, *files = sys.argv[1:]
ingest(warmup)
growth = {}
for path in files:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ingest(path)
    growth[path] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
print("GROWTH " + json.dumps(growth))
"""


def _peak_growth_mb(catalog: Path, warmup: Path, files: list[Path]) -> dict[str, float]:
    env = {**os.environ, "FAIRMICRO_CATALOG": str(catalog)}
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, str(warmup), *map(str, files)],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    [line] = [x for x in result.stdout.splitlines() if x.startswith("GROWTH ")]
    return json.loads(line.removeprefix("GROWTH "))


def test_huge_declared_deflate_tiff_is_checked_in_bounded_memory(tmp_path, cli):
    from fairmicro.testing.samples import texture, write_zeiss_tiff

    folder = tmp_path / "in"
    folder.mkdir()
    warmup = write_zeiss_tiff(folder / "warmup.tif", texture((96, 128)))
    files = [
        write_tiled(folder / "tiled.tif"),
        write_strips(folder / "strips.tif"),
        write_single_strip(folder / "single.tif"),
    ]
    assert all(f.stat().st_size < 3 * 2**20 for f in files)

    growth = _peak_growth_mb(cli.catalog, warmup, files)

    for path, megabytes in growth.items():
        assert megabytes < DECODED_MB / 8, f"{Path(path).name}: peak RSS grew {megabytes:.0f} MB"
    rows = cli.rows("SELECT path, width_px, height_px, bit_depth FROM image_metadata ORDER BY path")
    assert {Path(r["path"]).name for r in rows} == {"warmup.tif", "tiled.tif", "strips.tif", "single.tif"}
    assert all(
        (r["width_px"], r["height_px"], r["bit_depth"]) == (SIDE, SIDE, 16)
        for r in rows
        if Path(r["path"]).name != "warmup.tif"
    )


def _ingest(cli, folder: Path) -> dict:
    return json.loads(cli("ingest", "--json", str(folder), check=False).stdout)


def test_damaged_stream_in_a_huge_single_strip_is_rejected(tmp_path, cli):
    folder = tmp_path / "in"
    folder.mkdir()
    stream = bytearray(_zeros_stream(SIDE * SIDE * 2))
    middle = len(stream) // 2
    stream[middle : middle + 64] = os.urandom(64)
    write_single_strip(folder / "garbled.tif", bytes(stream))
    full = _zeros_stream(SIDE * SIDE * 2)
    write_single_strip(folder / "short.tif", full[: len(full) // 3])  # a valid prefix, ends early

    summary = _ingest(cli, folder)

    reasons = {Path(r["path"]).name: r["reason"] for r in summary["rejected"]}
    assert set(reasons) == {"garbled.tif", "short.tif"}
    assert all("pixel data cannot be decoded" in reason for reason in reasons.values())
    assert cli.rows("SELECT count(*) AS n FROM images") == [{"n": 0}]


def test_damaged_tile_of_a_huge_tiled_tiff_is_rejected(tmp_path, cli):
    folder = tmp_path / "in"
    folder.mkdir()
    good = zlib.compress(bytes(256 * 256 * 2), 9)
    tiles = [good] * ((SIDE // 256) ** 2)
    tiles[-1] = good[: len(good) // 2]  # the last tile's stream is cut short
    tifffile.imwrite(
        folder / "cut_tile.tif", iter(tiles), shape=(SIDE, SIDE), dtype="uint16", compression="zlib", tile=(256, 256)
    )

    summary = _ingest(cli, folder)

    [rejected] = summary["rejected"]
    assert rejected["path"].endswith("cut_tile.tif")
    assert "pixel data cannot be decoded" in rejected["reason"]


def test_uncompressed_strip_shorter_than_its_rows_is_rejected(tmp_path, cli):
    import struct

    import numpy as np

    folder = tmp_path / "in"
    folder.mkdir()
    good = folder / "good.tif"
    tifffile.imwrite(good, np.arange(100 * 130, dtype=np.uint16).reshape(100, 130), rowsperstrip=16)
    data = bytearray(good.read_bytes())
    with tifffile.TiffFile(good) as tiff:
        tag = tiff.pages[0].tags["StripByteCounts"]
        counts, offset, code = list(tag.value), tag.valueoffset, tag.dtype
    counts[0] -= 100  # the first strip now ends 50 pixels early
    struct.pack_into("<" + ("I" if code == 4 else "H") * len(counts), data, offset, *counts)
    (folder / "short_strip.tif").write_bytes(bytes(data))

    summary = _ingest(cli, folder)

    [rejected] = summary["rejected"]
    assert rejected["path"].endswith("short_strip.tif")
    assert "pixel data cannot be decoded" in rejected["reason"]
    assert summary["ingested"] == 1

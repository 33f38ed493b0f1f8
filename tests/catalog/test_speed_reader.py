"""Speed work on the in-process reader keeps results and leaves the process as it found it."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from fairmicro.catalog.workers import READER_SWITCH_S, ReadTask, Workers, read_one
from fairmicro.testing.samples import write_fei_tiff, write_zeiss_tiff


def _files(tmp_path: Path, count: int = 6) -> list[Path]:
    files = []
    for index in range(count):
        data = np.full((40, 48), index, np.uint8)
        writer = write_zeiss_tiff if index % 2 else write_fei_tiff
        files.append(writer(tmp_path / f"img_{index}.tif", data))
    return files


def test_reading_here_gives_what_read_one_gives_and_restores_the_switch_interval(tmp_path: Path) -> None:
    files = _files(tmp_path)
    (tmp_path / "gone.tif").write_bytes(b"II*\x00")
    tasks = [ReadTask(p, p.stat().st_size) for p in [*files, tmp_path / "gone.tif"]]
    tasks.append(ReadTask(tmp_path / "missing.tif", 0))
    before = sys.getswitchinterval()
    workers = Workers(1)
    results = workers.read(tasks)
    first = next(results)
    assert abs(sys.getswitchinterval() - min(before, READER_SWITCH_S)) < 1e-6  # shorter only while reading
    rest = list(results)
    workers.close()
    assert sys.getswitchinterval() == before
    expected = [read_one(task) for task in tasks]
    got = [first, *rest]
    assert [r.sha256 for r in got] == [r.sha256 for r in expected]
    assert [r.error for r in got] == [r.error for r in expected]
    assert [r.bundle.image.model_dump() if r.bundle else None for r in got] == [
        r.bundle.image.model_dump() if r.bundle else None for r in expected
    ]


def test_an_abandoned_read_restores_the_switch_interval(tmp_path: Path) -> None:
    files = _files(tmp_path, 3)
    before = sys.getswitchinterval()
    workers = Workers(1)
    results = workers.read(ReadTask(p, p.stat().st_size) for p in files)
    next(results)
    results.close()  # e.g. an exception in the writer ends the ingest early
    workers.close()
    assert sys.getswitchinterval() == before

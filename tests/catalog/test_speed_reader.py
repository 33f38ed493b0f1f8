"""Speed work on the in-process reader keeps results and leaves the process as it found it."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tifffile

from fairmicro.catalog.readahead import ReadAhead
from fairmicro.catalog.workers import ReadTask, Workers, read_one
from fairmicro.hashing import FileEnds, NeedWholeFile, ReadFile, read_and_hash
from fairmicro.testing.samples import write_fei_tiff, write_imagej_tiff, write_zeiss_tiff


def _files(tmp_path: Path, count: int = 6) -> list[Path]:
    files = []
    for index in range(count):
        data = np.full((40, 48), index, np.uint8)
        writer = write_zeiss_tiff if index % 2 else write_fei_tiff
        files.append(writer(tmp_path / f"img_{index}.tif", data))
    return files


def _same_results(got: list, expected: list) -> None:
    assert [r.sha256 for r in got] == [r.sha256 for r in expected]
    assert [r.error for r in got] == [r.error for r in expected]
    assert [r.bundle.image.model_dump() if r.bundle else None for r in got] == [
        r.bundle.image.model_dump() if r.bundle else None for r in expected
    ]


def test_reading_here_gives_what_read_one_gives(tmp_path: Path) -> None:
    files = _files(tmp_path)
    (tmp_path / "gone.tif").write_bytes(b"II*\x00")
    (tmp_path / "folder.tif").mkdir()
    tasks = [ReadTask(p, p.stat().st_size) for p in [*files, tmp_path / "gone.tif"]]
    tasks += [ReadTask(tmp_path / "missing.tif", 0), ReadTask(tmp_path / "folder.tif", 0)]
    workers = Workers(1)
    try:
        got = list(workers.read(tasks))
    finally:
        workers.close()
    _same_results(got, [read_one(task) for task in tasks])


def test_an_abandoned_read_leaves_no_child_running(tmp_path: Path) -> None:
    """The child is still reading (its pipe full of reports nobody takes) when the ingest ends early."""
    files = [write_zeiss_tiff(tmp_path / f"big_{i}.tif", np.full((200, 400), i, np.uint8)) for i in range(80)]
    workers = Workers(1)
    results = workers.read(ReadTask(p, p.stat().st_size) for p in files)
    next(results)
    child = workers._ahead._child  # the process reading ahead
    assert child is not None
    time.sleep(0.5)
    assert child.poll() is None  # blocked: 80 files of ends do not fit in the pipe
    results.close()  # e.g. an exception in the writer ends the ingest early
    workers.close()
    assert child.poll() is not None  # stopped and reaped, not left behind


def test_a_killed_reader_changes_nothing_in_the_results(tmp_path: Path) -> None:
    """The reading child dying mid-way (killed, out of memory): the rest is read here, with the same results."""
    files = _files(tmp_path, 8)
    tasks = [ReadTask(p, p.stat().st_size) for p in files]
    workers = Workers(1)
    try:
        results = workers.read(tasks)
        got = [next(results), next(results)]
        workers._ahead._child.kill()
        got += list(results)
    finally:
        workers.close()
    _same_results(got, [read_one(task) for task in tasks])


def test_odd_file_names_pass_to_the_reader(tmp_path: Path) -> None:
    """Names with a newline, spaces, non-ASCII and (where the file system allows) bytes that are not UTF-8."""
    names = ["line\nbreak.tif", "sp ace.tif", "Gefüge_µm.tif"]
    if sys.platform.startswith("linux"):
        names.append(os.fsdecode(b"bad_\xff_name.tif"))
    files = [write_zeiss_tiff(tmp_path / name, np.full((40, 48), i, np.uint8)) for i, name in enumerate(names)]
    ahead = ReadAhead(files)
    try:
        reads = [ahead.take(path) for path in files]
    finally:
        ahead.close()
    assert [r.sha256 if r else None for r in reads] == [read_and_hash(p).sha256 for p in files]


def _model(result):
    return result.bundle.image.model_dump() if result.bundle else None


@pytest.mark.parametrize("end_bytes", [8, 200, 4096])
def test_the_ends_of_a_file_give_the_record_its_whole_bytes_give(tmp_path: Path, end_bytes: int) -> None:
    """Ends too short for the tags make extraction read the whole file again; never a different record."""
    plain = tmp_path / "plain.tif"
    tifffile.imwrite(plain, np.zeros((40, 48), np.uint8))
    files = [*_files(tmp_path, 4), plain, write_imagej_tiff(tmp_path / "ij.tif", 0.5, np.ones((40, 48), np.uint8))]
    for path in files:
        task = ReadTask(path, path.stat().st_size)
        whole = read_and_hash(path)
        data = whole.data
        assert data is not None
        ends = FileEnds(data[:end_bytes], data[-end_bytes:], len(data))
        expected = read_one(task)
        for mtime_ns in (None, whole.mtime_ns):  # unknown mtime: read whole again; known: extracted from disk
            from_ends = read_one(task, read=ReadFile(whole.sha256, whole.size, None, ends, mtime_ns))
            assert from_ends.sha256 == expected.sha256
            assert from_ends.error == expected.error
            assert _model(from_ends) == _model(expected)
            assert from_ends.bundle is not None and expected.bundle is not None
            assert [s.model_dump() for s in from_ends.bundle.sources] == [
                s.model_dump() for s in expected.bundle.sources
            ]


def test_a_file_changed_since_it_was_hashed_is_never_extracted_from_disk_for_the_old_hash(tmp_path: Path) -> None:
    path = _files(tmp_path, 1)[0]
    before = read_and_hash(path)
    assert before.data is not None
    ends = FileEnds(before.data[:8], before.data[-8:], before.size)  # too short: extraction needs the file
    write_zeiss_tiff(path, np.full((40, 48), 77, np.uint8))
    result = read_one(ReadTask(path, path.stat().st_size), read=ReadFile(before.sha256, before.size, None, ends, 1))
    assert result.sha256 == read_and_hash(path).sha256 != before.sha256
    assert _model(result) == _model(read_one(ReadTask(path, path.stat().st_size)))


def test_file_ends_never_serve_a_byte_they_did_not_keep() -> None:
    data = bytes(range(100))
    ends = FileEnds(data[:10], data[-10:], len(data))
    assert ends.read(0, 10) == data[:10]
    assert ends.read(92, 50) == data[92:]  # past the end: as many as there are
    assert ends.read(100, 4) == b""
    for offset, size in [(5, 10), (10, 1), (50, 1), (85, 10)]:
        with pytest.raises(NeedWholeFile):
            ends.read(offset, size)


def test_read_ahead_hands_over_the_hash_and_the_ends(tmp_path: Path) -> None:
    files = [write_zeiss_tiff(tmp_path / f"big_{i}.tif", np.full((200, 400), i, np.uint8)) for i in range(6)]
    tiny = tmp_path / "tiny.tif"
    tiny.write_bytes(b"II*\x00" + bytes(100))
    ahead = ReadAhead([*files, tiny])
    try:
        reads = [ahead.take(path) for path in [*files, tiny]]
    finally:
        ahead.close()
    assert all(isinstance(r, ReadFile) for r in reads)
    assert [r.sha256 for r in reads] == [read_and_hash(p).sha256 for p in [*files, tiny]]
    for path, read in zip(files, reads, strict=False):
        data = path.read_bytes()
        assert read.data is None and read.ends is not None and read.size == len(data)
        assert read.ends.head == data[: len(read.ends.head)] and read.ends.tail == data[-len(read.ends.tail) :]
    assert reads[-1].data == tiny.read_bytes()  # small enough: whole


def test_a_file_changed_after_it_was_read_ahead_is_read_again(tmp_path: Path) -> None:
    """Reads made before the survey (a new catalog) are used only if the file is still as surveyed."""
    files = _files(tmp_path, 4)
    workers = Workers(1)
    workers.prefetch(files)
    try:
        first = workers._ahead  # the read-ahead started before the survey
        assert first is not None and first._child is not None
        first._child.wait(timeout=30)  # it has read every file (then ends: its reports wait in the pipe)
        write_zeiss_tiff(files[1], np.full((40, 48), 99, np.uint8))  # changed after being read ahead
        os.utime(files[1], ns=(time.time_ns(), time.time_ns() + 5_000_000_000))
        tasks = [ReadTask(p, p.stat().st_size, mtime_ns=p.stat().st_mtime_ns) for p in files]
        got = list(workers.read(tasks))
    finally:
        workers.close()
    assert [r.sha256 for r in got] == [read_and_hash(p).sha256 for p in files]
    assert [_model(r) for r in got] == [_model(read_one(t)) for t in tasks]


def test_ingest_into_a_new_catalog_writes_what_an_existing_one_gets(tmp_path: Path) -> None:
    """The read-ahead of a new catalog changes nothing in what is written."""
    from fairmicro.api.ingest import ingest_files
    from fairmicro.catalog import Catalog
    from fairmicro.catalog.ingest import IngestOptions

    files = _files(tmp_path, 5)
    new, old = tmp_path / "new.duckdb", tmp_path / "old.duckdb"
    Catalog.open(old).close()
    sql = "SELECT * EXCLUDE (ingested_at) FROM images ORDER BY sha256"
    for catalog in (new, old):
        report = ingest_files(catalog, [tmp_path], IngestOptions())
        assert report.ingested == len(files)
    rows = []
    for catalog in (new, old):
        with Catalog.open(catalog, read_only=True) as opened:
            rows.append(opened.query(sql).rows)
    assert rows[0] == rows[1]


@pytest.mark.parametrize("size", [1, 2, 7, 25, 200, 1000])
def test_batches_cover_every_file_once_never_exceed_the_batch_size_and_shrink_at_the_end(size: int) -> None:
    from fairmicro.catalog.batches import TAIL_BATCH, batch_sizes

    for count in [*range(60), 199, 200, 201, 399, 400, 401, 600, 2000, 2001]:
        sizes = batch_sizes(count, size)
        assert sum(sizes) == count and all(0 < s <= size for s in sizes)
        assert sizes == sorted(sizes, reverse=True)
        if count > 2 * TAIL_BATCH:
            assert sizes[-1] <= max(TAIL_BATCH, -(-size // 8)) or size <= TAIL_BATCH


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pipe sizes are set on Linux only")
def test_the_reader_pipe_holds_a_megabyte_of_reports_on_linux(tmp_path: Path) -> None:
    """So the child reads about 30 large files ahead instead of two (a 64 KB default pipe)."""
    import fcntl

    from fairmicro.catalog.readahead import PIPE_BYTES

    if int(Path("/proc/sys/fs/pipe-max-size").read_text()) < PIPE_BYTES:
        pytest.skip("this system caps pipes below a megabyte")
    ahead = ReadAhead(_files(tmp_path, 2))
    try:
        assert fcntl.fcntl(ahead._out, fcntl.F_GETPIPE_SZ) >= PIPE_BYTES
    finally:
        ahead.close()

"""`fairmicro ingest --jobs N` writes exactly what `--jobs 1` writes, rejections included."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fairmicro.testing.samples import texture, write_fei_tiff, write_zeiss_tiff

SQL = (
    "SELECT path, sha256, extractor, width_px, detector, accelerating_voltage_kv, pixel_size_x_nm "
    "FROM image_metadata ORDER BY path"
)


def _fairmicro(catalog: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FAIRMICRO_CATALOG": str(catalog)}
    return subprocess.run(
        [sys.executable, "-m", "fairmicro", *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )


def _folder(root: Path) -> Path:
    folder = root / "in"
    for index in range(6):
        writer = write_zeiss_tiff if index % 2 else write_fei_tiff
        writer(folder / f"img_{index}.tif", texture((48, 64), seed=index))
    (folder / "copy of img_1.tif").write_bytes((folder / "img_1.tif").read_bytes())
    (folder / "garbage.tif").write_bytes(b"II*\x00garbage")
    (folder / "empty.tif").write_bytes(b"")
    return folder


@pytest.mark.parametrize(("cores", "expected"), [(1, 1), (2, 1), (3, 3), (8, 8)])
def test_automatic_jobs_read_here_on_two_cores_or_fewer(monkeypatch, cores, expected):
    from fairmicro.catalog import workers

    monkeypatch.setattr(workers, "available_cores", lambda: cores)
    assert workers.resolve_jobs(0) == expected
    assert workers.resolve_jobs(2) == 2  # an explicit count is kept


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


def _hostile_folder(root: Path) -> Path:
    folder = _folder(root)
    os.mkfifo(folder / "pipe.tif")
    (folder / "loop.tif").symlink_to(folder / "loop.tif")
    (folder / "dangling.tif").symlink_to(folder / "missing.tif")
    (folder / "folder.tif").mkdir()
    return folder


def test_two_jobs_skip_and_report_hostile_entries_exactly_like_one_job(tmp_path):
    folder = _hostile_folder(tmp_path)
    outputs = {}
    for jobs in ("1", "2"):
        catalog = tmp_path / f"jobs{jobs}.duckdb"
        run = _fairmicro(catalog, "ingest", "--json", "--jobs", jobs, str(folder), str(folder / "pipe.tif"))
        assert run.returncode == 0, run.stderr
        outputs[jobs] = (
            json.loads(run.stdout),
            json.loads(_fairmicro(catalog, "query", SQL, "--format", "json").stdout),
        )
    assert outputs["2"] == outputs["1"]
    summary, rows = outputs["1"]
    assert len(rows) == 6
    assert {Path(entry["path"]).name for entry in summary["skipped"]} >= {"pipe.tif", "loop.tif", "dangling.tif"}


class _Counts(dict):
    """Opens per path, in this process and in the read-ahead child (which logs each path it opens)."""

    def __init__(self, paths: set[str], log: Path) -> None:
        super().__init__(dict.fromkeys(paths, 0))
        self.log = log
        self.in_child = 0  # opens of ``paths`` by the child, in all

    def settle(self) -> _Counts:
        """Add the child's opens logged since the last call."""
        if self.log.exists():
            for line in self.log.read_bytes().splitlines():
                path = os.fsdecode(line)
                if path in self:
                    self[path] += 1
                    self.in_child += 1
            self.log.unlink()
        return self


def _count_opens(monkeypatch, paths: set[str], log: Path) -> _Counts:
    """Count every open of ``paths`` (os.open and builtins.open, any thread, and the read-ahead child's)."""
    import builtins

    from fairmicro.catalog import readahead

    # the child: a script whose os.open logs each path to ``log``, then runs the real child
    wrapper = log.with_name("logging_child.py")
    wrapper.write_text(
        "import os, runpy\n"
        "real_open = os.open\n"
        "def logged_open(path, *args):\n"
        f"    fd = real_open({os.fsencode(log)!r}, os.O_WRONLY | os.O_APPEND | os.O_CREAT)\n"
        "    os.write(fd, path + b'\\n')\n"
        "    os.close(fd)\n"
        "    return real_open(path, *args)\n"
        "os.open = logged_open\n"
        f"runpy.run_path({readahead.CHILD_SCRIPT!r}, run_name='__main__')\n"
    )
    monkeypatch.setattr(readahead, "CHILD_SCRIPT", str(wrapper))
    counts = _Counts(paths, log)
    real_os_open, real_open = os.open, builtins.open

    def os_open(path, *args, **kwargs):
        if os.fspath(path) in counts:
            counts[os.fspath(path)] += 1
        return real_os_open(path, *args, **kwargs)

    def builtin_open(file, *args, **kwargs):
        if isinstance(file, (str, Path)) and os.fspath(file) in counts:
            counts[os.fspath(file)] += 1
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(builtins, "open", builtin_open)
    return counts


def test_ingest_opens_each_new_file_once_and_an_unchanged_rerun_opens_none(tmp_path, monkeypatch):
    from fairmicro.catalog import Catalog
    from fairmicro.catalog.ingest import IngestOptions, Ingestor, iter_image_files

    folder = tmp_path / "in"
    for index in range(4):
        writer = write_zeiss_tiff if index % 2 else write_fei_tiff
        writer(folder / f"img_{index}.tif", texture((48, 64), seed=index))
    files = list(iter_image_files([folder]))
    with Catalog.open(tmp_path / "c.duckdb") as catalog:
        counts = _count_opens(monkeypatch, {str(f) for f in files}, tmp_path / "child_opens.log")
        first = Ingestor(catalog, IngestOptions()).run(files)
        assert first.ingested == 4
        assert counts.settle() == dict.fromkeys(counts, 1)  # hashed, tags read and pixels checked from one read
        assert counts.in_child == 4  # read ahead by the child, not here

        counts.update(dict.fromkeys(counts, 0))
        rerun = Ingestor(catalog, IngestOptions()).run(files)
        assert rerun.present == 4 and counts.settle() == dict.fromkeys(counts, 0)

        os.utime(files[0], ns=(files[0].stat().st_atime_ns, files[0].stat().st_mtime_ns + 10**9))
        touched = Ingestor(catalog, IngestOptions()).run(files)
        assert touched.present == 4 and counts.settle()[str(files[0])] == 1  # read to hash it, not re-extracted
        seen = catalog.query("SELECT modified_at FROM image_files WHERE path = ?", [str(files[0])]).rows
        mtime = datetime.fromtimestamp(files[0].stat().st_mtime, UTC).replace(tzinfo=None)
        assert seen == [(mtime,)]  # the path's record follows the file; the image is not duplicated
        assert catalog.query("SELECT count(*) FROM images").rows == [(4,)]


def test_worker_processes_write_what_the_writer_process_writes(tmp_path, monkeypatch):
    """The pool itself (forced on for a few files) against reading in the writer process."""
    from fairmicro.catalog import Catalog
    from fairmicro.catalog.ingest import IngestOptions, Ingestor, iter_image_files
    from fairmicro.catalog.workers import Workers

    pooled = []
    in_pool = Workers._read_in_pool
    monkeypatch.setattr(Workers, "_read_in_pool", lambda self, tasks: pooled.append(len(tasks)) or in_pool(self, tasks))

    folder = _hostile_folder(tmp_path)
    files = [*iter_image_files([folder]), folder / "pipe.tif", folder / "gone.tif"]
    outcomes = {}
    for jobs in (1, 2):
        with Catalog.open(tmp_path / f"lib{jobs}.duckdb") as catalog:
            workers = Workers(jobs, min_pool_files=0)
            summary = Ingestor(catalog, IngestOptions(), workers=workers).run(files)
            outcomes[jobs] = (summary.to_dict(), catalog.query(SQL).rows)
    assert pooled == [9]  # jobs=2 read every surveyed regular file in the worker processes
    assert outcomes[2] == outcomes[1]
    summary, rows = outcomes[1]
    assert len(rows) == 6 and summary["ingested"] == 6 and summary["already_present"] == 1
    assert {Path(r["path"]).name for r in summary["rejected"]} == {"garbage.tif", "empty.tif", "pipe.tif", "gone.tif"}


def test_worker_processes_extract_files_that_need_tifffile(tmp_path):
    """The fork server no longer preloads tifffile: a worker imports it for the first file that needs it."""
    import tifffile

    from fairmicro.catalog import Catalog
    from fairmicro.catalog.ingest import IngestOptions, Ingestor
    from fairmicro.catalog.workers import Workers

    folder = tmp_path / "in"
    write_zeiss_tiff(folder / "zeiss.tif", texture((48, 64), seed=1))
    folder.mkdir(exist_ok=True)
    tifffile.imwrite(folder / "deflate16.tif", texture((40, 56), seed=9, dtype="uint16"), compression="zlib")
    files = sorted(folder.iterdir())
    outcomes = {}
    for jobs in (1, 2):
        with Catalog.open(tmp_path / f"lib{jobs}.duckdb") as catalog:
            summary = Ingestor(catalog, IngestOptions(), workers=Workers(jobs, min_pool_files=0)).run(files)
            rows = catalog.query("SELECT path, extractor, width_px, height_px, bit_depth FROM images ORDER BY path")
            outcomes[jobs] = (summary.to_dict(), rows.rows)
    assert outcomes[2] == outcomes[1]
    assert outcomes[1][0]["ingested"] == 2
    assert [row[1:] for row in outcomes[1][1]] == [("generic", 56, 40, 16), ("zeiss", 64, 48, 8)]

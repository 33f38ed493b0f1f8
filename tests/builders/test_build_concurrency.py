"""`fairmicro build` beside other users of the catalog: readers are not locked out, killed builds are cleaned up.

Each build is the real CLI in a subprocess. To hold a build in the middle of
its run without timing guesses, one catalogued image is replaced by a FIFO: the
build blocks reading it until the test writes the original bytes into it (the
content still matches the catalogued sha256, so the build then completes).
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from tests.builders.conftest import write_collection
from tests.conftest import Cli

PATTERN = r"(?P<specimen_id>S\d{3})_"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs to hold a build mid-run"),
]


class HeldImage:
    """A catalogued image replaced by a FIFO: a build reading it waits until :meth:`release`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.content = path.read_bytes()
        path.unlink()
        os.mkfifo(path)

    def wait_for_reader(self, process: subprocess.Popen[str]) -> None:
        """Return once ``process`` has opened the FIFO (it is then blocked inside its build)."""
        while True:
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:
                if exc.errno != errno.ENXIO:
                    raise
                assert process.poll() is None, f"build ended before reading the image: {process.stderr.read()}"
                os.sched_yield()
                continue
            self._fd = fd
            return

    def release(self) -> None:
        """Feed the original bytes to the waiting reader and restore the regular file."""
        os.set_blocking(self._fd, True)
        with os.fdopen(self._fd, "wb") as pipe:
            pipe.write(self.content)
        self.restore()

    def restore(self) -> None:
        """Put the original file back (after the reader is gone)."""
        self.path.unlink()
        self.path.write_bytes(self.content)


@pytest.fixture
def lab(tmp_path: Path, catalog_path: Path) -> Iterator[tuple[Cli, Path]]:
    cli = Cli(catalog_path, tmp_path)
    table = write_collection(tmp_path / "images")
    cli(
        "ingest",
        str(tmp_path / "images"),
        "--specimens",
        str(table),
        "--specimen-pattern",
        PATTERN,
        "--label-from-folder",
    )
    yield cli, tmp_path / "images"


def _start_build(cli: Cli, out: Path, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "FAIRMICRO_CATALOG": str(cli.catalog)}
    return subprocess.Popen(
        [sys.executable, "-m", "fairmicro", "build", "d", "--license", "MIT", "--out", str(out), "--json", *extra],
        cwd=cli.cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _hidden(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def _builds(catalog: Path) -> list[tuple[str, int]]:
    con = duckdb.connect(str(catalog), read_only=True)
    try:
        return con.execute(
            "SELECT d.output_path, count(di.image_sha256) AS n FROM datasets d "
            "LEFT JOIN dataset_images di USING (dataset_id) GROUP BY d.dataset_id, d.output_path ORDER BY 1, 2"
        ).fetchall()
    finally:
        con.close()


def test_query_during_a_long_build_answers_before_the_build_ends(lab, tmp_path):
    cli, images = lab
    held = HeldImage(images / "ferrite" / "S001_00.tif")
    out = tmp_path / "datasets" / "d"
    build = _start_build(cli, out)
    held.wait_for_reader(build)  # the build is now mid-run, reading images
    query = cli("query", "SELECT count(*) AS n FROM image_metadata", "--format", "json", "--wait", "10", check=False)
    build_still_running = build.poll() is None  # it cannot end: it waits for the held image
    held.release()
    out_text, err = build.communicate(timeout=300)

    assert query.returncode == 0, query.stderr
    assert json.loads(query.stdout) == [{"n": 24}]
    assert "waiting" not in query.stderr  # the build did not lock the reader out
    assert build_still_running
    assert build.returncode == 0, err
    summary = json.loads(out_text)
    assert _builds(cli.catalog) == [(str(out.resolve()), 24)] and summary["images"] == 24
    assert _hidden(out) == []


def test_killed_build_leaves_a_hidden_folder_the_next_build_removes(lab, tmp_path):
    cli, images = lab
    held = HeldImage(images / "ferrite" / "S001_00.tif")
    out = tmp_path / "datasets" / "d"
    killed = _start_build(cli, out)
    held.wait_for_reader(killed)
    left_behind = _hidden(out)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=60)
    os.close(held._fd)
    held.restore()
    assert len(left_behind) == 1 and ".building-" in left_behind[0]
    assert _hidden(out) == left_behind and not out.exists()
    assert _builds(cli.catalog) == []

    cli("build", "d", "--license", "MIT", "--out", str(out))

    assert _hidden(out) == []  # the dead build's folder is gone, and the new build left none
    assert (out / "README.md").is_file()
    assert _builds(cli.catalog) == [(str(out.resolve()), 24)]


def test_build_keeps_the_hidden_folder_of_a_build_still_running(lab, tmp_path):
    cli, images = lab
    held = HeldImage(images / "ferrite" / "S001_00.tif")
    out = tmp_path / "datasets" / "d"
    first = _start_build(cli, out)
    held.wait_for_reader(first)
    running = _hidden(out)
    # a writer waits for readers: the second build's record waits for the first build (bounded by --wait)
    second = _start_build(cli, out, "--where", "path NOT LIKE '%S001_00%'", "--wait", "600")
    assert second.stderr is not None
    for line in second.stderr:  # the second build has staged its own folder and waits to record
        if "waiting up to" in line:
            break
    during = _hidden(out)
    held.release()
    _first_out, first_err = first.communicate(timeout=300)
    _second_out, second_err = second.communicate(timeout=300)

    assert len(running) == 1 and set(running) < set(during)  # not removed: its process is alive
    assert first.returncode == 0, first_err
    assert second.returncode == 0, second_err
    assert _hidden(out) == []
    assert sorted(count for _path, count in _builds(cli.catalog)) == [23, 24]

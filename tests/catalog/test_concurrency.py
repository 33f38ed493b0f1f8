"""Several processes on one catalog file: readers wait and read, ingests take turns, nothing is lost.

Every process is the real CLI in a subprocess; the end state is checked with SQL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from fairmicro.testing.samples import texture, write_fei_tiff


def _images(folder: Path, count: int, first: int = 0) -> Path:
    for index in range(first, first + count):
        write_fei_tiff(folder / f"img_{index:04d}.tif", texture((48, 48), seed=index))
    return folder


def _start(catalog: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "FAIRMICRO_CATALOG": str(catalog)}
    return subprocess.Popen(
        [sys.executable, "-m", "fairmicro", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _integrity(catalog: Path) -> dict[str, int]:
    con = duckdb.connect(str(catalog), read_only=True)
    try:
        row = con.execute(
            "SELECT (SELECT count(*) FROM images), (SELECT count(DISTINCT sha256) FROM images), "
            "(SELECT count(*) FROM imaging_conditions), (SELECT count(*) FROM image_files), "
            "(SELECT count(DISTINCT path) FROM image_files), "
            "(SELECT count(*) FROM (SELECT image_sha256, slot_name FROM field_sources GROUP BY ALL HAVING count(*) > 1))"
        ).fetchone()
    finally:
        con.close()
    return dict(zip(("images", "shas", "conditions", "files", "paths", "dup_sources"), row, strict=True))


@pytest.mark.slow
def test_two_ingests_at_once_serialise_without_loss_or_duplicates(tmp_path, catalog_path):
    shared = _images(tmp_path / "shared", 40)
    own_a = _images(tmp_path / "a", 20, first=100)
    own_b = _images(tmp_path / "b", 20, first=200)
    first = _start(catalog_path, "ingest", str(shared), str(own_a), "--batch-size", "5", "--json")
    second = _start(catalog_path, "ingest", str(own_b), str(shared), "--batch-size", "5", "--json")
    outputs = [process.communicate(timeout=300) for process in (first, second)]
    for process, (_out, err) in zip((first, second), outputs, strict=True):
        assert process.returncode == 0, err
    summaries = [json.loads(out) for out, _err in outputs]
    assert sum(s["ingested"] for s in summaries) == 80  # each image counted as ingested once
    assert sum(s["ingested"] + s["already_present"] for s in summaries) == 120
    assert _integrity(catalog_path) == {
        "images": 80,
        "shas": 80,
        "conditions": 80,
        "files": 80,
        "paths": 80,
        "dup_sources": 0,
    }


@pytest.mark.slow
def test_queries_during_an_ingest_wait_their_turn_and_read(tmp_path, catalog_path):
    folder = _images(tmp_path / "in", 150)
    ingest = _start(catalog_path, "--debug", "ingest", str(folder), "--batch-size", "5")
    assert ingest.stderr is not None
    for line in ingest.stderr:  # wait until the catalog exists and holds a first batch
        if "committed batch" in line:
            break
    queries = [
        _start(catalog_path, "query", "SELECT count(*) AS n FROM image_metadata", "--format", "json") for _ in range(3)
    ]
    results = [query.communicate(timeout=120) for query in queries]
    ingest_still_running = ingest.poll() is None
    ingest.stderr.read()
    ingest.wait(timeout=300)
    assert ingest.returncode == 0
    for query, (out, err) in zip(queries, results, strict=True):
        assert query.returncode == 0, err
        assert 5 <= json.loads(out)[0]["n"] <= 150  # a committed state: whole batches only
        assert err.count("waiting up to") <= 1  # said once, if at all
    assert ingest_still_running, "the queries only got the catalog after the ingest ended"
    assert _integrity(catalog_path)["images"] == 150


def _hold(catalog: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process holding the catalog read-write for ``seconds``."""
    code = (
        "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('held', flush=True); "
        "time.sleep(float(sys.argv[2])); con.close()"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(catalog), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def test_query_waits_while_another_process_writes_then_reads(cli, tmp_path, catalog_path):
    cli("ingest", str(_images(tmp_path / "in", 3)))
    holder = _hold(catalog_path, 2.0)
    result = cli("query", "SELECT count(*) AS n FROM images", "--format", "json")
    holder.wait(timeout=60)
    assert json.loads(result.stdout) == [{"n": 3}]
    assert result.stderr.count("waiting up to 30 s") == 1 and str(catalog_path) in result.stderr


def test_query_gives_up_after_wait_seconds_with_one_line(cli, tmp_path, catalog_path):
    cli("ingest", str(_images(tmp_path / "in", 1)))
    holder = _hold(catalog_path, 60.0)
    try:
        start = time.monotonic()
        result = cli("query", "SELECT 1", "--wait", "1", check=False)
        elapsed = time.monotonic() - start
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("waiting up to 1 s: ") and lines[1].startswith("error: ")
    assert "still in use" in lines[1] and "--wait" in lines[1]
    assert elapsed < 30  # bounded by --wait, not the 30 s default


def _built_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "built"
    (folder / "data").mkdir(parents=True)
    (folder / "README.md").write_text("# d\n", encoding="utf-8")
    (folder / "data" / "train-00000-of-00001.parquet").write_bytes(b"PAR1")
    return folder


CATALOG_COMMANDS = {
    "ingest": lambda tmp: ["ingest", str(tmp / "in")],
    "query": lambda tmp: ["query", "SELECT 1"],
    "build": lambda tmp: ["build", "d", "--license", "MIT", "--out", str(tmp / "out")],
    "publish": lambda tmp: ["publish", str(_built_folder(tmp)), "--repo", "lab/d", "--dry-run"],
    "train": lambda tmp: ["train", "texture", "--dataset", "d"],
    "evaluate": lambda tmp: ["evaluate", "run-1"],
    "predict": lambda tmp: ["predict", "run-1"],
    "runs": lambda tmp: ["runs"],
    "review": lambda tmp: ["review"],
}


def _held_run(cli, tmp_path: Path, catalog_path: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    """Run a command while another process holds the catalog for writing."""
    from fairmicro.catalog import Catalog

    _images(tmp_path / "in", 1)
    Catalog.open(catalog_path).close()  # an empty, migrated catalog
    holder = _hold(catalog_path, 120.0)
    try:
        return cli(*args, check=False)
    finally:
        holder.kill()
        holder.wait()


def _gave_up_after_one_second(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith("waiting up to 1 s: ") and "still in use" in lines[1]


@pytest.mark.parametrize("command", list(CATALOG_COMMANDS))
def test_every_catalog_command_waits_as_long_as_wait_says_then_gives_up(cli, tmp_path, catalog_path, command):
    result = _held_run(cli, tmp_path, catalog_path, [*CATALOG_COMMANDS[command](tmp_path), "--wait", "1"])
    _gave_up_after_one_second(result)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["build", "train", "review"])
def test_fairmicro_wait_sets_the_wait_of_commands_without_the_option(cli, tmp_path, catalog_path, command, monkeypatch):
    monkeypatch.setenv("FAIRMICRO_WAIT", "1")
    _gave_up_after_one_second(_held_run(cli, tmp_path, catalog_path, CATALOG_COMMANDS[command](tmp_path)))


def test_wait_refuses_a_negative_number_of_seconds(cli):
    result = cli("runs", "--wait", "-1", check=False)
    assert result.returncode != 0 and "--wait" in result.stderr

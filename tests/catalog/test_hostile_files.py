"""Hostile file names, special files and wrong catalog files, through the CLI as a user runs it.

Each case checks the effect (rows stored, files unchanged, the process returns),
not only the message.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
from pathlib import Path

import duckdb
import pytest

from fairmicro.catalog.walk import display
from fairmicro.testing.samples import texture, write_fei_tiff


def _tiff(path: Path, seed: int) -> Path:
    return write_fei_tiff(path, texture((32, 32), seed=seed))


def _bytes_name(folder: Path, name: bytes) -> bytes:
    return os.fsencode(folder) + b"/" + name


def _summary(cli, *args: str, check: bool = True) -> dict:
    result = cli("ingest", *args, "--json", check=check)
    return json.loads(result.stdout)


def _stored_paths(cli) -> list[str]:
    return [row["path"] for row in cli.rows("SELECT path FROM image_files ORDER BY path")]


def test_non_utf8_file_name_is_skipped_and_the_batch_and_reruns_go_on(cli, tmp_path):
    folder = tmp_path / "in"
    good = _tiff(folder / "good.tif", 1)
    os.rename(_tiff(folder / "tmp.tif", 2), _bytes_name(folder, b"caf\xe9_latin1.tif"))
    for _run in range(2):  # the rerun used to crash too
        summary = _summary(cli, str(folder))
        assert [entry["path"] for entry in summary["skipped"]] == [str(folder / "caf\\xe9_latin1.tif")]
        assert "not valid UTF-8" in summary["skipped"][0]["reason"]
    assert _stored_paths(cli) == [str(good)]

    named = cli("ingest", os.fsdecode(_bytes_name(folder, b"caf\xe9_latin1.tif")), check=False)
    assert named.returncode == 1 and "Traceback" not in named.stderr
    assert "not valid UTF-8" in named.stderr and len(named.stderr.strip().splitlines()) == 1


def test_file_name_with_newline_or_terminal_escape_cannot_forge_summary_lines(cli, tmp_path):
    folder = tmp_path / "in"
    _tiff(folder / "fine.tif", 1)
    _tiff(folder / "esc\x1b[2J\x1b[31mred.tif", 2)
    (folder / "bad\ningested 999, already present 0, rejected 0, skipped 0\n  rejected: x.tif").write_bytes(
        b"II*\x00junk"
    )
    result = cli("ingest", str(folder), check=False)
    assert "\x1b" not in result.stdout
    lines = result.stdout.splitlines()
    assert lines[0] == "ingested 2, already present 0, rejected 1, skipped 0"
    assert [line for line in lines if line.startswith("ingested")] == [lines[0]]
    rejected = [line for line in lines if line.startswith("  rejected:")]
    assert len(rejected) == 1 and "bad\\x0aingested 999" in rejected[0]
    stored = _stored_paths(cli)
    assert str(folder / "esc\x1b[2J\x1b[31mred.tif") in stored  # the real name is kept in the catalog
    table = cli("query", "SELECT path FROM image_files")
    assert "\x1b" not in table.stdout and "esc\\x1b[2J" in table.stdout


def test_fifo_named_on_the_command_line_does_not_hang_ingest(cli, tmp_path):
    good = _tiff(tmp_path / "good.tif", 1)
    fifo = tmp_path / "scan.tif"
    os.mkfifo(fifo)
    summary = _summary(cli, str(fifo), str(good))  # the cli fixture times out after 300 s
    assert summary["ingested"] == 1
    assert summary["skipped"] == [{"path": str(fifo), "reason": "a FIFO (named pipe), not a regular file; not opened"}]

    alone = cli("ingest", str(fifo), check=False)
    assert alone.returncode == 1
    assert alone.stderr.count("\n") == 1 and "FIFO" in alone.stderr


def test_every_unusable_entry_in_a_folder_is_reported_and_counted(cli, tmp_path):
    folder = tmp_path / "in"
    _tiff(folder / "a.tif", 1)
    _tiff(folder / "scan.tif" / "inner.tif", 2)  # a folder named like an image: searched, and said so
    os.mkfifo(folder / "pipe.tif")
    os.symlink(folder / "missing.tif", folder / "dangling.tif")
    os.symlink(folder / "self.tif", folder / "self.tif")
    (folder / "sub").mkdir()
    os.symlink(folder, folder / "sub" / "back_up")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(folder / "sock.tif"))
    expected = {
        "pipe.tif": "FIFO",
        "dangling.tif": "dangling",
        "self.tif": "loop",
        "sub/back_up": "loop",
        "sock.tif": "socket",
        "scan.tif": "folder",
    }
    if os.geteuid() != 0:  # root reads everything
        _tiff(folder / "locked" / "b.tif", 3)
        (folder / "locked").chmod(0)
        expected["locked"] = "cannot be read"
    try:
        summary = _summary(cli, str(folder))
        human = cli("ingest", str(folder)).stdout
    finally:
        server.close()
        if (folder / "locked").exists():
            (folder / "locked").chmod(0o755)
    reasons = {entry["path"]: entry["reason"] for entry in summary["skipped"]}
    assert set(reasons) == {str(folder / name) for name in expected}
    for name, word in expected.items():
        assert word in reasons[str(folder / name)]
    assert summary["ingested"] == 2
    assert f"skipped {len(expected)}" in human.splitlines()[0]
    assert sum(line.startswith("  skipped: ") for line in human.splitlines()) == len(expected)


def _write_parquet(path: Path) -> None:
    duckdb.sql(f"COPY (SELECT 1 AS a) TO '{path}' (FORMAT parquet)")


def _write_sqlite(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()


WRONG_CATALOGS = {
    "csv": lambda p: p.write_text("a,b\n1,2\n"),
    "parquet": _write_parquet,
    "sqlite": _write_sqlite,
    "empty": lambda p: p.write_bytes(b""),
    "fifo": os.mkfifo,
    "folder": Path.mkdir,
}


@pytest.mark.parametrize("kind", sorted(WRONG_CATALOGS))
def test_catalog_that_is_not_a_duckdb_file_is_refused_and_left_unchanged(cli, tmp_path, kind):
    image = _tiff(tmp_path / "in" / "a.tif", 1)
    wrong = tmp_path / f"catalog.{kind}"
    WRONG_CATALOGS[kind](wrong)
    before = hashlib.sha256(wrong.read_bytes()).hexdigest() if wrong.is_file() else None
    for command in (["ingest", str(image)], ["query", "SELECT 1"]):
        result = cli(*command, "--catalog", str(wrong), check=False)
        assert result.returncode == 1, result.stdout
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
        assert str(wrong) in result.stderr
        assert "ingested" not in result.stdout
    after = hashlib.sha256(wrong.read_bytes()).hexdigest() if wrong.is_file() else None
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["in", wrong.name])  # no WAL, no new file


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a\nb", "a\\x0ab"),
        ("a\x1b[31m", "a\\x1b[31m"),
        ("caf\udce9", "caf\\xe9"),
        ("rtl\u202eoverride", "rtl\\u202eoverride"),
        ("µm é 漢字 #1", "µm é 漢字 #1"),
    ],
)
def test_display_escapes_only_what_could_forge_or_garble_a_line(raw, shown):
    assert display(raw) == shown

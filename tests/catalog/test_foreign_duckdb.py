"""A DuckDB file that is not a fairmicro catalog is refused by every command, and left byte for byte unchanged."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pytest

from fairmicro.testing.samples import texture, write_fei_tiff

REFUSAL = "is a DuckDB database but not a fairmicro catalog"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _foreign(path: Path, *statements: str) -> Path:
    con = duckdb.connect(str(path))
    for statement in statements or (
        "CREATE TABLE measurements (sample VARCHAR, hardness DOUBLE)",
        "INSERT INTO measurements VALUES ('S1', 212.5), ('S2', 198.0)",
        "CREATE VIEW hard AS SELECT * FROM measurements WHERE hardness > 200",
    ):
        con.execute(statement)
    con.close()
    return path


@pytest.fixture
def images(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    for index in range(2):
        write_fei_tiff(folder / f"img_{index}.tif", texture((32, 32), seed=index))
    return folder


@pytest.fixture
def built_folder(tmp_path: Path) -> Path:
    """Enough of a dataset folder for `publish` to reach the catalog."""
    folder = tmp_path / "built"
    (folder / "data").mkdir(parents=True)
    (folder / "README.md").write_text("# d\n", encoding="utf-8")
    (folder / "data" / "train-00000-of-00001.parquet").write_bytes(b"PAR1")
    return folder


COMMANDS = {
    "ingest": lambda d: ["ingest", str(d["images"])],
    "query": lambda d: ["query", "SELECT 1"],
    "query --write": lambda d: ["query", "SELECT 1", "--write"],
    "query foreign table": lambda d: ["query", "SELECT * FROM measurements"],
    "build": lambda d: ["build", "d", "--license", "MIT", "--out", str(d["tmp"] / "out")],
    "publish": lambda d: ["publish", str(d["built"]), "--repo", "lab/d"],
    "publish --dry-run": lambda d: ["publish", str(d["built"]), "--repo", "lab/d", "--dry-run"],
    "train": lambda d: ["train", "texture", "--dataset", "d"],
    "evaluate": lambda d: ["evaluate", "run-1"],
    "predict": lambda d: ["predict", "run-1"],
    "runs": lambda d: ["runs"],
    "review": lambda d: ["review"],
    "review --accept": lambda d: ["review", "abc123", "--accept"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_refuses_a_foreign_duckdb_file_and_leaves_it_unchanged(
    command, cli, catalog_path, tmp_path, images, built_folder, monkeypatch
):
    monkeypatch.setenv("HF_TOKEN", "hf_not_a_real_token")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    _foreign(catalog_path)
    before = _digest(catalog_path)
    args = COMMANDS[command]({"images": images, "tmp": tmp_path, "built": built_folder})

    result = cli(*args, check=False)

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and REFUSAL in lines[0], result.stderr
    assert str(catalog_path) in lines[0]
    assert _digest(catalog_path) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(catalog_path.name)) == [catalog_path.name]
    assert not (tmp_path / "out").exists()
    con = duckdb.connect(str(catalog_path), read_only=True)
    tables = sorted(row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall())
    con.close()
    assert tables == ["hard", "measurements"]


def test_another_tools_schema_migrations_table_is_not_taken_for_a_catalog(cli, catalog_path, images):
    _foreign(
        catalog_path,
        "CREATE TABLE schema_migrations (version VARCHAR PRIMARY KEY)",
        "INSERT INTO schema_migrations VALUES ('20240101000000')",
    )
    before = _digest(catalog_path)
    result = cli("ingest", str(images), check=False)
    assert result.returncode == 1 and REFUSAL in result.stderr
    assert _digest(catalog_path) == before


def test_an_empty_duckdb_file_and_a_new_path_become_catalogs(cli, catalog_path, tmp_path, images):
    duckdb.connect(str(catalog_path)).close()  # a DuckDB file with no tables yet
    cli("ingest", str(images))
    fresh = tmp_path / "new" / "fresh.duckdb"
    fresh.parent.mkdir()
    cli("ingest", str(images), "--catalog", str(fresh))
    for path in (catalog_path, fresh):
        result = cli("query", "SELECT count(*) AS n FROM image_metadata", "--format", "json", "--catalog", str(path))
        assert json.loads(result.stdout) == [{"n": 2}]


def test_a_fairmicro_catalog_with_extra_tables_of_the_lab_still_opens(cli, catalog_path, images):
    cli("ingest", str(images))
    con = duckdb.connect(str(catalog_path))
    con.execute("CREATE TABLE lab_notes (note VARCHAR)")
    con.close()
    cli("ingest", str(images))
    assert cli.rows("SELECT count(*) AS n FROM images") == [{"n": 2}]

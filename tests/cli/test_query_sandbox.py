"""`fairmicro query` reaches nothing but the catalog: every route DuckDB offers to files,
the network, extensions and settings is tried, and the EFFECTS are checked: no file
written or changed (hashes of the whole folder, a fake home included), the catalog
opens with the same rows, no request reaches a local HTTP server, and the contents of
secret files never appear in what the user sees.

Most routes run through the public API (fast); a representative set runs through the CLI.
"""

from __future__ import annotations

import hashlib
import http.server
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from fairmicro.catalog import Catalog
from fairmicro.catalog.ingest import IngestOptions, Ingestor
from fairmicro.catalog.query import run_query
from fairmicro.catalog.sandbox import sandbox
from fairmicro.errors import FairmicroError
from fairmicro.testing.samples import write_fei_tiff, write_zeiss_tiff
from tests.conftest import Cli

MARKER = "fm-secret-7f3a9c41"


@dataclass(frozen=True)
class World:
    """A catalog among secret files, a fake home and a local HTTP server that counts requests."""

    root: Path
    catalog: Path
    url: str
    hits: list[str]

    def names(self) -> dict[str, str]:
        root = self.root
        return {
            "dir": str(root),
            "catalog": str(self.catalog),
            "url": self.url,
            "txt": str(root / "secret.txt"),
            "csv": str(root / "secret.csv"),
            "json": str(root / "secret.json"),
            "parquet": str(root / "secret.parquet"),
            "other": str(root / "other.duckdb"),
            "target": str(root / "written.csv"),
        }

    def snapshot(self) -> dict[str, str]:
        """sha256 of every file under the folder (the fake home included)."""
        return {
            str(p.relative_to(self.root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(self.root.rglob("*"))
            if p.is_file()
        }

    def rows(self) -> list[tuple]:
        with Catalog.open(self.catalog, read_only=True) as cat:
            return cat.query("SELECT sha256, path, label FROM images ORDER BY sha256").rows


class _Counter(http.server.BaseHTTPRequestHandler):
    hits: list[str]

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_HEAD = do_GET

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Secret files, another database and an ingested catalog, made once and copied per test."""
    root = tmp_path_factory.mktemp("sandbox-template")
    (root / "secret.txt").write_text(f"{MARKER}\n")
    (root / "secret.csv").write_text(f"name,value\n{MARKER},1\n")
    (root / "secret.json").write_text(f'{{"s": "{MARKER}"}}\n')
    scratch = duckdb.connect()
    scratch.execute(f"COPY (SELECT '{MARKER}' AS s) TO '{root / 'secret.parquet'}'")
    scratch.execute(f"ATTACH '{root / 'other.duckdb'}' AS other")
    scratch.execute(f"CREATE TABLE other.t AS SELECT '{MARKER}' AS s")
    scratch.close()
    write_zeiss_tiff(root / "in" / "z.tif")
    write_fei_tiff(root / "in" / "f.tif")
    with Catalog.open(root / "catalog.duckdb") as cat:
        Ingestor(cat, IngestOptions()).run(sorted((root / "in").iterdir()))
    return root


@pytest.fixture
def world(_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    root = tmp_path / "world"
    shutil.copytree(_template, root)
    (root / "home").mkdir()
    monkeypatch.setenv("HOME", str(root / "home"))  # DuckDB's extension and secret folders live under it
    monkeypatch.setenv("FAIRMICRO_TEST_SECRET", MARKER)
    handler = type("Counter", (_Counter,), {"hits": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield World(root, root / "catalog.duckdb", f"http://127.0.0.1:{server.server_address[1]}", handler.hits)
    finally:
        server.shutdown()
        server.server_close()


# Every route of the issue and of DuckDB's "Securing DuckDB" guide.
ROUTES = {
    "explain-analyze-copy": "EXPLAIN ANALYZE COPY (SELECT 'x' AS a) TO '{target}'",
    "explain-analyze-copy-over-catalog": "EXPLAIN ANALYZE COPY (SELECT 'x' AS a) TO '{catalog}' (USE_TMP_FILE false)",
    "explain-comment-copy": "EXPLAIN /* c */ ANALYZE -- c\n COPY (SELECT 1) TO '{target}'",
    "copy-to": "COPY (SELECT 1 AS a) TO '{target}'",
    "copy-over-catalog": "COPY (SELECT 1 AS a) TO '{catalog}' (FORMAT json, USE_TMP_FILE false)",
    "copy-over-wal": "COPY (SELECT 1 AS a) TO '{catalog}.wal' (USE_TMP_FILE false)",
    "copy-from": "COPY images FROM '{csv}'",
    "select-then-copy": "SELECT 1; COPY (SELECT 1) TO '{target}'",
    "prepare-execute-copy": "PREPARE p AS COPY (SELECT 1) TO '{target}'; EXECUTE p",
    "explain-install": "EXPLAIN ANALYZE INSTALL httpfs FROM '{url}'",
    "install": "INSTALL httpfs FROM '{url}'",
    "force-install": "FORCE INSTALL json FROM '{url}'",
    "load": "LOAD httpfs",
    "autoinstall-over-http": "SELECT * FROM read_csv('{url}/data.csv')",
    "extension-repository": "SET custom_extension_repository = '{url}'; SELECT * FROM read_csv('{url}/x.csv')",
    "read-csv-passwd": "SELECT * FROM read_csv('/etc/passwd', sep = ':')",
    "read-csv": "SELECT * FROM read_csv('{csv}')",
    "read-csv-auto": "SELECT * FROM read_csv_auto(['{csv}'])",
    "read-blob": "SELECT content FROM read_blob('{txt}')",
    "read-text": "SELECT content FROM read_text('{txt}')",
    "glob": "SELECT file FROM glob('{dir}/*')",
    "glob-etc": "SELECT file FROM glob('/etc/*')",
    "sniff-csv": "SELECT * FROM sniff_csv('{csv}')",
    "read-parquet": "SELECT * FROM read_parquet('{parquet}')",
    "parquet-metadata": "SELECT * FROM parquet_metadata('{parquet}')",
    "read-json": "SELECT * FROM read_json('{json}')",
    "read-json-auto": "SELECT * FROM read_json_auto('{json}')",
    "read-ndjson-objects": "SELECT * FROM read_ndjson_objects('{json}')",
    "read-json-objects": "SELECT * FROM read_json_objects('{json}')",
    "replacement-scan-csv": "SELECT * FROM '{csv}'",
    "replacement-scan-duckdb": "SELECT * FROM '{other}'",
    "query-function": "SELECT * FROM query('SELECT content FROM read_text(''{txt}'')')",
    "in-where-subquery": "SELECT count(*) FROM image_metadata WHERE EXISTS (SELECT 1 FROM read_text('{txt}'))",
    "attach": "ATTACH '{other}' AS o; SELECT * FROM o.t",
    "attach-read-only": "ATTACH '{other}' AS o (READ_ONLY); SELECT * FROM o.t",
    "export-database": "EXPORT DATABASE '{dir}/export'",
    "copy-from-database": "ATTACH ':memory:' AS m; COPY FROM DATABASE catalog TO m",
    "pragma-profiling": "PRAGMA enable_profiling = 'json'; PRAGMA profiling_output = '{target}'; SELECT 1",
    "set-profiling-output": "SET profiling_output = '{target}'; SET enable_profiling = 'json'; SELECT 1",
    "set-external-access": "SET enable_external_access = true; SELECT content FROM read_text('{txt}')",
    "reset-external-access": "RESET enable_external_access; SELECT content FROM read_text('{txt}')",
    "unlock-configuration": "SET lock_configuration = false",
    "set-allowed-directories": "SET allowed_directories = ['{dir}']; SELECT content FROM read_text('{txt}')",
    "set-temp-directory": "SET temp_directory = '{dir}/tmp'",
    "set-allowed-paths": "SET allowed_paths = ['{txt}']; SELECT content FROM read_text('{txt}')",
    "set-disabled-filesystems": "SET disabled_filesystems = ''; SELECT content FROM read_text('{txt}')",
    "set-file-search-path": "SET file_search_path = '{dir}'; SELECT * FROM read_csv('secret.csv')",
    "set-home-directory": "SET home_directory = '{dir}'",
    "set-extension-directory": "SET extension_directory = '{dir}/ext'; INSTALL json FROM '{url}'",
    "set-unredacted-secrets": "SET allow_unredacted_secrets = true",
    "set-threads": "SET threads = 64",
    "set-max-temp-directory-size": "SET max_temp_directory_size = '1TB'",
    "use-other-database": "ATTACH '{other}' AS o; USE o; SELECT * FROM t",
    "install-from-community": "INSTALL quack FROM community",
    "detach-catalog": "DETACH catalog",
    "set-memory-limit": "SET memory_limit = '1TB'",
    "set-community-extensions": "SET allow_community_extensions = true",
    "set-unsigned-extensions": "SET allow_unsigned_extensions = true",
    "call-enable-logging": "CALL enable_logging(storage = 'file', storage_path = '{dir}/logs')",
    "select-enable-logging": "SELECT * FROM enable_logging(storage = 'file', storage_path = '{dir}/logs')",
    "log-into-temp-folder": "SELECT * FROM enable_logging(storage = 'file', storage_path = '{catalog}.tmp')",
    "persistent-secret": "CREATE PERSISTENT SECRET s (TYPE http, BEARER_TOKEN '{txt}')",
    "getenv": "SELECT getenv('FAIRMICRO_TEST_SECRET')",
    "checkpoint-function": "SELECT * FROM force_checkpoint()",
}
SECRETS = (MARKER, "root:x:0:0")
# Refused by the engine with its own words rather than fairmicro's "refused:".
ENGINE_WORDS = {"getenv": "getenv does not exist", "persistent-secret": "Persistent secrets are disabled"}


def _refused(world: World, sql: str, *, write: bool) -> str:
    with Catalog.open(world.catalog, read_only=not write) as cat, pytest.raises(FairmicroError) as info:
        run_query(cat, sql.format(**world.names()), write=write)
    return str(info.value)


@pytest.mark.parametrize("write", [False, True], ids=["read-only", "write"])
@pytest.mark.parametrize("route", sorted(ROUTES))
def test_sql_cannot_reach_files_network_extensions_or_settings(world, route, write):
    before, rows = world.snapshot(), world.rows()
    message = _refused(world, ROUTES[route], write=write)
    assert "\n" not in message.strip()
    assert message.startswith("refused:") or ENGINE_WORDS.get(route, "refused:") in message
    assert not any(secret in message for secret in SECRETS)
    assert world.snapshot() == before  # nothing written or changed, the catalog included
    assert world.hits == []  # no download was even tried
    assert world.rows() == rows


# DuckDB itself keeps a writable database's own files (catalog, .wal, temp folder)
# reachable once external access is off; there the statement check is the second layer.
SECOND_LAYER_ONLY_WHEN_WRITABLE = {
    "copy-over-catalog",
    "explain-analyze-copy-over-catalog",
    "copy-over-wal",
    "call-enable-logging",
    "select-enable-logging",
    "log-into-temp-folder",  # would abort this process
}


@pytest.mark.parametrize("write", [False, True], ids=["read-only", "write"])
@pytest.mark.parametrize("route", sorted(ROUTES))
def test_engine_sandbox_holds_without_the_statement_check(world, route, write):
    if write and route in SECOND_LAYER_ONLY_WHEN_WRITABLE:
        pytest.skip("DuckDB allows a writable database's own files; the statement check refuses this")
    before, rows = world.snapshot(), world.rows()
    seen = []
    with Catalog.open(world.catalog, read_only=not write) as cat:
        sandbox(cat.con, read_only=not write)
        for statement in cat.con.extract_statements(ROUTES[route].format(**world.names())):
            try:
                seen.append(repr(cat.query(statement.query).rows))
            except duckdb.Error as exc:
                seen.append(str(exc))
                break
    assert not any(secret in text for text in seen for secret in SECRETS)
    assert world.snapshot() == before and world.hits == [] and world.rows() == rows


# ------------------------------------------------------------------- the CLI
CLI_ROUTES = (
    "explain-analyze-copy-over-catalog",
    "copy-over-catalog",
    "explain-install",
    "read-csv-passwd",
    "read-blob",
    "glob",
    "replacement-scan-duckdb",
    "attach",
    "set-external-access",
    "select-enable-logging",
)


@pytest.fixture
def cli(world: World) -> Cli:
    return Cli(world.catalog, world.root)


@pytest.mark.parametrize("flags", [(), ("--write",)], ids=["read-only", "write"])
@pytest.mark.parametrize("route", CLI_ROUTES)
def test_cli_refuses_each_route_in_one_line_and_changes_nothing(world, cli, route, flags):
    before, rows = world.snapshot(), world.rows()
    result = cli("query", *flags, ROUTES[route].format(**world.names()), check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("error: refused:") and len(result.stderr.strip().splitlines()) == 1
    assert not any(s in result.stdout + result.stderr for s in SECRETS)
    assert world.snapshot() == before and world.hits == [] and world.rows() == rows


def test_catalog_overwritten_by_explain_analyze_copy_still_opens(world, cli):
    """The issue's probe: this used to replace the catalog with a CSV file."""
    cli("query", ROUTES["explain-analyze-copy-over-catalog"].format(**world.names()), check=False)
    assert cli.rows("SELECT count(*) AS n FROM image_metadata") == [{"n": 2}]


def test_unsafe_opts_back_in_with_a_warning(world, cli):
    result = cli("query", "--unsafe", "--format", "csv", f"SELECT content FROM read_text('{world.names()['txt']}')")
    assert MARKER in result.stdout
    assert result.stderr.startswith("warning: --unsafe")


def test_unsafe_still_needs_write_to_change_the_catalog(world, cli):
    result = cli("query", "--unsafe", "DELETE FROM images", check=False)
    assert result.returncode == 1 and "--write" in result.stderr
    assert world.rows() and len(world.rows()) == 2


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT vendor, count(*) AS n FROM image_metadata GROUP BY ALL ORDER BY vendor",
        "EXPLAIN SELECT * FROM image_metadata",
        "EXPLAIN ANALYZE SELECT count(*) FROM image_metadata",
        "SUMMARIZE images",
        "DESCRIBE image_metadata",
        "SHOW TABLES",
        "PRAGMA show_tables",
        "SELECT * FROM duckdb_settings() WHERE name = 'enable_external_access'",
    ],
)
def test_ordinary_read_queries_still_work(world, sql):
    with Catalog.open(world.catalog, read_only=True) as cat:
        assert run_query(cat, sql).rows


def test_catalog_own_file_is_unreadable_on_a_read_only_connection(world):
    message = _refused(world, "SELECT content FROM read_blob('{catalog}')", write=False)
    assert message.startswith("refused:")


def test_write_still_changes_the_catalog_tables(world):
    with Catalog.open(world.catalog) as cat:
        run_query(cat, "UPDATE images SET label = 'checked'", write=True)
    assert {row[2] for row in world.rows()} == {"checked"}

"""Start-up: `query`, `ingest` and `--help` import no LinkML and no heavy ML/dataframe package;
`query` and `ingest` with ordinary arguments import neither typer (nor the pydantic it builds
parameters with) nor rich, and behave as they do through typer.

Each command runs through the real console entry in a fresh interpreter, which then prints the
modules it loaded. No wall-clock asserts: the figures are in ``benchmarks/run_all.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fairmicro.testing.samples import texture, write_fei_tiff, write_zeiss_tiff

# linkml_runtime alone cost 1.1 s; pandas (+pyarrow) ~1 s, pulled in by DuckDB's parameter binding
HEAVY = (
    "linkml",
    "linkml_runtime",
    "torch",
    "tensorflow",
    "keras",
    "transformers",
    "datasets",
    "sklearn",
    "skimage",
    "pandas",
    "pyarrow",
    "matplotlib",
    "huggingface_hub",
)

RUN = """
import json, sys
argv = json.loads(sys.argv[1])
sys.argv = ["fairmicro", *argv]
from fairmicro.cli.app import main
code = 0
try:
    main()
except SystemExit as exc:
    code = exc.code or 0
sys.stdout.flush()
# a module deferred with importlib.util.LazyLoader sits in sys.modules unexecuted: not loaded
loaded = sorted(n for n, m in sys.modules.items() if m is not None and type(m).__name__ != "_LazyModule")
print("MODULES " + json.dumps({"code": code, "modules": loaded}))
"""


def _run(args: list[str], catalog: Path, cwd: Path) -> tuple[int, set[str], str]:
    env = {**os.environ, "FAIRMICRO_CATALOG": str(catalog)}
    result = subprocess.run(
        [sys.executable, "-c", RUN, json.dumps(args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
        check=False,
    )
    [line] = [x for x in result.stdout.splitlines() if x.startswith("MODULES ")]
    report = json.loads(line.removeprefix("MODULES "))
    return report["code"], set(report["modules"]), result.stderr


def _heavy(modules: set[str]) -> list[str]:
    return sorted(name for name in HEAVY if name in modules)


@pytest.fixture
def images(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    write_zeiss_tiff(folder / "a.tif", texture((48, 64)))
    write_fei_tiff(folder / "b.tif", texture((48, 64), seed=1))
    return folder


def test_ingest_imports_no_linkml_pandas_or_ml_packages(images, catalog_path, tmp_path):
    code, modules, stderr = _run(["ingest", "--json", str(images)], catalog_path, tmp_path)
    assert code == 0, stderr
    assert _heavy(modules) == []


def test_rerun_of_ingest_imports_no_linkml_pandas_or_ml_packages(images, catalog_path, tmp_path):
    _run(["ingest", str(images)], catalog_path, tmp_path)
    code, modules, stderr = _run(["ingest", "--json", str(images)], catalog_path, tmp_path)
    assert code == 0, stderr
    assert _heavy(modules) == []


def test_query_imports_no_linkml_pandas_models_or_ingest_machinery(images, catalog_path, tmp_path):
    _run(["ingest", str(images)], catalog_path, tmp_path)
    code, modules, stderr = _run(
        ["query", "SELECT count(*) AS n FROM image_metadata WHERE width_px > 1"],
        catalog_path,
        tmp_path,
    )
    assert code == 0, stderr
    assert _heavy(modules) == []
    # the generated pydantic models and the extractors are ingest's business, not query's
    assert "fairmicro.schema.models" not in modules
    assert "fairmicro.catalog.ingest" not in modules
    assert "tifffile" not in modules


@pytest.mark.parametrize("args", [["--help"], ["query", "--help"], ["ingest", "--help"]])
def test_help_imports_no_linkml_pandas_or_ml_packages(args, catalog_path, tmp_path):
    code, modules, stderr = _run(args, catalog_path, tmp_path)
    assert code == 0, stderr
    assert _heavy(modules) == []
    assert "fairmicro.schema.models" not in modules


def test_top_level_help_opens_no_database(catalog_path, tmp_path):
    code, modules, stderr = _run(["--help"], catalog_path, tmp_path)
    assert code == 0, stderr
    assert "duckdb" not in modules
    assert not catalog_path.exists()


# typer builds every parameter with pydantic; rich's console and tables cost about as much again.
# Neither is needed to parse or print an ordinary `query` or `ingest` (typer.main also means the app was built).
CLI_MACHINERY = ("pydantic", "typer.main", "rich.console", "rich.table")


def _machinery(modules: set[str]) -> list[str]:
    return sorted(name for name in CLI_MACHINERY if name in modules)


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_query_imports_no_typer_pydantic_or_rich(images, catalog_path, tmp_path, fmt):
    _run(["ingest", str(images)], catalog_path, tmp_path)
    code, modules, stderr = _run(
        ["query", "SELECT count(*) AS n FROM image_metadata", "--format", fmt], catalog_path, tmp_path
    )
    assert code == 0, stderr
    assert _machinery(modules) == []


def test_ingest_rerun_imports_no_typer_pydantic_or_rich(images, catalog_path, tmp_path):
    _run(["ingest", str(images)], catalog_path, tmp_path)
    code, modules, stderr = _run(["ingest", str(images), "--catalog", str(catalog_path)], catalog_path, tmp_path)
    assert code == 0, stderr
    assert _machinery(modules) == []


def test_query_output_is_the_same_whichever_parser_reads_the_arguments(images, cli):
    # `--` is left to typer: the same query through typer and through the fast path prints the same bytes
    cli("ingest", str(images))
    sql = "SELECT sha256, vendor, width_px, 'é 日本 😀' AS t, NULL AS n FROM image_metadata ORDER BY 1"
    outputs = {}
    for fmt in ("table", "csv", "json"):
        fast = cli("query", "--format", fmt, sql)
        typer_path = cli("query", "--format", fmt, "--", sql)
        assert fast.stdout == typer_path.stdout and fast.stderr == typer_path.stderr == ""
        outputs[fmt] = fast.stdout
    assert "2 row(s)" in outputs["table"] and "😀" in outputs["table"]
    assert len(json.loads(outputs["json"])) == 2


def test_ingest_through_typer_and_fast_path_agree(images, cli):
    first = cli("ingest", "--json", "--", str(images))  # typer
    again = cli("ingest", "--json", str(images))  # fast path
    assert json.loads(first.stdout)["ingested"] == 2
    assert json.loads(again.stdout)["already_present"] == 2
    assert cli.rows("SELECT count(*) AS n FROM images") == [{"n": 2}]


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["query", "SELECT 1", "--wait", "-1"], {}, "--wait"),
        (["query", "SELECT 1", "--wait", "soon"], {}, "--wait"),
        (["query", "SELECT 1"], {"FAIRMICRO_WAIT": "soon"}, "FAIRMICRO_WAIT"),
        (["query", "SELECT 1", "--bogus"], {}, "--bogus"),
        (["query"], {}, "Missing argument"),
        (["query", "SELECT 1", "SELECT 2"], {}, "unexpected extra argument"),
        (["query", "SELECT 1", "--write=yes"], {}, "--write"),
        (["ingest"], {}, "Missing argument"),
        (["ingest", "x", "--jobs", "-2"], {}, "--jobs"),
        (["ingest", "x", "--batch-size", "0"], {}, "--batch-size"),
        (["--debug", "query", "SELECT 1", "--format"], {}, "--format"),
        (["plugins", "extra"], {}, "unexpected extra argument"),
    ],
)
def test_bad_arguments_to_lean_commands_get_typers_usage_error(args, env, message, catalog_path, tmp_path):
    full_env = {**os.environ, "FAIRMICRO_CATALOG": str(catalog_path), **env}
    result = subprocess.run(
        [sys.executable, "-m", "fairmicro", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert message.lower() in result.stderr.lower()
    assert "Traceback" not in result.stderr
    assert not catalog_path.exists()  # nothing was opened, let alone created


@pytest.mark.parametrize("args", [["--help"], ["query", "--help"], ["ingest", "--help"], ["plugins", "--help"]])
def test_help_still_lists_every_command_and_option(args, cli):
    out = cli(*args).stdout
    if args == ["--help"]:
        for command in ("ingest", "query", "plugins", "build", "publish", "train", "evaluate", "predict", "runs"):
            assert command in out
    elif args[0] == "query":
        assert "--format" in out and "--unsafe" in out and "--wait" in out
    elif args[0] == "ingest":
        assert "--strict" in out and "--jobs" in out


def _typer_params(name: str) -> dict[str, dict[str, object]]:
    import typer.main

    from fairmicro.cli.app import app

    command = typer.main.get_command(app).commands[name]  # type: ignore[attr-defined]
    return {
        p.name: {
            "opts": tuple(p.opts),
            "off": tuple(p.secondary_opts),
            "flag": bool(getattr(p, "is_flag", False)),
            "multiple": p.multiple,
            "min": getattr(p, "min", None),
            "envvar": p.envvar,
            "annotation": p.type_descriptor.annotation,
            "default": p.default,
            "argument": p.param_type_name == "argument",
            "nargs": p.nargs,
        }
        for p in command.params
    }


_KIND = {"flag": bool, "str": str, "path": Path, "int": int, "float": float, "list": list[str]}


@pytest.mark.parametrize("name", ["query", "ingest", "plugins"])
def test_fast_path_knows_the_same_options_as_the_typer_command(name):
    from fairmicro.cli.fast import COMMANDS

    spec = COMMANDS[name]
    params = _typer_params(name)
    arguments = {k: v for k, v in params.items() if v["argument"]}
    assert set(arguments) == ({spec.argument} if spec.argument else set())
    for info in arguments.values():
        assert info["nargs"] == (-1 if spec.many else 1)
        assert info["annotation"] == (list[Path] if spec.many else str)
    # --data-path is taken out of argv for every command before any parser runs (fast.take_data_path)
    options = {k: v for k, v in params.items() if not v["argument"] and k != "data_path"}
    assert {opt.dest for opt in spec.options} == set(options)
    for opt in spec.options:
        info = options[opt.dest]
        assert info["opts"] == (opt.name,), opt
        assert info["off"] == ((opt.off,) if opt.off else ()), opt
        assert info["flag"] == (opt.kind == "flag"), opt
        assert info["multiple"] == (opt.kind == "list"), opt
        assert info["annotation"] == _KIND[opt.kind], opt
        assert info["min"] == opt.minimum and info["envvar"] == opt.envvar, opt
        assert spec.defaults.get(opt.dest) == info["default"], opt
    # ... and the command body takes every one of them (--wait is applied before the call)
    import inspect

    from fairmicro.cli import app as cli_app
    from fairmicro.cli import lean_cmds

    body = getattr(lean_cmds, cli_app._FAST_COMMANDS[name])
    assert set(inspect.signature(body).parameters) == set(params) - {"wait", "data_path"}


def test_data_path_is_taken_before_any_command_parses():
    from fairmicro.catalog import ducklake
    from fairmicro.cli.fast import take_data_path

    try:
        assert take_data_path(["query", "--data-path", "/srv/lake", "SELECT 1"]) == ["query", "SELECT 1"]
        assert ducklake.data_path().rstrip("/") == "/srv/lake"
        assert take_data_path(["ingest", "--data-path=/x", "d"]) == ["ingest", "d"]
        assert take_data_path(["query", "--", "--data-path"]) == ["query", "--", "--data-path"]
    finally:
        ducklake.set_data_path(None)


HOSTILE_CELLS = [
    "plain",
    "",
    "  padded  ",
    "日本語",
    "😀 emoji",
    "e\u0301 combining",
    "\\x1b[31m escaped",
    "a" * 40,
    "Ωmega ß",
    "\u200bzero",
    "tab\\x09",
]


@pytest.mark.parametrize("rows", [0, 1, 3])
def test_plain_table_prints_what_rich_prints_in_a_pipe(rows):
    import io

    from rich.console import Console
    from rich.table import Column, Table
    from rich.text import Text

    from fairmicro.cli.output import plain_table

    header = ["name", "", "日本", "x"]
    cells = [[HOSTILE_CELLS[(r * 4 + c) % len(HOSTILE_CELLS)] for c in range(4)] for r in range(rows)]
    if rows == 3:
        cells = [[value, value, value, value] for value in HOSTILE_CELLS]
    table = Table(*(Column(header=Text(h)) for h in header), show_lines=False)
    for row in cells:
        table.add_row(*(Text(c) for c in row))
    buffer = io.StringIO()
    Console(file=buffer, width=100_000).print(table, crop=False)
    assert plain_table(header, cells) == buffer.getvalue()


def test_fast_path_reads_repeated_inline_and_negated_options(monkeypatch):
    from fairmicro.cli.fast import parse

    monkeypatch.setenv("FAIRMICRO_WAIT", "2.5")
    monkeypatch.delenv("FAIRMICRO_CATALOG", raising=False)
    parsed = parse(
        [
            "--debug",
            "ingest",
            "a b",
            "--map",
            "T [°C]=heat_treatment_temperature_c",
            "--map=x=y",
            "--jobs",
            "2",
            "--strict",
            "--no-strict",
            "--catalog=c.duckdb",
            "dir#2",
        ]
    )
    assert parsed is not None and parsed.command == "ingest" and parsed.debug
    assert parsed.values["paths"] == [Path("a b"), Path("dir#2")]
    assert parsed.values["column_map"] == ["T [°C]=heat_treatment_temperature_c", "x=y"]
    assert parsed.values["jobs"] == 2 and parsed.values["batch_size"] == 200
    assert parsed.values["strict"] is False and parsed.values["catalog"] == Path("c.duckdb")
    assert parsed.values["wait"] == 2.5  # from the environment, as typer reads it


@pytest.mark.parametrize(
    "argv",
    [
        ["query", "--", "SELECT 1"],
        ["query", "-1"],
        ["query", ""],
        ["query", "SELECT 1", "--catalog"],
        ["query", "SELECT 1", "--catalog", "--write"],
        ["query", "SELECT 1", "--wait", "1e3"],
        ["query", "SELECT 1", "--debug"],
        ["ingest", "-"],
        ["ingest", "a", "--jobs", "٣"],
        ["--version"],
        ["--help"],
        [],
        ["build", "x"],
        ["query", "SELECT 1", "--help"],
        ["query", "SELECT 1", "--form", "csv"],
    ],
)
def test_fast_path_leaves_anything_unusual_to_typer(argv):
    from fairmicro.cli.fast import parse

    assert parse(argv) is None

"""One CLI convention across commands: ``--json`` everywhere (one JSON document on stdout, nothing else),
one meaning per option name, deprecated spellings that still work with one warning line, usage errors
as one line plus the usage, and missing-extra hints naming an extra that provides the package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from fairmicro.testing.samples import write_demo_collection
from tests.cli.test_help_80 import COMMANDS, _commands
from tests.conftest import Cli

PATTERN = r"(?P<specimen_id>HC\d+)_"
ROOT = Path(__file__).resolve().parents[2]


def _leaf_commands() -> dict[str, object]:
    return {path: cmd for path, cmd in _commands().items() if path and not hasattr(cmd, "commands")}


@pytest.mark.parametrize("path", sorted(_leaf_commands()))
def test_every_command_has_json(path):
    options = {name for p in _leaf_commands()[path].params for name in p.opts}  # type: ignore[attr-defined]
    assert "--json" in options, f"`fairmicro {path}` has no --json"


def _type_of(param: object) -> str:
    """The kind of value an option takes: int, float or text (``X | None`` and repeatable ``list[X]`` as ``X``)."""
    import types
    import typing

    annotation = param.type_descriptor.annotation  # type: ignore[attr-defined]
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    if typing.get_origin(annotation) is list:
        annotation = typing.get_args(annotation)[0]
    return {int: "int", float: "float", bool: "bool"}.get(annotation, "text")  # str, Path: a text value


def test_one_meaning_per_option_name():
    """An option name shared by commands is the same kind of thing in each: flag or value, same type."""
    kinds: dict[str, set[tuple[bool, str]]] = {}
    for command in _leaf_commands().values():
        for param in command.params:  # type: ignore[attr-defined]
            if param.param_type_name == "argument" or getattr(param, "hidden", False):
                continue
            for name in param.opts:
                kinds.setdefault(name, set()).add((bool(getattr(param, "is_flag", False)), _type_of(param)))
    mixed = {name: kind for name, kind in kinds.items() if len(kind) > 1}
    assert mixed == {}


# the same meaning in different words: name -> why the value names differ
SAME_MEANING = {
    "--threshold": "accept at or above: a probability P in predict, a hybrid z-score in qualify",
    "--assessments": "assessment files: qualify also takes a built-in set name",
}


def test_one_value_name_per_option_name():
    """A shared option name takes the same value in each command (``--weights`` once meant backbone weights in
    train and CLIP,FLAVA fusion weights in qualify; qualify's is now ``--fusion-weights``)."""
    names: dict[str, set[str]] = {}
    for command in _leaf_commands().values():
        for param in command.params:  # type: ignore[attr-defined]
            if param.param_type_name == "argument" or param.hidden or getattr(param, "is_flag", False):
                continue
            for name in param.opts:
                names.setdefault(name, set()).add(param.metavar)
    mixed = {name: metavars for name, metavars in names.items() if len(metavars) > 1 and name not in SAME_MEANING}
    assert mixed == {}


def test_qualify_weights_is_a_deprecated_alias_of_fusion_weights(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "fairmicro", "qualify", "--assessments", "nope.yaml", "--weights", "0.5,0.5"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = result.stderr.splitlines()
    assert lines[0] == "warning: --weights is deprecated; use --fusion-weights", result.stderr
    assert result.returncode == 1 and len(lines) == 2 and "Traceback" not in result.stderr
    assert not (tmp_path / "fairmicro.duckdb").exists()


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> tuple[Cli, Path]:
    """A small ingested and built demo collection (read-only for the tests: each copies the catalog)."""
    root = tmp_path_factory.mktemp("convention")
    cli = Cli(root / "catalog.duckdb", root)
    table = write_demo_collection(root / "lab", images_per_specimen=2, shape=(64, 64), specimens_per_class=3)
    cli("ingest", str(root / "lab"), "--specimens", str(table), "--specimen-pattern", PATTERN, "--label-from-folder")
    cli(
        "build",
        "demo",
        "--tile",
        "32",
        "--splits",
        "0.34,0.33,0.33",
        "--license",
        "CC-BY-4.0",
        "--out",
        str(root / "ds"),
    )
    return cli, root


def _one_document(result: subprocess.CompletedProcess[str]) -> object:
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1, f"stdout is not one JSON line: {result.stdout[:500]!r}"
    return json.loads(lines[0])


@pytest.mark.parametrize(
    "args",
    [
        ["plugins", "--json"],
        ["query", "SELECT count(*) AS n FROM image_metadata", "--json"],
        ["runs", "--json"],
        ["review", "--json"],
        ["ingest", "lab", "--json"],
    ],
)
def test_json_is_one_document_on_stdout(lab, args):
    cli, _root = lab
    document = _one_document(cli(*args, check=False))
    if args[0] == "query":
        assert document == [{"n": 18}]
        assert cli(*args[:2], "--format", "json").stdout == cli(*args).stdout  # --json is --format json
    if args[0] == "ingest":
        assert document["already_present"] == 18


def test_build_json_and_deprecated_spellings(lab, tmp_path):
    cli, _root = lab
    out = tmp_path / "ds"
    new = cli(
        "build",
        "x",
        "--where",
        "material = ?",
        "--where-param",
        "UHCS",
        "--label-column",
        "label",
        "--tile",
        "32",
        "--splits",
        "0.34,0.33,0.33",
        "--license",
        "CC0-1.0",
        "--out",
        str(out),
        "--json",
        check=False,
    )
    assert _one_document(new)["images"] == 18
    assert "deprecated" not in new.stderr
    old = cli(
        "build",
        "x",
        "--where",
        "material = ?",
        "--param",
        "nothing",
        "--label",
        "label",
        "--license",
        "CC0-1.0",
        "--out",
        str(tmp_path / "old"),
        "--json",
        check=False,
    )
    # the old spellings still reach the build (no image matches 'nothing'), each with one warning line
    assert old.returncode != 0 and not (tmp_path / "old").exists()
    assert old.stderr.count("warning: --param is deprecated; use --where-param") == 1
    assert old.stderr.count("warning: --label is deprecated; use --label-column") == 1


# This test is about the JSON documents, not the texture defaults (tests/models/test_texture.py trains with those).
FAST_TEXTURE = ("--levels", "32", "--distances", "1", "--select-k", '["all"]', "--cv-folds", "2")


@pytest.mark.slow
def test_train_evaluate_predict_json_and_deprecated_accept(lab, tmp_path):
    cli, root = lab
    run = _one_document(
        cli(
            "train",
            "texture",
            "--dataset",
            str(root / "ds"),
            "--runs-dir",
            str(tmp_path),
            "--json",
            *FAST_TEXTURE,
            check=False,
        )
    )
    assert run["task"] == "classification" and Path(run["folder"]).is_dir() and "accuracy" in json.dumps(run)
    evaluated = _one_document(cli("evaluate", run["run_id"], "--json", "--runs-dir", str(tmp_path), check=False))
    assert evaluated["run_id"] != run["run_id"]
    before = cli.rows("SELECT count(*) AS n FROM image_metadata WHERE label IS NOT NULL")
    predicted = _one_document(
        cli("predict", run["run_id"], "--where", "specimen_id = 'HC01'", "--threshold", "1.0", "--json", check=False)
    )
    assert predicted["predicted"] == 2 and predicted["threshold"] == 1.0
    old = cli("predict", run["run_id"], "--where", "FALSE", "--accept", "0.5", check=False)
    assert old.returncode == 0 and old.stderr.count("deprecated") == 1 and "p >= 0.5" in old.stdout
    assert cli.rows("SELECT count(*) AS n FROM image_metadata WHERE label IS NOT NULL") == before
    bad = cli("predict", run["run_id"], "--threshold", "1.5", check=False)
    assert bad.returncode == 2 and bad.stderr.startswith("error: ")


def test_no_metadata_is_a_deprecated_alias(lab, tmp_path):
    cli, root = lab
    result = cli("train", "texture", "--dataset", str(root / "nowhere"), "--no-metadata", check=False)
    assert result.returncode == 1
    assert result.stderr.count("warning: --no-metadata is deprecated; use --metadata none") == 1


def _run(*args: str, catalog: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FAIRMICRO_CATALOG": str(catalog)}
    return subprocess.run(
        [sys.executable, "-m", "fairmicro", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=catalog.parent,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("path", sorted(_leaf_commands()))
def test_unknown_option_is_one_error_line_plus_usage(path, tmp_path):
    catalog = tmp_path / "catalog.duckdb"
    # the plugin commands read unknown options as plugin parameters: give them a plugin or run first
    head = {
        "train": ["texture", "--dataset", "d"],
        "pretrain": ["pscl", "--dataset", "d"],
        "evaluate": ["run1"],
        "predict": ["run1"],
    }.get(path, [])
    result = _run(*path.split(), *head, "--no-such-option", "1", catalog=catalog)
    lines = result.stderr.splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 2 and lines[0].startswith("error: ") and "--no-such-option" in lines[0], result.stderr
    assert lines[1].startswith("Usage: ") and f"fairmicro {path} [OPTIONS]" in lines[1] and "--help" in lines[1]
    assert result.stdout == "" and not catalog.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["ingest", "x", "--jobs", "many"],
        ["build", "x", "--out", "o", "--license", "MIT", "--tile", "big"],
        ["query", "SELECT 1", "--wait", "soon"],
        ["predict", "r", "--threshold", "high"],
    ],
)
def test_bad_number_is_one_error_line_plus_usage(args, tmp_path):
    catalog = tmp_path / "catalog.duckdb"
    result = _run(*args, catalog=catalog)
    lines = result.stderr.splitlines()
    assert result.returncode == 2 and len(lines) == 2 and lines[0].startswith("error: Invalid value for"), lines
    assert not catalog.exists() and not (tmp_path / "o").exists()


def _pyproject_extras() -> dict[str, tuple[set[str], set[str]]]:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    table = {}
    for extra, requirements in extras.items():
        names = {
            r.split(";")[0].split("[")[0].split("<")[0].split(">")[0].split("=")[0].strip().lower()
            for r in requirements
        }
        table[extra] = (
            {n for n in names if n != "fairmicro"},
            {r.split("[")[1].split("]")[0] for r in requirements if r.startswith("fairmicro[")},
        )
    return table


def test_extras_table_mirrors_pyproject():
    from fairmicro.extras import EXTRAS

    declared = _pyproject_extras()
    for extra, (listed, included) in EXTRAS.items():
        assert {n.replace("_", "-") for n in listed} == {n.replace("_", "-") for n in declared[extra][0]}, extra
        assert set(included) == declared[extra][1], extra


@pytest.mark.parametrize(
    ("module", "command", "extra"),
    [
        ("sklearn.ensemble", "fairmicro train texture", "models"),
        ("datasets", "fairmicro train", "models"),  # train needs [models], which brings datasets too
        ("datasets", "fairmicro build", "hf"),
        ("transformers", "fairmicro qualify", "qualifier"),
        ("torch", "fairmicro qualify", "qualifier"),
        ("transformers", "fairmicro evaluate", "qualifier"),
    ],
)
def test_missing_extra_names_an_extra_that_has_the_package(module, command, extra):
    code = (
        f"import sys; sys.modules[{module.split('.')[0]!r}] = None\n"
        "from fairmicro.extras import require\n"
        "from fairmicro.errors import MissingExtraError\n"
        f"try:\n    require({module!r}, 'hf', {command!r})\n"
        "except MissingExtraError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert f"pip install 'fairmicro[{extra}]'" in out, out
    declared = _pyproject_extras()
    package = {"sklearn": "scikit-learn"}.get(module.split(".")[0], module.split(".")[0])

    def provides(name: str) -> bool:
        listed, included = declared[name]
        return package in listed or any(provides(inner) for inner in included)

    assert provides(extra)


def test_commands_listed_for_json_cover_the_app():
    assert "catalog copy" in COMMANDS

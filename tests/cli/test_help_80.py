"""Every command's ``--help`` is legible in an 80-column terminal: no option name cut, no line past 80
columns, no text eaten as markup (``[@REV]``), and hidden deprecation aliases stay out of it."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest


def _commands() -> dict[str, object]:
    """Every command path (``("catalog", "copy")``...) with its click command, groups included."""
    import typer.main

    from fairmicro.cli.app import app

    found: dict[str, object] = {}

    def walk(command: object, path: tuple[str, ...]) -> None:
        found[" ".join(path)] = command
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return found


COMMANDS = sorted(_commands())


def _help(path: str) -> str:
    env = {**os.environ, "COLUMNS": "80", "TERM": "xterm-256color"}
    env.pop("FORCE_COLOR", None)
    result = subprocess.run(
        [sys.executable, "-m", "fairmicro", *path.split(), "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("path", COMMANDS)
def test_help_at_80_columns_shows_every_option_name_whole(path):
    out = _help(path)
    assert "…" not in out
    assert max(map(len, out.splitlines())) <= 80, out
    words = set(out.replace("/", " ").replace(",", " ").split())
    command = _commands()[path]
    for param in command.params:  # type: ignore[attr-defined]
        names = [*param.opts, *param.secondary_opts]
        if param.param_type_name == "argument":
            continue
        if getattr(param, "hidden", False):
            for name in names:
                assert name not in words, f"deprecated alias {name} shown in `{path} --help`"
            continue
        for name in names:
            assert name in words, f"{name} cut or missing in `fairmicro {path} --help` at 80 columns:\n{out}"


@pytest.mark.parametrize("path", ["train", "evaluate", "predict", "pretrain"])
def test_help_keeps_square_brackets_literal(path):
    assert "ORG/NAME[@REV]" in _help(path)


def test_commands_are_all_found():
    assert {
        "ingest",
        "query",
        "plugins",
        "build",
        "publish",
        "train",
        "pretrain",
        "evaluate",
        "predict",
        "runs",
        "review",
        "qualify",
        "catalog copy",
    } <= set(COMMANDS)


PYTHON_TYPE = re.compile(r"<(?:str|int|float|path|bool|list\[[^\]]*\]|[a-z]+ range)>", re.IGNORECASE)


@pytest.mark.parametrize("path", COMMANDS)
def test_help_names_values_in_words_not_python_types(path):
    """No ``{plugin}`` in the usage line, no ``<str>``/``<list[str]>``/``<int range>`` for an option's value."""
    out = _help(path)
    assert not PYTHON_TYPE.search(out), f"a Python type as placeholder in `fairmicro {path} --help`:\n{out}"
    usage = out.splitlines()[0]
    assert "{" not in usage and "<" not in usage, usage
    command = _commands()[path]
    for param in command.params:  # type: ignore[attr-defined]
        if param.param_type_name == "argument":
            assert param.name.upper() in usage, usage


def test_usage_error_shows_the_legible_usage_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "fairmicro", "train"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "train [OPTIONS] PLUGIN" in result.stderr and "{" not in result.stderr, result.stderr

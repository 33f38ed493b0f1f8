"""Argument parsing for the lean core commands without typer.

Building the typer app costs more than ``fairmicro query "SELECT 1"`` itself:
typer imports pydantic and builds a validator for every parameter of every
command. :func:`parse` reads the ordinary argument lists of ``ingest``,
``query`` and ``plugins`` itself, and returns ``None`` for anything else
(``--help``, ``--version``, ``--``, an unknown option, a value it does not
plainly understand, a missing or extra argument). The caller then hands the
arguments to typer, which accepts or refuses them with its usual message: this
parser only ever accepts a subset of what typer accepts, with the same values.
``tests/cli/test_startup.py`` checks that the option tables below match the
typer commands.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_INT = re.compile(r"[0-9]+")
_FLOAT = re.compile(r"[0-9]+(\.[0-9]*)?|\.[0-9]+")


@dataclass(frozen=True)
class Opt:
    """One option: its destination, its spellings and how its value is read."""

    dest: str
    name: str
    kind: str = "str"  # flag, str, path, int, float, list
    off: str | None = None  # the --no-... spelling of a flag
    minimum: float | None = None
    envvar: str | None = None


@dataclass(frozen=True)
class Command:
    """The arguments of one lean command."""

    name: str
    options: tuple[Opt, ...]
    argument: str | None = None  # destination of the positional arguments
    many: bool = False  # one positional argument, or one or more (as paths)
    defaults: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Parsed:
    """A command line the fast path understood fully."""

    command: str
    debug: bool
    values: dict[str, Any]


_CATALOG = Opt("catalog", "--catalog", "path", envvar="FAIRMICRO_CATALOG")
_WAIT = Opt("wait", "--wait", "float", minimum=0, envvar="FAIRMICRO_WAIT")

COMMANDS = {
    "query": Command(
        "query",
        (
            _CATALOG,
            Opt("output_format", "--format"),
            Opt("json_output", "--json", "flag"),
            Opt("write", "--write", "flag", off="--no-write"),
            Opt("unsafe", "--unsafe", "flag", off="--no-unsafe"),
            _WAIT,
        ),
        argument="sql",
        defaults={"output_format": "table", "json_output": False, "write": False, "unsafe": False},
    ),
    "ingest": Command(
        "ingest",
        (
            _CATALOG,
            Opt("specimens", "--specimens", "path"),
            Opt("specimen_pattern", "--specimen-pattern"),
            Opt("label_from_folder", "--label-from-folder", "flag", off="--no-label-from-folder"),
            Opt("label_column", "--label-column"),
            Opt("column_map", "--map", "list"),
            Opt("map_file", "--map-file", "path"),
            Opt("strict", "--strict", "flag", off="--no-strict"),
            Opt("json_output", "--json", "flag"),
            Opt("quiet", "--quiet", "flag"),
            Opt("batch_size", "--batch-size", "int", minimum=1),
            Opt("jobs", "--jobs", "int", minimum=0),
            Opt("masks", "--masks", "path"),
            Opt("mask_pattern", "--mask-pattern"),
            Opt("mask_classes", "--mask-classes"),
            Opt("mask_colors", "--mask-colors"),
            _WAIT,
        ),
        argument="paths",
        many=True,
        defaults={
            "label_from_folder": False,
            "strict": False,
            "json_output": False,
            "quiet": False,
            "batch_size": 200,
            "jobs": 1,
        },
    ),
    "plugins": Command("plugins", (Opt("json_output", "--json", "flag"),), defaults={"json_output": False}),
}


def _number(text: str, pattern: re.Pattern[str], kind: Callable[[str], Any], minimum: float | None) -> Any:
    if not pattern.fullmatch(text):
        return None
    value = kind(text)
    return None if minimum is not None and value < minimum else value


def convert(opt: Opt, text: str) -> Any:
    """``text`` as the option's value, or None when typer should judge it."""
    if not text or text.startswith("-"):
        return None
    if opt.kind == "int":
        return _number(text, _INT, int, opt.minimum)
    if opt.kind == "float":
        return _number(text, _FLOAT, float, opt.minimum)
    return Path(text) if opt.kind == "path" else text


def _lookup(command: Command) -> dict[str, tuple[Opt, bool]]:
    table = {opt.name: (opt, True) for opt in command.options}
    table.update({opt.off: (opt, False) for opt in command.options if opt.off})
    return table


def _parse_command(command: Command, args: Sequence[str]) -> dict[str, Any] | None:
    spellings = _lookup(command)
    values: dict[str, Any] = dict(command.defaults)
    positional: list[str] = []
    rest = list(args)
    while rest:
        token = rest.pop(0)
        if not token or token == "-" or token == "--":
            return None
        if not token.startswith("-"):
            positional.append(token)
            continue
        name, has_value, inline = token.partition("=")
        if name not in spellings:
            return None
        opt, on = spellings[name]
        if opt.kind == "flag":
            if has_value:
                return None
            values[opt.dest] = on
            continue
        if not has_value:
            if not rest:
                return None
            inline = rest.pop(0)
        value = convert(opt, inline)
        if value is None:
            return None
        if opt.kind == "list":
            values.setdefault(opt.dest, []).append(value)
        else:
            values[opt.dest] = value
    return _arguments(command, positional, values)


def _arguments(command: Command, positional: list[str], values: dict[str, Any]) -> dict[str, Any] | None:
    if command.argument is None:
        return values if not positional else None
    if command.many:
        if not positional:
            return None
        values[command.argument] = [Path(p) for p in positional]
    else:
        if len(positional) != 1:
            return None
        values[command.argument] = positional[0]
    return _from_environment(command, values)


def _from_environment(command: Command, values: dict[str, Any]) -> dict[str, Any] | None:
    for opt in command.options:
        if opt.envvar is None or opt.dest in values:
            continue
        raw = os.environ.get(opt.envvar)
        if raw:  # like click, an empty variable counts as unset
            value = convert(opt, raw)
            if value is None:
                return None
            values[opt.dest] = value
    return values


def parse(argv: Sequence[str]) -> Parsed | None:
    """The command, ``--debug`` and option values of ``argv``; None to leave it to typer."""
    index = 0
    while index < len(argv) and argv[index] == "--debug":
        index += 1
    if index >= len(argv) or argv[index] not in COMMANDS:
        return None
    values = _parse_command(COMMANDS[argv[index]], argv[index + 1 :])
    if values is None:
        return None
    return Parsed(argv[index], debug=index > 0, values=values)


def take_data_path(argv: list[str]) -> list[str]:
    """``argv`` without ``--data-path DIR`` (any command, anywhere), which sets the shared catalog's data path.

    ``--data-path`` belongs with ``--catalog ducklake:...`` on every command
    (see :mod:`fairmicro.catalog.ducklake`); it is taken here once, before any
    command parses its own options, and stands for ``$FAIRMICRO_DATA_PATH``.
    """
    rest: list[str] = []
    tokens = iter(argv)
    for token in tokens:
        if token == "--":
            rest.append(token)
            rest.extend(tokens)
            break
        name, has_value, value = token.partition("=")
        if name != "--data-path":
            rest.append(token)
            continue
        value = value if has_value else next(tokens, "")
        if value:
            from fairmicro.catalog.ducklake import set_data_path

            set_data_path(value)
    return rest

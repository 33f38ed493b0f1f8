"""Every CLI command is a thin skin over ``fairmicro.api``: its module imports no library internals.

An import graph over the command modules' source: each ``import fairmicro.X`` / ``from fairmicro.X import``
(at module level or inside a function, but not under ``if TYPE_CHECKING:``) must name the public API
(``fairmicro``, ``fairmicro.api...``), the CLI itself or ``fairmicro.errors``. A command that reaches
into ``fairmicro.models``, ``fairmicro.builders`` or ``fairmicro.catalog`` fails here.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

CLI = Path(importlib.import_module("fairmicro.cli").__file__).parent  # type: ignore[arg-type]
ALLOWED = ("fairmicro.api", "fairmicro.cli", "fairmicro.errors")
# whole modules of commands that must go through the API
COMMAND_MODULES = ["build_cmds", "publish_cmds", "model_cmds", "labelling_cmds", "qualify_cmds"]
# lean_cmds also holds the process set-up (logging, the catalog wait notice): its command bodies are checked
LEAN_COMMANDS = ["ingest_command", "query_command", "plugins_command"]
# commands outside the library API on purpose, with the reason
EXEMPT = {
    "serve": "the web app is its own room (fairmicro.web); serve only starts it",
    "copy": "catalog copy is an administrator's whole-file operation of fairmicro.catalog.copy",
}


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def internal_imports(tree: ast.AST) -> list[str]:
    """``fairmicro.*`` modules imported in ``tree`` that are not the public API, the CLI or errors."""
    found: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        found.extend(n for n in names if n.startswith("fairmicro.") and not n.startswith(ALLOWED))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


@pytest.mark.parametrize("module", COMMAND_MODULES)
def test_command_modules_import_only_the_public_api(module):
    tree = ast.parse((CLI / f"{module}.py").read_text(encoding="utf-8"))
    assert internal_imports(tree) == [], f"fairmicro.cli.{module} reaches past fairmicro.api"


@pytest.mark.parametrize("function", LEAN_COMMANDS)
def test_lean_command_bodies_import_only_the_public_api(function):
    from fairmicro.cli import lean_cmds

    tree = ast.parse(inspect.getsource(getattr(lean_cmds, function)))
    assert internal_imports(tree) == [], f"lean_cmds.{function} reaches past fairmicro.api"


def test_the_check_catches_an_internal_import():
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from fairmicro.builders import BuildResult\n"
        "def build():\n    from fairmicro.builders import build_dataset\n    import fairmicro.models.runner\n"
        "    from fairmicro.api.pipeline import build\n    import fairmicro as fm\n"
    )
    assert internal_imports(ast.parse(source)) == ["fairmicro.builders", "fairmicro.models.runner"]


def test_every_command_lives_in_a_checked_module():
    import typer.main

    from fairmicro.cli.app import app

    def callbacks(command, name):
        if getattr(command, "callback", None) is not None and not getattr(command, "commands", None):
            yield name, command.callback
        for sub_name, sub in getattr(command, "commands", {}).items():
            yield from callbacks(sub, sub_name)

    checked = {f"fairmicro.cli.{m}" for m in COMMAND_MODULES}
    for name, callback in callbacks(typer.main.get_command(app), "fairmicro"):
        module = callback.__module__
        if name in EXEMPT:
            continue
        if module == "fairmicro.cli.commands":  # ingest, query, plugins: the bodies are in lean_cmds
            assert name in {"ingest", "query", "plugins"}
            continue
        assert module in checked, f"`fairmicro {name}` is defined in {module}, which the import check does not read"

"""Help and usage lines a person reads: ``train [OPTIONS] PLUGIN``, ``--dataset TEXT``.

typer renders a required argument as ``{plugin}`` and every value as its Python
type (``<str>``, ``<list[str]>``, ``<path>``). :class:`LegibleCommand` gives each
argument an upper-case name and each option without an explicit ``metavar`` a
click-style one (TEXT, INTEGER, NUMBER, PATH); :func:`make_legible` makes it the
class of every registered command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args, get_origin

import typer
from typer.core import TyperArgument, TyperCommand

TYPE_NAMES: dict[Any, str] = {int: "INTEGER", float: "NUMBER", Path: "PATH", str: "TEXT"}


def metavar_of(annotation: Any) -> str:
    """Click's name for the value of an option annotated ``annotation`` (``list[int]`` -> ``INTEGER``)."""
    if get_origin(annotation) is list or get_args(annotation):
        named = [metavar_of(arg) for arg in get_args(annotation) if arg is not type(None)]
        return named[0] if named else "TEXT"
    return TYPE_NAMES.get(annotation, "TEXT")


class LegibleArgument(TyperArgument):
    """An argument named ``NAME`` in usage (``[NAME]`` when optional, ``NAME...`` when repeatable)."""

    def _usage_display_name(self) -> str:
        name = self.display_name_raw
        name = name if self.required else f"[{name}]"
        return name + ("..." if self.nargs != 1 else "")

    def display_type_rich(self, ctx: Any) -> str | None:
        return None  # the upper-case name says it; `<str>` adds nothing


class LegibleCommand(TyperCommand):
    """A command whose usage and help show upper-case names, never Python types or ``{braces}``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if isinstance(param, TyperArgument):
                param.__class__ = LegibleArgument
                param.metavar = param.metavar or (param.name or "value").upper()
            elif param.metavar is None and not getattr(param, "is_flag", False):
                param.metavar = metavar_of(param.type_descriptor.annotation)  # type: ignore[attr-defined]


def make_legible(app: typer.Typer) -> None:
    """Make :class:`LegibleCommand` the class of every command of ``app`` and of its sub-groups."""
    for info in app.registered_commands:
        if info.cls in (None, TyperCommand):
            info.cls = LegibleCommand
    for group in app.registered_groups:
        if group.typer_instance is not None:
            make_legible(group.typer_instance)

"""Discover model plugins through the ``fairmicro.models`` entry-point group."""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING

from fairmicro.errors import ModelError

if TYPE_CHECKING:
    from fairmicro.models.base import ModelPlugin

GROUP = "fairmicro.models"


def plugin_entry_points() -> dict[str, EntryPoint]:
    """Registered plugins by name (not imported)."""
    return {entry.name: entry for entry in entry_points(group=GROUP)}


def get_plugin(name: str) -> type[ModelPlugin]:
    """The plugin class registered as ``name``."""
    from fairmicro.models.base import ModelPlugin

    entries = plugin_entry_points()
    if name not in entries:
        known = ", ".join(sorted(entries)) or "none"
        raise ModelError(f"no model plugin {name!r}; registered: {known}; run `fairmicro plugins`")
    plugin = entries[name].load()
    if not (isinstance(plugin, type) and issubclass(plugin, ModelPlugin)):
        raise ModelError(f"model plugin {name!r} ({entries[name].value}) is not a ModelPlugin subclass")
    return plugin


def describe_plugins() -> list[str]:
    """One line per model plugin (name, task, entry point), then one line of its parameters and defaults.

    A plugin that cannot be loaded (a missing extra) is listed with the reason.
    """
    from fairmicro.errors import FairmicroError

    lines = []
    for name, entry in sorted(plugin_entry_points().items()):
        try:
            plugin = get_plugin(name)
        except (FairmicroError, ImportError) as exc:
            lines.append(f"model      {name:<10} {entry.value}  (unavailable: {str(exc).splitlines()[0]})")
            continue
        lines.append(f"model      {name:<10} task {plugin.task:<14} {entry.value}")
        lines.append(f"           parameters: {_parameters_line(plugin)}")
    return lines


def _parameters_line(plugin: type[ModelPlugin]) -> str:
    from fairmicro.models.base import param_fields

    fields = param_fields(plugin)
    return ", ".join(f"{name}={default!r}" for name, (default, _) in fields.items()) or "none"

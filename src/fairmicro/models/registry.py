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

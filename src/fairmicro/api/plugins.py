"""``fairmicro.plugins`` and ``fairmicro.plugin``: the registered extractors and model plugins.

``fm.plugins()`` is what ``fairmicro plugins`` prints; ``fm.plugin(name)`` is one
model plugin's class, whose ``Params`` model lists its parameters;
``fm.check_params(name, params)`` validates parameters before any run is recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fairmicro.errors import FairmicroError

if TYPE_CHECKING:
    from fairmicro.models.base import ModelPlugin


@dataclass(frozen=True)
class Plugins:
    """What is registered, in the order it is used.

    Attributes
    ----------
    extractors
        One dict per extractor (``name``, ``priority``, ``entry``, ``version``), in the order they are tried.
    models
        One dict per model plugin (``name``, ``entry``, ``task``, ``parameters`` with their defaults), or
        ``unavailable`` with the reason a plugin cannot load (e.g. a missing extra).
    """

    extractors: list[dict[str, Any]] = field(default_factory=list)
    models: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """The JSON form ``fairmicro plugins --json`` prints."""
        return {"extractors": self.extractors, "models": self.models}

    def lines(self) -> list[str]:
        """The text ``fairmicro plugins`` prints: extractors, then each model plugin and its parameters."""
        from fairmicro.models.registry import describe_plugins

        lines = [
            f"extractor  {e['name']:<10} priority {e['priority']:>4}  {e['entry']}  {e['version']}"
            for e in self.extractors
        ]
        return lines + describe_plugins()


def plugins() -> Plugins:
    """The registered extractors (in the order they are tried) and model plugins (``fairmicro plugins``).

    Returns
    -------
    Plugins
        ``.extractors``, ``.models``, ``.to_dict()`` and ``.lines()``.
    """
    from fairmicro.extractors.registry import registered_extractors

    extractors = [
        {
            "name": e.name,
            "priority": e.priority,
            "entry": f"{type(e).__module__}:{type(e).__qualname__}",
            "version": e.version,
        }
        for e in registered_extractors()
    ]
    return Plugins(extractors, _model_records())


def _model_records() -> list[dict[str, Any]]:
    """Each model plugin: name, entry point, task and parameter defaults (or why it cannot load)."""
    from fairmicro.models.base import param_fields
    from fairmicro.models.registry import get_plugin, plugin_entry_points

    records: list[dict[str, Any]] = []
    for name, entry in sorted(plugin_entry_points().items()):
        record: dict[str, Any] = {"name": name, "entry": entry.value}
        try:
            found = get_plugin(name)
        except (FairmicroError, ImportError) as exc:
            record["unavailable"] = str(exc).splitlines()[0]
        else:
            defaults = {key: default for key, (default, _) in param_fields(found).items()}
            record.update(task=found.task, parameters=defaults)
        records.append(record)
    return records


def plugin_names() -> list[str]:
    """Names of the registered model plugins (nothing is imported)."""
    from fairmicro.models.registry import plugin_entry_points

    return sorted(plugin_entry_points())


def plugin(name: str) -> type[ModelPlugin]:
    """The model plugin class registered as ``name``; ``plugin(name).Params.model_fields`` are its parameters.

    Raises
    ------
    ModelError
        No plugin of that name (the message lists the registered ones).
    MissingExtraError
        The plugin's packages are not installed.
    """
    from fairmicro.models.registry import get_plugin

    return get_plugin(name)


def check_params(name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` checked and completed with the defaults of plugin ``name``.

    Raises
    ------
    ModelError
        One line naming every unknown or ill-typed parameter and listing the known ones.
    """
    from fairmicro.models.base import validate_params

    return validate_params(plugin(name), dict(params))

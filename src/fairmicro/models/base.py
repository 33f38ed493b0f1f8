"""The model plugin contract (scikit-learn estimator style, xarray-style capabilities).

A plugin declares, as class attributes, its ``name``, its ``task`` (a name
registered in :mod:`fairmicro.models.tasks`: ``classification``,
``segmentation``, ``pretraining``, ``zero-shot``) and ``Params``, a pydantic
model of its typed parameters (``extra="forbid"``, one ``Field`` with a
``description`` per parameter). The CLI options, the run record and later a
web form are generated from ``Params``.

``__init__(**params)`` only validates the keyword parameters through
``Params`` and stores them as the plain dict ``self.params``; ``fit`` learns
and returns ``self`` and sets learned attributes ending in ``_``; ``save``
writes the fitted model into a folder and ``load`` reads it back with
identical outputs. What ``fit`` receives and what else a plugin must offer is
the task's contract:

- classification: ``fit(train, validation=None)``, ``classes_`` (fixes the
  column order of) ``predict_proba(data)``, ``metadata_columns_``;
- pretraining: ``fit(train)`` on unlabelled images (no ``label`` read),
  ``history_`` (e.g. ``{"loss": [...]}`` per epoch);
- segmentation and zero-shot: see their task modules.

Plugins read images and metadata straight from ``datasets.Dataset`` splits.
Heavy imports (torch, keras, sklearn) happen inside methods, never at import.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pydantic

from fairmicro.errors import ModelError


class PluginParams(pydantic.BaseModel):
    """Base of every plugin's ``Params``: unknown parameters are refused."""

    model_config = pydantic.ConfigDict(extra="forbid", validate_default=True)


def _describe_error(error: Any) -> str:
    where = ".".join(str(part) for part in error.get("loc", ())) or "parameters"
    if error.get("type") == "extra_forbidden":
        return f"unknown parameter(s) {where}"
    value = error.get("input")
    return f"{where}={value!r}: {error.get('msg', 'invalid')}"


def validate_params(plugin: type[ModelPlugin], params: dict[str, Any]) -> dict[str, Any]:
    """``params`` checked and completed by ``plugin.Params``, as a plain JSON-ready dict.

    Raises
    ------
    ModelError
        One line naming every unknown or ill-typed parameter and listing the known ones.
    """
    try:
        return plugin.Params(**params).model_dump(mode="json")
    except pydantic.ValidationError as exc:
        unknown = sorted(str(e["loc"][0]) for e in exc.errors() if e.get("type") == "extra_forbidden" and e["loc"])
        problems = [_describe_error(e) for e in exc.errors() if e.get("type") != "extra_forbidden"]
        if unknown:
            problems.insert(0, f"unknown parameter(s) {', '.join(unknown)}")
        known = ", ".join(plugin.Params.model_fields)
        raise ModelError(f"{plugin.name}: {'; '.join(problems)}; known: {known or 'none'}") from None


def param_fields(plugin: type[ModelPlugin]) -> dict[str, tuple[Any, str]]:
    """Each parameter's default and description (for ``fairmicro plugins`` and forms)."""
    return {
        name: (field.get_default(call_default_factory=True), field.description or "")
        for name, field in plugin.Params.model_fields.items()
    }


class ModelPlugin(ABC):
    """Base class of model plugins.

    Attributes
    ----------
    name : str
        Registered name (entry point of the ``fairmicro.models`` group).
    task : str
        The task the plugin solves; :func:`fairmicro.models.tasks.get_task` gives its object.
    Params : type[pydantic.BaseModel]
        Typed parameters; subclass :class:`PluginParams` (``extra="forbid"``).
    """

    name: ClassVar[str] = ""
    task: ClassVar[str] = "classification"
    Params: ClassVar[type[pydantic.BaseModel]] = PluginParams

    classes_: list[str]
    metadata_columns_: Sequence[str] = ()  # the metadata columns a fitted model reads (fit/load set a list)
    history_: dict[str, list[float]] | None = None

    def __init__(self, **params: Any) -> None:
        self.params = validate_params(type(self), params)

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Every parameter's default value."""
        return {name: default for name, (default, _) in param_fields(cls).items()}

    @property
    def version(self) -> str:
        """Plugin version; built-ins share the fairmicro version."""
        from fairmicro import __version__

        return __version__

    def get_params(self) -> dict[str, Any]:
        """Every parameter, defaults included (recorded in the run)."""
        return dict(self.params)

    @abstractmethod
    def fit(self, train: Any, validation: Any | None = None) -> ModelPlugin:
        """Learn from a ``datasets.Dataset`` split (``validation`` may steer early stopping)."""

    def predict_proba(self, data: Any) -> np.ndarray:
        """Class probabilities, one row per dataset row, columns in ``classes_`` order (classification)."""
        raise ModelError(f"{self.name}: a {self.task} plugin gives no class probabilities")

    def predict(self, data: Any) -> list[str]:
        """Most probable class name per row (classification)."""
        probabilities = self.predict_proba(data)
        return [self.classes_[i] for i in probabilities.argmax(axis=1)]

    def report(self) -> dict[str, Any]:
        """What the run records beyond the task's metrics (``summary``: lines the CLI prints)."""
        return {}

    @abstractmethod
    def save(self, folder: Path) -> list[Path]:
        """Write the fitted model into ``folder``; returns the files written."""

    @classmethod
    @abstractmethod
    def load(cls, folder: Path) -> ModelPlugin:
        """Read a model written by :meth:`save`."""

"""The model plugin contract (scikit-learn estimator style).

A plugin stores its keyword parameters in ``__init__`` (nothing else happens
there), learns in ``fit`` and returns ``self``, sets learned attributes ending
in ``_`` (``classes_`` fixes the column order of ``predict_proba``), and can
``save`` itself to a folder and ``load`` back with identical predictions.
Plugins read images and metadata straight from ``datasets.Dataset`` splits.
Heavy imports (torch, keras, sklearn) happen inside methods, never at import.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np


class ModelPlugin(ABC):
    """Base class of model plugins."""

    name: ClassVar[str] = ""
    defaults: ClassVar[dict[str, Any]] = {}

    classes_: list[str]
    metadata_columns_: list[str]
    history_: dict[str, list[float]] | None = None

    def __init__(self, **params: Any) -> None:
        unknown = set(params) - set(self.defaults)
        if unknown:
            from fairmicro.errors import ModelError

            raise ModelError(
                f"{self.name}: unknown parameter(s) {', '.join(sorted(unknown))}; "
                f"known: {', '.join(sorted(self.defaults))}"
            )
        self.params = {**self.defaults, **params}

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

    @abstractmethod
    def predict_proba(self, data: Any) -> np.ndarray:
        """Class probabilities, one row per dataset row, columns in ``classes_`` order."""

    def predict(self, data: Any) -> list[str]:
        """Most probable class name per row."""
        probabilities = self.predict_proba(data)
        return [self.classes_[i] for i in probabilities.argmax(axis=1)]

    @abstractmethod
    def save(self, folder: Path) -> list[Path]:
        """Write the fitted model into ``folder``; returns the files written."""

    @classmethod
    @abstractmethod
    def load(cls, folder: Path) -> ModelPlugin:
        """Read a model written by :meth:`save`."""

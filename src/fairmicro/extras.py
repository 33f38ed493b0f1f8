"""Lazy imports of optional dependency groups, with a one-line hint when missing."""

from __future__ import annotations

import importlib
from types import ModuleType

from fairmicro.errors import MissingExtraError


def require(module: str, extra: str, command: str, distribution: str | None = None) -> ModuleType:
    """Import ``module``; if absent, raise naming ``pip install 'fairmicro[extra]'``.

    ``distribution`` is the package pip installs, when it differs from the import name.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(distribution or module.split(".")[0], extra, command) from exc

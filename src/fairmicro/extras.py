"""Lazy imports of optional dependency groups, with a one-line hint when missing."""

from __future__ import annotations

import importlib
from types import ModuleType

from fairmicro.errors import MissingExtraError


def require(module: str, extra: str, command: str) -> ModuleType:
    """Import ``module``; if absent, raise naming ``pip install 'fairmicro[extra]'``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(module.split(".")[0], extra, command) from exc

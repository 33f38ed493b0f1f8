"""Lazy imports of the optional ``[models]`` dependency group."""

from __future__ import annotations

from types import ModuleType

from fairmicro import extras

EXTRA = "models"
# import name -> distribution name, where they differ
DISTRIBUTIONS = {"sklearn": "scikit-learn", "skimage": "scikit-image"}


def require(module: str, command: str) -> ModuleType:
    """Import ``module`` from the ``[models]`` extra; the error names the extra and ``command``."""
    return extras.require(module, EXTRA, command, DISTRIBUTIONS.get(module.split(".")[0]))

"""Lazy imports of the optional ``[hf]`` dependency group.

``import fairmicro`` and ``fairmicro --help`` never import these; a builder
asks for a module when it needs it and gets a one-line
:class:`~fairmicro.errors.MissingExtraError` when the extra is absent.
"""

from __future__ import annotations

from types import ModuleType

from fairmicro import extras

EXTRA = "hf"
COMMAND = "fairmicro build"

# import name -> distribution name (what pip installs), only where the two differ;
# otherwise the top-level import name is the distribution's.
DISTRIBUTIONS = {
    "rocrate_validator": "roc-validator",
}


def require(module: str, command: str = COMMAND) -> ModuleType:
    """Import ``module`` from the ``[hf]`` extra; the error names the extra and ``command``."""
    return extras.require(module, EXTRA, command, DISTRIBUTIONS.get(module))

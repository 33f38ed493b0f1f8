"""Lazy imports of the optional ``[hf]`` dependency group.

``import fairmicro`` and ``fairmicro --help`` never import these; a builder
asks for a module when it needs it and gets a one-line
:class:`~fairmicro.errors.MissingExtraError` when the extra is absent.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from fairmicro.errors import MissingExtraError

EXTRA = "hf"
COMMAND = "fairmicro build"

# import name -> distribution name (what pip installs)
DISTRIBUTIONS = {
    "datasets": "datasets",
    "huggingface_hub": "huggingface_hub",
    "pyarrow": "pyarrow",
    "pyarrow.parquet": "pyarrow",
    "rocrate": "rocrate",
    "rocrate_validator": "roc-validator",
    "mlcroissant": "mlcroissant",
}


def require(module: str) -> ModuleType:
    """Import ``module`` from the ``[hf]`` extra.

    Raises
    ------
    MissingExtraError
        If the module is not installed; the message names the extra to install.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        distribution = DISTRIBUTIONS.get(module, module.split(".")[0])
        raise MissingExtraError(distribution, EXTRA, COMMAND) from exc

"""Lazy imports of optional dependency groups, with a one-line hint when missing.

The hint names an extra that really provides the missing package: the one the
command needs when that extra has it (``fairmicro train`` -> ``[models]``,
which also brings the ``[hf]`` packages), otherwise the smallest extra listing
it (``transformers`` -> ``[qualifier]``). ``EXTRAS`` mirrors
``[project.optional-dependencies]`` of pyproject.toml (a test keeps the two equal).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from fairmicro.errors import MissingExtraError

# extra -> (the distributions it lists itself, the extras it includes)
EXTRAS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "hf": (
        ("datasets", "huggingface_hub", "pyarrow", "rocrate", "roc-validator", "mlcroissant", "license-expression"),
        (),
    ),
    "models": (("scikit-learn", "scikit-image", "joblib", "matplotlib", "keras", "torch"), ("hf",)),
    "qualifier": (("transformers",), ("models",)),
    "tf": (("tensorflow-cpu", "tensorflow"), ("models",)),
    "web": (("starlette", "uvicorn", "jinja2", "python-multipart", "markdown-it-py"), ()),
}
# the extra each command needs (the first words of the command as the caller names it)
COMMAND_EXTRAS = {
    "fairmicro build": "hf",
    "fairmicro publish": "hf",
    "fairmicro train": "models",
    "fairmicro pretrain": "models",
    "fairmicro evaluate": "models",
    "fairmicro predict": "models",
    "fairmicro qualify": "qualifier",
    "fairmicro serve": "web",
}
# import name -> distribution name, where they differ
DISTRIBUTIONS = {
    "sklearn": "scikit-learn",
    "skimage": "scikit-image",
    "rocrate_validator": "roc-validator",
    "license_expression": "license-expression",
}


def _normalise(name: str) -> str:
    return name.lower().replace("_", "-")


def providers(distribution: str) -> list[str]:
    """The extras that install ``distribution`` (directly or through an included extra), smallest first."""

    def installs(extra: str) -> bool:
        listed, included = EXTRAS[extra]
        return _normalise(distribution) in {_normalise(d) for d in listed} or any(map(installs, included))

    def size(extra: str) -> int:
        return 1 + sum(size(inner) for inner in EXTRAS[extra][1])

    return sorted((extra for extra in EXTRAS if installs(extra)), key=size)


def extra_for(distribution: str, command: str, fallback: str) -> str:
    """The extra to name for a missing ``distribution``: the command's own when it has it, else the smallest."""
    found = providers(distribution)
    wanted = next((e for c, e in COMMAND_EXTRAS.items() if command == c or command.startswith(c + " ")), None)
    for choice in (wanted, fallback):
        if choice in found:
            return choice
    return found[0] if found else wanted or fallback


def require(module: str, extra: str, command: str, distribution: str | None = None) -> ModuleType:
    """Import ``module``; if absent, raise naming ``pip install 'fairmicro[EXTRA]'``.

    Parameters
    ----------
    module
        Dotted import name.
    extra
        The extra the caller expects to provide it (used when no extra lists the package itself).
    command
        The command that needs it, e.g. ``fairmicro train texture``.
    distribution
        The package pip installs, when it differs from the import name.

    Raises
    ------
    MissingExtraError
        When the import fails; the message names the package and an extra that provides it.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        package = distribution or DISTRIBUTIONS.get(top, top)
        raise MissingExtraError(package, extra_for(package, command, extra), command) from exc

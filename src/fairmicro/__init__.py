"""fairmicro: microscope images to FAIR, queryable, publishable ML datasets.

``import fairmicro as fm`` gives the library API (docs/api.md): ``fm.Catalog``,
``fm.build``, ``fm.publish``, ``fm.train``, ``fm.pretrain``, ``fm.evaluate``,
``fm.predict``, ``fm.qualify``, ``fm.runs``, ``fm.reviews``, ``fm.review``,
``fm.plugins``, ``fm.plugin``. Each name is imported on first
use, so ``import fairmicro`` (and ``fairmicro query``) stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fairmicro.api import EXPORTS

if TYPE_CHECKING:
    from fairmicro.api.catalog import Catalog
    from fairmicro.api.ingest import IngestReport
    from fairmicro.api.labelling import ReviewDecision, review, reviews
    from fairmicro.api.pipeline import BuildReport, build, publish
    from fairmicro.api.plugins import Plugins, plugin, plugins
    from fairmicro.api.runs import evaluate, predict, pretrain, qualify, runs, train
    from fairmicro.catalog.frames import QueryResult
    from fairmicro.errors import FairmicroError

__all__ = [
    "BuildReport",
    "Catalog",
    "FairmicroError",
    "IngestReport",
    "Plugins",
    "QueryResult",
    "ReviewDecision",
    "__version__",
    "build",
    "evaluate",
    "plugin",
    "plugins",
    "predict",
    "pretrain",
    "publish",
    "qualify",
    "review",
    "reviews",
    "runs",
    "train",
]


def __getattr__(name: str) -> Any:
    if name in EXPORTS:
        import importlib

        value = getattr(importlib.import_module(EXPORTS[name]), name)
        globals()[name] = value  # later lookups no longer reach __getattr__
        return value
    if name != "__version__":
        raise AttributeError(f"module 'fairmicro' has no attribute {name!r}")
    # importlib.metadata costs a noticeable share of start-up: read the version only when asked
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("fairmicro")
    except PackageNotFoundError:  # running from a source tree without install
        found = "0.0.0+unknown"
    globals()["__version__"] = found  # read once: later lookups no longer reach __getattr__
    return found


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

"""The public library API: what ``import fairmicro as fm`` exports (see docs/api.md).

``fm.Catalog`` (open, ingest, query), ``fm.build``, ``fm.publish``, ``fm.train``,
``fm.pretrain``, ``fm.evaluate``, ``fm.predict``, ``fm.qualify``, ``fm.runs``,
``fm.reviews``/``fm.review`` and ``fm.plugins``/``fm.plugin``. Every CLI command
runs through these functions (tests/cli/test_thin_cli.py checks the imports). Importing
this package imports none of the modules behind it: :mod:`fairmicro` loads
each name on first use.
"""

from __future__ import annotations

EXPORTS: dict[str, str] = {
    "Catalog": "fairmicro.api.catalog",
    "IngestReport": "fairmicro.api.ingest",
    "BuildReport": "fairmicro.api.pipeline",
    "build": "fairmicro.api.pipeline",
    "publish": "fairmicro.api.pipeline",
    "train": "fairmicro.api.runs",
    "pretrain": "fairmicro.api.runs",
    "evaluate": "fairmicro.api.runs",
    "predict": "fairmicro.api.runs",
    "qualify": "fairmicro.api.runs",
    "runs": "fairmicro.api.runs",
    "reviews": "fairmicro.api.labelling",
    "review": "fairmicro.api.labelling",
    "ReviewDecision": "fairmicro.api.labelling",
    "plugins": "fairmicro.api.plugins",
    "plugin": "fairmicro.api.plugins",
    "Plugins": "fairmicro.api.plugins",
    "QueryResult": "fairmicro.catalog.frames",
    "FairmicroError": "fairmicro.errors",
}
"""Public name -> the module that defines it."""

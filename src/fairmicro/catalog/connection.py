"""The one seam through which every catalog access goes.

Today a catalog is one DuckDB file. A shared multi-writer lab catalog
(DuckLake over PostgreSQL) will plug in here: callers only ever receive a
DB-API style DuckDB connection from :func:`connect`.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from fairmicro.errors import CatalogError, first_line

ENV_VAR = "FAIRMICRO_CATALOG"
DEFAULT_PATH = Path("fairmicro.duckdb")


def resolve_catalog_path(explicit: str | Path | None = None) -> Path:
    """``--catalog`` if given, else ``$FAIRMICRO_CATALOG``, else ``./fairmicro.duckdb``."""
    if explicit:
        return Path(explicit)
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    return DEFAULT_PATH


def connect(path: Path, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    """Open the catalog; read-only opens require the file to exist."""
    if read_only and not path.exists():
        raise CatalogError(
            f"{path}: no catalog here; run `fairmicro ingest` first or pass --catalog / ${ENV_VAR}"
        )
    if not read_only and path.parent and not path.parent.exists():
        raise CatalogError(f"{path}: folder {path.parent} does not exist")
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as exc:
        raise CatalogError(f"{path}: cannot open catalog ({first_line(exc)})") from exc

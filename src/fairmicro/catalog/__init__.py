"""The DuckDB catalog: connection seam, migrations, ingest, views and queries."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fairmicro.catalog.store import Catalog

__all__ = ["Catalog"]


def __getattr__(name: str) -> object:
    # importing a submodule (connection, walk) must not load the store and what it imports
    if name == "Catalog":
        from fairmicro.catalog.store import Catalog

        return Catalog
    raise AttributeError(f"module 'fairmicro.catalog' has no attribute {name!r}")

"""The DuckDB catalog: connection seam, migrations, ingest, views and queries."""

from fairmicro.catalog.store import Catalog

__all__ = ["Catalog"]

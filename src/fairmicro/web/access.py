"""The server's one way to the catalog: short opens, one at a time, and the cache folder beside it.

The server holds no connection between requests (like :class:`fairmicro.Catalog`),
so ``fairmicro ingest`` or ``fairmicro query`` in a terminal get their turn while
it runs. DuckDB refuses a read-only and a read-write connection to one file in
one process, so requests take turns through one lock.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from fairmicro.catalog import Catalog

SHA256 = re.compile(r"[0-9a-f]{64}")


def checked_sha(value: str) -> str | None:
    """``value`` when it is a full lower-case hex sha256, else None (nothing else may name an image)."""
    return value if SHA256.fullmatch(value) else None


@dataclass
class CatalogAccess:
    """The catalog file the server shows, and the folder its thumbnails and uploads live in."""

    path: Path
    lock: threading.RLock = field(default_factory=threading.RLock)

    @property
    def cache_dir(self) -> Path:
        """``<catalog>.web/`` beside the catalog file (thumbnails, previews, uploads)."""
        return self.path.with_name(self.path.name + ".web")

    @contextlib.contextmanager
    def reading(self) -> Iterator[Catalog]:
        """The catalog open read-only for one request."""
        with self.lock, Catalog.open(self.path, read_only=True) as catalog:
            yield catalog

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        """This request's turn at the catalog, for library calls that open it themselves."""
        with self.lock:
            yield

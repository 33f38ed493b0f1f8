"""The backend seam: a catalog is a DuckDB file or a DuckLake catalog, and answers the same verbs.

:func:`fairmicro.catalog.connection.connect` returns a DuckDB connection for a
file and a :class:`~fairmicro.catalog.ducklake.LakeConnection` for a
``ducklake:...`` location; :func:`fairmicro.catalog.migrations.migrate` applies
the one schema to either. What differs in behaviour lives here, as named
helpers the rest of the catalog calls without asking which backend it has:

* :func:`atomic` runs a write transaction, retrying it (bounded, with backoff)
  when a concurrent writer of a shared catalog committed first;
* :func:`snapshot_of` names the state a reader saw (a DuckLake snapshot id;
  None for a file, which has no history).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import duckdb

from fairmicro.errors import CatalogError, first_line

if TYPE_CHECKING:
    from fairmicro.catalog.store import Catalog

T = TypeVar("T")
RETRIES = 12
BACKOFF_S = (0.02, 1.0)  # first wait, longest wait; each retry doubles, with jitter
log = logging.getLogger(__name__)


def is_shared(catalog: Catalog) -> bool:
    """Whether ``catalog`` is a DuckLake catalog (several writers, time travel)."""
    from fairmicro.catalog.ducklake import LakeConnection

    return isinstance(catalog.con, LakeConnection)


def is_conflict(exc: BaseException) -> bool:
    """Whether ``exc`` (or its cause) is a transaction conflict with a concurrent writer."""
    while exc is not None:
        if isinstance(exc, duckdb.TransactionException) or (
            isinstance(exc, duckdb.Error) and "conflict" in str(exc).lower()
        ):
            return True
        exc = exc.__cause__  # type: ignore[assignment]
    return False


def backoff(attempt: int) -> None:
    """Sleep before retry ``attempt`` (1, 2, ...): exponential, jittered, capped."""
    first, cap = BACKOFF_S
    time.sleep(random.uniform(0.5, 1.0) * min(cap, first * 2 ** (attempt - 1)))


def atomic(catalog: Catalog, work: Callable[[], T], *, what: str = "write") -> T:
    """Run ``work`` inside one transaction of ``catalog``; on a shared catalog retry it after a conflict.

    ``work`` must be safe to run again: everything it decides is decided anew
    inside the transaction (a retry sees what the other writer committed).

    Raises
    ------
    CatalogError
        When conflicts persist after :data:`RETRIES` attempts.
    """
    attempts = RETRIES if is_shared(catalog) else 1
    for attempt in range(1, attempts + 1):
        try:
            with catalog.transaction():
                return work()
        except (duckdb.Error, CatalogError) as exc:
            if attempt == attempts or not is_conflict(exc):
                raise
            log.debug("%s: %s conflicted with another writer (%s); retry %d", catalog.path, what, first_line(exc), attempt)
            backoff(attempt)
    raise AssertionError("unreachable")


def snapshot_of(catalog: Catalog) -> int | None:
    """The DuckLake snapshot ``catalog`` reads, or None for a catalog file."""
    return catalog.con.snapshot() if is_shared(catalog) else None

"""The backend seam: a catalog is a DuckDB file or a DuckLake catalog, and answers the same verbs.

:func:`fairmicro.catalog.connection.connect` returns a DuckDB connection for a
file and a :class:`~fairmicro.catalog.ducklake.LakeConnection` for a
``ducklake:...`` location; :func:`fairmicro.catalog.migrations.migrate` applies
the one schema to either. What differs in behaviour lives here, as named
helpers the rest of the catalog calls without asking which backend it has:

* :func:`atomic` runs a write transaction, retrying it (bounded, with backoff)
  when a concurrent writer of a shared catalog committed first; every other
  write transaction of a shared catalog is retried by replaying its statements
  (see :class:`fairmicro.catalog.ducklake.LakeConnection`);
* :func:`snapshot_of` names the state a reader saw (a DuckLake snapshot id;
  None for a file, which has no history).
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import duckdb

from fairmicro.errors import CatalogError, first_line

if TYPE_CHECKING:
    from fairmicro.catalog.ducklake import LakeConnection
    from fairmicro.catalog.store import Catalog

T = TypeVar("T")
RETRIES = 12
BACKOFF_S = (0.02, 1.0)  # first wait, longest wait; each retry doubles, with jitter
log = logging.getLogger(__name__)


def is_shared(catalog: Catalog) -> bool:
    """Whether ``catalog`` is a DuckLake catalog (several writers, time travel)."""
    return _lake(catalog) is not None


def _lake(catalog: Catalog) -> LakeConnection | None:
    """The DuckLake connection of a shared catalog, None for a catalog file."""
    from fairmicro.catalog.ducklake import LakeConnection

    return catalog.con if isinstance(catalog.con, LakeConnection) else None


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
            with _whole_retries(catalog), catalog.transaction():
                return work()
        except (duckdb.Error, CatalogError) as exc:
            if attempt == attempts or not is_conflict(exc):
                raise
            log.debug(
                "%s: %s conflicted with another writer (%s); retry %d", catalog.path, what, first_line(exc), attempt
            )
            backoff(attempt)
    raise AssertionError("unreachable")


@contextlib.contextmanager
def _whole_retries(catalog: Catalog) -> Iterator[None]:
    """While :func:`atomic` runs its work, a conflicting COMMIT is not replayed: atomic re-runs the work."""
    lake = _lake(catalog)
    if lake is None:
        yield
        return
    previous, lake.replay = lake.replay, False
    try:
        yield
    finally:
        lake.replay = previous


def snapshot_of(catalog: Catalog) -> int | None:
    """The DuckLake snapshot ``catalog`` reads, or None for a catalog file."""
    lake = _lake(catalog)
    return None if lake is None else lake.snapshot()


def pin_snapshot(location: str | Path, at: int | None) -> tuple[int, int] | None:
    """Make this process read the shared catalog at snapshot ``at`` (None: the latest, fixed now).

    A build reads one state of the catalog from its first query to its last,
    whatever other writers commit meanwhile, and records which; ``--at-snapshot``
    reads an earlier one. Returns the snapshot and the Unix time it was
    committed (a build dates itself by it, so a rebuild gives the same bytes);
    None for a catalog file.

    Raises
    ------
    CatalogError
        For ``at`` on a catalog file, which keeps no history.
    """
    from fairmicro.catalog.ducklake import connect_lake, is_lake, set_snapshot, shown_location

    if not is_lake(location):
        if at is not None:
            raise CatalogError(
                f"{location}: --at-snapshot needs a shared DuckLake catalog (--catalog ducklake:...); "
                "a catalog file keeps no snapshots"
            )
        return None
    with connect_lake(str(location), read_only=True) as con:
        at = con.snapshot() if at is None else at
        row = con.execute(
            "SELECT epoch(snapshot_time)::BIGINT FROM ducklake_snapshots('lake') WHERE snapshot_id = ?", [at]
        ).fetchone()
    if row is None:
        raise CatalogError(
            f"{shown_location(str(location))}: the catalog has no snapshot {at}; each build records the one it "
            'read (`fairmicro query "SELECT name, parameters FROM datasets"`, key catalog_snapshot)'
        )
    set_snapshot(at)
    return at, int(row[0])

"""How an ingest's batches reach the catalog: one at a time, in a writer thread, between other processes' turns.

:class:`BatchWriter` commits a batch in a thread while the ingest extracts the
next one (DuckDB releases the GIL while it writes); at most one batch is in
flight, and outcomes come back in order. :class:`Lease` closes the catalog
file between batches when another process waits for it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Generic, TypeVar

from fairmicro.catalog.connection import connect, others_waiting

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

    from fairmicro.catalog.store import Catalog

T = TypeVar("T")

TAIL_BATCH = 25  # the smallest of the shrinking last batches (see batch_sizes)
LEASE_S = 0.5  # an ingest holding the catalog this long lets waiting processes in during its next file-reading phase
MIN_GAP_S = 0.05  # for at least this long, so that waiting readers (polling every 10-50 ms) get their turn


def batch_sizes(count: int, size: int) -> list[int]:
    """Lengths of the batches ``count`` files are written in: ``size`` each, then halving ones at the end.

    A batch is written while the next one is read, so what is left after the
    last file is read is the last batch's write: halving batches (200, 100, 50,
    25, ...) keep that short, since a batch writes in about the time half as
    many files take to read. No batch is larger than ``size``.
    """
    smallest = min(TAIL_BATCH, size)
    sizes, rest = [], count
    while rest > 0:
        take = size if rest > 2 * size else min(rest, max(smallest, -(-rest // 2)))
        sizes.append(take)
        rest -= take
    return sizes


class Lease:
    """Releases the catalog file between batches so other processes (queries, ingests) get turns."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.since = time.monotonic()
        self.releasable = not catalog.read_only and catalog.path.name != ":memory:" and catalog.path.is_file()

    @contextlib.contextmanager
    def idle(self, settle: Callable[[], object] = lambda: None) -> Iterator[None]:
        """Run a block that needs no catalog; the file is closed during it when the lease is due.

        ``settle`` is called before the file is closed (it waits for a batch still being written).
        """
        if not self.releasable or time.monotonic() - self.since < LEASE_S or not others_waiting(self.catalog.path):
            yield
            return
        settle()
        self.catalog.con.close()
        start = time.monotonic()
        yield  # on an exception the catalog stays closed: the run is over
        time.sleep(max(0.0, MIN_GAP_S - (time.monotonic() - start)))
        self.catalog.con = connect(self.catalog.path, read_only=False)
        self.since = time.monotonic()


class BatchWriter(Generic[T]):
    """Runs one batch commit at a time in a thread; :meth:`settle` waits for it and hands over its result."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._pending: Future[list[T]] | None = None

    def submit(self, commit: Callable[[], list[T]]) -> list[T]:
        """Start ``commit`` once the previous one is done; returns the previous one's result."""
        done = self.settle()
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(1, thread_name_prefix="fairmicro-write")
        self._pending = self._pool.submit(commit)
        return done

    def wait(self) -> None:
        """Wait for the commit in flight, keeping its result for :meth:`settle`."""
        if self._pending is not None:
            from concurrent.futures import wait

            wait([self._pending])

    def settle(self) -> list[T]:
        """Wait for the commit in flight; its result (``[]`` when none); re-raises its exception."""
        pending, self._pending = self._pending, None
        return [] if pending is None else pending.result()

    def close(self) -> None:
        """Wait for the commit in flight (its exception is dropped: the run is ending anyway) and stop the thread."""
        self.wait()
        self._pending = None
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

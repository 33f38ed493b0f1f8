"""Parallel hashing and extraction for ``fairmicro ingest --jobs N``.

The ingest loop stays sequential (one writer, atomic batches); what runs in
parallel is the per-file work before it: sha256 in threads (hashlib and file
reads release the GIL) and extraction (pure Python parsing plus the pixel
check) in worker processes. Results come back in input order, so an ingest
with ``--jobs N`` writes exactly what ``--jobs 1`` writes.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from fairmicro.extractors.base import Extraction, Extractor

T = TypeVar("T")
R = TypeVar("R")
Extracted = tuple[str, "Extraction"] | BaseException


def extract_in_worker(path: Path, extractors: tuple[Extractor, ...] | None) -> Extracted:
    """``extract_file`` in a worker: the extractor's name and the extraction, or the error."""
    from fairmicro.errors import FairmicroError
    from fairmicro.extractors.registry import extract_file

    try:
        extractor, extraction = extract_file(path, extractors)
    except (FairmicroError, OSError) as exc:  # re-raised by the ingest loop, as if it had run there
        return exc
    return extractor.name, extraction


class Workers:
    """Thread and process pools of ``jobs`` workers, started on first use.

    Parameters
    ----------
    jobs
        Number of workers; 1 runs everything in the calling thread.
    extractors
        The extractors to try, or ``None`` for the registered ones.
    """

    def __init__(self, jobs: int, extractors: tuple[Extractor, ...] | None = None) -> None:
        self.jobs = max(1, jobs)
        self.extractors = extractors
        self._threads: Executor | None = None
        self._processes: Executor | None = None

    def map_threads(self, func: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """``[func(x) for x in items]``, in threads when there are several workers."""
        if self.jobs == 1 or len(items) < 2:
            return [func(item) for item in items]
        if self._threads is None:
            self._threads = ThreadPoolExecutor(self.jobs, thread_name_prefix="fairmicro-hash")
        return list(self._threads.map(func, items))

    def extract(self, paths: Iterable[Path]) -> dict[Path, Extracted]:
        """Extraction results by path, computed in worker processes (empty with one worker)."""
        chosen = list(dict.fromkeys(paths))
        if self.jobs == 1 or not chosen:
            return {}
        if self._processes is None:
            # spawn: a fresh interpreter per worker, never a fork of a process holding DuckDB threads
            context = multiprocessing.get_context("spawn")
            self._processes = ProcessPoolExecutor(self.jobs, mp_context=context)
        chunksize = max(1, len(chosen) // (4 * self.jobs))
        results = self._processes.map(extract_in_worker, chosen, [self.extractors] * len(chosen), chunksize=chunksize)
        return dict(zip(chosen, results, strict=True))

    def close(self) -> None:
        """Stop the pools."""
        for pool in (self._threads, self._processes):
            if pool is not None:
                pool.shutdown(cancel_futures=True)
        self._threads = self._processes = None

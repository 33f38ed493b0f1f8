"""Reading files for ingest: each file read once, hashed while read, extracted from the same bytes.

The ingest loop stays sequential (one writer, atomic batches); what can run
in parallel is the per-file work before it (:func:`read_one`: sha256, tag
extraction, pixel check, validation). :class:`Workers` runs it in the calling
process (``jobs=1``; the next files are read and hashed in a child process while
the current one is extracted) or in ``jobs`` worker processes. Results come back
in input order, so ``--jobs N`` writes exactly what ``--jobs 1`` writes.

Worker processes are forked only from a process that is still single-threaded
(nothing unsafe is copied); otherwise, as in the CLI (importing DuckDB starts
a native thread), they start from a fork server that imports the extraction
machinery once. They start when a survey finds enough new files to be worth
it (a nightly rerun with a few new files reads them here).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fairmicro.errors import FairmicroError
from fairmicro.hashing import NeedWholeFile, ReadFile

if TYPE_CHECKING:  # the pools are imported when first used: a rerun with nothing new needs neither
    import multiprocessing.context
    import threading
    from concurrent.futures import Executor, Future

    from fairmicro.catalog.readahead import ReadAhead
    from fairmicro.catalog.records import ImageBundle
    from fairmicro.extractors.base import Extractor

TASKS_PER_MESSAGE = 4  # files per round trip to a worker process
GROUPS_AHEAD = 8  # round trips queued per worker ahead of the writer
POOL_MIN_FILES = 200  # fewer new files are read here: booting the workers costs about as much as reading them


@dataclass(frozen=True)
class ReadTask:
    """One file to read: its surveyed size, the sha256 the catalog holds for its path, its specimen join."""

    path: Path
    size: int
    previous_sha: str | None = None
    specimen_id: str | None = None
    label: str | None = None
    label_source: str | None = None
    mtime_ns: int | None = None  # as surveyed: a read made before the survey is used only if it matches


@dataclass(frozen=True)
class ReadResult:
    """A file's sha256 (``None`` when it could not be read) and its validated records or the rejection.

    ``bundle`` and ``error`` are both ``None`` when the content equals the
    task's ``previous_sha`` (the catalog has this image; nothing was extracted).
    """

    sha256: str | None
    bundle: ImageBundle | None = None
    error: str | None = None


def read_one(
    task: ReadTask, extractors: tuple[Extractor, ...] | None = None, read: ReadFile | None = None
) -> ReadResult:
    """Read, hash, extract and validate one file (``read``: its bytes, when read already)."""
    from fairmicro.hashing import read_and_hash
    from fairmicro.regular_files import NotRegularFileError

    path = task.path
    try:
        read = read or read_and_hash(path)
    except NotRegularFileError:
        return ReadResult(None, error=f"{path}: not a regular file; not opened")
    except OSError as exc:
        return ReadResult(None, error=f"{path}: cannot be read ({exc.strerror or exc})")
    if read.sha256 == task.previous_sha:
        return ReadResult(read.sha256)
    if read.data is None and read.ends is not None:
        try:
            return _extracted(task, read, extractors)
        except NeedWholeFile:  # the tags lie between the ends kept
            return _extracted_from_file(task, read, extractors)
    return _extracted(task, read, extractors)


def _extracted_from_file(task: ReadTask, read: ReadFile, extractors: tuple[Extractor, ...] | None) -> ReadResult:
    """Extract from the file on disk, trusted only if its size and mtime are still those it was hashed with.

    (As a rerun trusts them.) Otherwise the file is read and hashed again, whole, and extracted from those bytes.
    """
    import dataclasses

    result = _extracted(task, dataclasses.replace(read, ends=None), extractors)
    try:
        info = os.stat(task.path)
    except OSError:
        return read_one(task, extractors)
    if read.mtime_ns is None or (info.st_size, info.st_mtime_ns) != (read.size, read.mtime_ns):
        return read_one(task, extractors)
    return result


def _extracted(task: ReadTask, read: ReadFile, extractors: tuple[Extractor, ...] | None) -> ReadResult:
    from fairmicro.catalog.records import FileFacts, build_bundle
    from fairmicro.extractors.registry import extract_file

    path = task.path
    try:
        extractor, extraction = extract_file(path, extractors, read.content)
        bundle = build_bundle(
            extraction,
            FileFacts(path, read.sha256, task.size),
            extractor=extractor.name,
            extractor_version=extractor.version,
            specimen_id=task.specimen_id,
            label=task.label,
            label_source=task.label_source,
        )
    except FairmicroError as exc:
        return ReadResult(read.sha256, error=str(exc))
    except OSError as exc:
        return ReadResult(read.sha256, error=f"{path}: cannot be read ({exc.strerror or exc})")
    return ReadResult(read.sha256, bundle)


def available_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


AUTO_POOL_MIN_CORES = 3  # on fewer cores ``--jobs 0`` reads here: the read-ahead child already uses a second core


def resolve_jobs(jobs: int) -> int:
    """``jobs`` workers; ``0`` (automatic) means one per available core, or 1 on one or two cores.

    With one worker the files are hashed in a child process while the main
    thread extracts and writes, so two cores are busy
    already; on two cores worker processes only add their start-up and the
    pickling of results (measured: ``--jobs 2`` slower than ``--jobs 1``).

    Raises
    ------
    FairmicroError
        For a negative number.
    """
    if jobs < 0:
        raise FairmicroError(f"--jobs {jobs}: expected 0 (automatic) or a positive number of workers")
    if jobs:
        return jobs
    cores = available_cores()
    return cores if cores >= AUTO_POOL_MIN_CORES else 1


class Workers:
    """Where :func:`read_one` runs: here (``jobs=1``) or in ``jobs`` worker processes.

    Parameters
    ----------
    jobs
        Number of workers (``0``: one per core); 1 reads in the calling process.
    extractors
        The extractors to try, or ``None`` for the registered ones.
    min_pool_files
        Fewer files than this, while the workers are not running yet, are read
        in this process (the results are the same either way).
    """

    def __init__(
        self, jobs: int = 1, extractors: tuple[Extractor, ...] | None = None, min_pool_files: int = POOL_MIN_FILES
    ) -> None:
        self.jobs = resolve_jobs(jobs)
        self.extractors = extractors
        self.min_pool_files = min_pool_files
        self._pool: Executor | None = None
        self._starting: threading.Thread | None = None
        self._ahead: ReadAhead | None = None

    def prefetch(self, paths: list[Path]) -> None:
        """Start reading ``paths`` now (one worker only), before the survey knows which are new.

        For a new catalog, where every file is: :meth:`read` then takes each
        read that still matches the file's surveyed size and mtime.
        """
        if self.jobs == 1 and self._ahead is None and paths:
            from fairmicro.catalog.readahead import ReadAhead

            self._ahead = ReadAhead(paths)

    def start(self) -> Workers:
        """Start the worker processes (``jobs`` > 1) in the background; the caller goes on meanwhile.

        Booting a fork server and the workers' imports take a few tenths of a
        second, which overlap opening and surveying the catalog.
        """
        if self.jobs > 1 and self._pool is None and self._starting is None:
            import threading

            context = _context()
            if context.get_start_method() == "fork":
                _import_extraction()  # once here, inherited by every worker
            self._starting = threading.Thread(target=self._launch, args=(context,), name="fairmicro-workers")
            self._starting.start()
        return self

    def _launch(self, context: multiprocessing.context.BaseContext) -> None:
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(self.jobs, mp_context=context, initializer=_init_worker, initargs=(self.extractors,))
        try:
            pool.submit(int)  # launches the workers now
        finally:
            self._pool = pool

    def _ready_pool(self) -> Executor:
        """The process pool, once started."""
        self.start()
        if self._starting is not None:
            self._starting.join()
            self._starting = None
        if self._pool is None:
            raise FairmicroError("ingest: the worker processes could not be started")
        return self._pool

    def read(self, tasks: Iterable[ReadTask]) -> Iterator[ReadResult]:
        """Results of ``tasks`` in order, computed as they are consumed (a bounded number ahead)."""
        tasks = list(tasks)
        if not tasks:
            return iter(())
        idle = self._pool is None and self._starting is None
        if self.jobs == 1 or (idle and len(tasks) < self.min_pool_files):
            return self._read_here(tasks)  # a few new files (a rerun) are not worth booting the workers
        return self._read_in_pool(tasks)

    def _read_in_pool(self, tasks: list[ReadTask]) -> Iterator[ReadResult]:
        """In the worker processes, a few files per round trip, a bounded number queued ahead.

        At most ``GROUPS_AHEAD`` round trips per worker wait for the writer, so
        memory stays bounded however many files there are.
        """
        from collections import deque
        from concurrent.futures.process import BrokenProcessPool

        pool = self._ready_pool()
        pending: deque[Future[list[ReadResult]]] = deque()
        try:
            for start in range(0, len(tasks), TASKS_PER_MESSAGE):
                pending.append(pool.submit(_read_group, tasks[start : start + TASKS_PER_MESSAGE]))
                if len(pending) >= GROUPS_AHEAD * self.jobs:
                    yield from pending.popleft().result()
            while pending:
                yield from pending.popleft().result()
        except BrokenProcessPool as exc:
            raise FairmicroError(
                "ingest: a worker process died (out of memory or killed); the batches written so far are kept, "
                "rerun the ingest to finish"
            ) from exc
        finally:
            for future in pending:
                future.cancel()

    def _read_here(self, tasks: list[ReadTask]) -> Iterator[ReadResult]:
        """In this process; the files are read and hashed ahead in a child process while this one extracts."""
        from fairmicro.catalog.readahead import ReadAhead

        ahead = self._ahead
        if ahead is None or not ahead.covers(tasks[0].path):
            self._close_ahead()
            ahead = self._ahead = ReadAhead([task.path for task in tasks])
        for task in tasks:
            read = ahead.take(task.path)
            if not isinstance(read, ReadFile) or read.size != task.size or _stale(read, task):
                read = None  # not read ahead, unreadable (reported in the usual words), or changed since
            yield read_one(task, self.extractors, read)
            del read

    def _close_ahead(self) -> None:
        if self._ahead is not None:
            self._ahead.close()
            self._ahead = None

    def close(self) -> None:
        """Stop the workers."""
        if self._starting is not None:
            self._starting.join()
            self._starting = None
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = None
        self._close_ahead()


def _stale(read: ReadFile, task: ReadTask) -> bool:
    """Whether the file's mtime when read differs from the surveyed one (it changed in between)."""
    return task.mtime_ns is not None and read.mtime_ns is not None and read.mtime_ns != task.mtime_ns


_WORKER_EXTRACTORS: tuple[Extractor, ...] | None = None


def _init_worker(extractors: tuple[Extractor, ...] | None) -> None:
    global _WORKER_EXTRACTORS
    _WORKER_EXTRACTORS = extractors
    if extractors is None:
        _import_extraction()  # while the writer is still starting up, not on the first file


def _read_group(tasks: list[ReadTask]) -> list[ReadResult]:
    return [read_one(task, _WORKER_EXTRACTORS) for task in tasks]


def _import_extraction() -> None:
    """Import the extraction machinery (and the registered extractors) before forking, once for all workers."""
    from fairmicro.catalog import records  # noqa: F401
    from fairmicro.extractors.registry import registered_extractors

    registered_extractors()


def _single_threaded() -> bool:
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return False


def _context() -> multiprocessing.context.BaseContext:
    """fork when this process has a single thread (cheap, nothing unsafe to copy), else a fork server."""
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    if sys.platform.startswith("linux") and "fork" in methods and _single_threaded():
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(
            ["fairmicro.catalog.workers", "fairmicro.catalog.records", "fairmicro.extractors.registry"]
        )
        return context
    return multiprocessing.get_context("spawn")

"""Ingest: files -> extractor -> validated records -> catalog, in atomic batches.

Content-addressed and incremental: a path whose size and mtime are unchanged
is skipped without hashing; a file whose sha256 is already catalogued (the same
file again, or a renamed copy) adds only its path. Each batch is one
transaction, so killing the process loses at most the open batch and a rerun
finishes the job without duplicates.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from fairmicro.catalog.backend import atomic
from fairmicro.catalog.batches import BatchWriter, Lease, batch_sizes
from fairmicro.catalog.ingest_options import IngestOptions
from fairmicro.catalog.store import Catalog, utcnow
from fairmicro.catalog.walk import collect_files, json_text, not_regular, not_utf8
from fairmicro.catalog.workers import ReadResult, ReadTask, Workers, read_one
from fairmicro.errors import CatalogError, first_line

if TYPE_CHECKING:  # a rerun with nothing new imports neither the extractors nor the records' validators
    from fairmicro.catalog.records import ImageBundle
    from fairmicro.extractors.base import Extractor
    from fairmicro.schema import ingest_records
else:
    from fairmicro._lazy import lazy_module

    ingest_records = lazy_module("fairmicro.schema.ingest_records")

log = logging.getLogger(__name__)


@dataclass
class FileOutcome:
    """What happened to one file."""

    path: Path
    status: str  # "ingested" | "present" | "rejected"
    reason: str | None = None
    warnings: list[str] = field(default_factory=list)
    sha256: str | None = None


@dataclass
class IngestSummary:
    """Closing summary of an ingest run."""

    ingested: int = 0
    present: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """Nothing could be ingested (already-present files count as success)."""
        return self.ingested + self.present == 0

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form for ``--json``."""
        return {
            "ingested": self.ingested,
            "already_present": self.present,
            "rejected": [{"path": json_text(p), "reason": json_text(r)} for p, r in self.rejected],
            "warnings": [json_text(w) for w in self.warnings],
            "skipped": [{"path": json_text(p), "reason": r} for p, r in self.skipped],
        }


def iter_image_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Files named on the command line, and image files found under folders (sorted).

    Entries that cannot be ingested are left out; :func:`~fairmicro.catalog.walk.collect_files`
    also says which and why.
    """
    yield from collect_files(paths).files


def _utc(timestamp: float) -> datetime:
    """A file time as naive UTC (as stored in TIMESTAMP columns)."""
    return datetime.fromtimestamp(timestamp, UTC).replace(tzinfo=None)


SURVEY_CHUNK = 2000  # paths looked up in the catalog in one query; the unchanged ones are refreshed together


@dataclass(frozen=True)
class _Surveyed:
    """A regular file after the cheap checks: its size and mtime, and what the catalog knows of its path."""

    path: Path
    size: int
    mtime: datetime
    previous_sha: str | None = None  # the image the catalog records at this path
    unchanged: bool = False  # same size and mtime as then: not read again
    mtime_ns: int | None = None


@dataclass
class _Joined:
    specimen_id: str | None = None
    label: str | None = None
    label_source: str | None = None
    warnings: list[str] = field(default_factory=list)


def join_specimen(path: Path, options: IngestOptions) -> _Joined:
    """Specimen id and label for a file, from the table, the name pattern and the folder."""
    joined = _Joined()
    table = options.specimens
    row = table.file_row(path.name) if table else None
    if row is not None:
        joined.specimen_id = row.specimen_id
        if row.label:
            joined.label, joined.label_source = row.label, "table"
    elif options.specimen_pattern is not None:
        match = options.specimen_pattern.search(path.name)
        if match:
            joined.specimen_id = match.group("specimen_id")
        else:
            joined.warnings.append(f"{path.name}: file name does not match --specimen-pattern")
    if joined.specimen_id and table is not None:
        if joined.specimen_id not in table.specimens:
            joined.warnings.append(f"{path.name}: no row for specimen {joined.specimen_id!r} in {table.path.name}")
        elif joined.label is None and joined.specimen_id in table.labels:
            joined.label, joined.label_source = table.labels[joined.specimen_id], "table"
    if joined.label is None and options.label_from_folder:
        joined.label, joined.label_source = path.parent.name, "folder"
    return joined


class _Batch:
    """Pending writes, flushed as one transaction."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.bundles: list[ImageBundle] = []
        self.files: list[ingest_records.ImageFile] = []
        self.touched: list[Path] = []
        self.fills: list[tuple[str, _Joined]] = []
        self.shas: set[str] = set()

    def write(self) -> None:
        """Write everything pending (inside the caller's transaction)."""
        catalog = self.catalog
        if self.bundles:
            catalog.add_images(self.bundles, new_only=True)  # checked in this transaction by _decide_all
        if self.files:
            catalog.record_files(self.files)
        if self.touched:
            catalog.touch_files(self.touched, utcnow())
        if self.fills:
            catalog.fill_image_labels([(sha, j.specimen_id, j.label, j.label_source) for sha, j in self.fills])
        self.bundles, self.files, self.touched, self.fills, self.shas = [], [], [], [], set()


class Ingestor:
    """Runs one ingest over a list of files.

    Files are surveyed ``SURVEY_CHUNK`` at a time (one stat each, one catalog
    query): unchanged paths are refreshed in one transaction without being
    read; the others are read once each by :class:`~fairmicro.catalog.workers.Workers`
    (hashed while read, extracted from the same bytes) and written
    ``batch_size`` files per transaction.
    """

    def __init__(
        self,
        catalog: Catalog,
        options: IngestOptions,
        extractors: tuple[Extractor, ...] | None = None,
        workers: Workers | None = None,
    ) -> None:
        self.catalog = catalog
        self.options = options
        self.extractors = extractors
        self.workers = workers or Workers(options.jobs, extractors)
        self.batch = _Batch(catalog)
        self.lease = Lease(catalog)
        self.writer: BatchWriter[FileOutcome] = BatchWriter()

    def run(
        self,
        files: list[Path],
        on_file: Callable[[FileOutcome], None] | None = None,
        skipped: Sequence[tuple[str, str]] = (),
    ) -> IngestSummary:
        """Ingest ``files``, a batch at a time; returns the summary.

        ``skipped`` (path, reason) entries found while collecting ``files`` are
        carried into the summary.
        """
        summary = IngestSummary(skipped=list(skipped))
        self._store_specimens(summary)
        with contextlib.closing(self.workers), contextlib.closing(self.writer):
            for start in range(0, len(files), SURVEY_CHUNK):
                for outcome in self._survey_chunk(files[start : start + SURVEY_CHUNK]):
                    self._count(outcome, summary)
                    if on_file:
                        on_file(outcome)
        return summary

    def _store_specimens(self, summary: IngestSummary) -> None:
        table = self.options.specimens
        if table is None:
            return
        summary.warnings.extend(table.warnings)

        def work() -> None:  # the table's specimens and lab columns, all or nothing
            self.catalog.upsert_specimens(table.specimens.values())
            self.catalog.upsert_specimen_columns(table.columns)
            self.catalog.refresh_image_metadata()

        atomic(self.catalog, work, what="specimen table")

    @staticmethod
    def _count(outcome: FileOutcome, summary: IngestSummary) -> None:
        summary.warnings.extend(outcome.warnings)
        if outcome.status == "ingested":
            summary.ingested += 1
        elif outcome.status == "present":
            summary.present += 1
        else:
            summary.rejected.append((str(outcome.path), outcome.reason or "rejected"))

    def _survey_chunk(self, paths: list[Path]) -> Iterator[FileOutcome]:
        """Survey ``paths``; yield the outcomes of unchanged and unusable files, then of each batch read."""
        surveyed = self._survey(paths)
        unchanged = [
            (s, s.previous_sha)
            for s in surveyed
            if isinstance(s, _Surveyed) and s.unchanged and s.previous_sha is not None
        ]
        yield from (s for s in surveyed if isinstance(s, FileOutcome))
        if unchanged:
            yield from self._commit(lambda: [self._present(s, sha) for s, sha in unchanged])
            log.debug("refreshed %d unchanged files", len(unchanged))
        changed = [s for s in surveyed if isinstance(s, _Surveyed) and not s.unchanged]
        if not changed:
            return
        joins = [join_specimen(s.path, self.options) for s in changed]
        results = self.workers.read(_task(s, j) for s, j in zip(changed, joins, strict=True))
        start = 0
        for size in batch_sizes(len(changed), self.options.batch_size):  # batch k is written while k + 1 is read
            items = list(zip(changed[start : start + size], joins[start : start + size], strict=True))
            start += size
            with self.lease.idle(self.writer.wait):
                read = [(s, j, next(results)) for s, j in items]
            yield from self.writer.submit(partial(self._commit_batch, read))
        yield from self.writer.settle()

    def _commit_batch(self, read: list[tuple[_Surveyed, _Joined, ReadResult]]) -> list[FileOutcome]:
        outcomes = self._commit(partial(self._decide_all, read))
        log.debug("committed batch of %d files", len(read))
        return outcomes

    def _survey(self, paths: list[Path]) -> list[_Surveyed | FileOutcome]:
        """One stat per file, then one catalog query for the lot."""
        stated = [_stat(path) for path in paths]
        regular = [(str(s.path), s.size, s.mtime) for s in stated if isinstance(s, _Surveyed)]
        seen = self.catalog.seen_files(regular) if regular else {}
        return [
            replace(s, previous_sha=seen[key][0], unchanged=seen[key][1])
            if isinstance(s, _Surveyed) and (key := str(s.path)) in seen
            else s
            for s in stated
        ]

    def _commit(self, decide: Callable[[], list[FileOutcome]]) -> list[FileOutcome]:
        """Decide outcomes and write them in one transaction (existence checked inside it)."""
        catalog = self.catalog

        def work() -> list[FileOutcome]:  # run again after a shared catalog's write conflict
            self.batch = _Batch(catalog)
            outcomes = decide()
            self.batch.write()
            return outcomes

        try:
            outcomes = atomic(catalog, work, what="batch")
        except duckdb.Error as exc:
            raise CatalogError(
                f"{catalog.path}: batch write failed, nothing of it was kept ({first_line(exc)})"
            ) from exc
        return outcomes

    def _decide_all(self, read: list[tuple[_Surveyed, _Joined, ReadResult]]) -> list[FileOutcome]:
        shas = [result.sha256 for _, _, result in read if result.sha256]
        existing = self.catalog.existing_images(shas) if shas else set()
        return [self._decide(surveyed, joined, result, existing) for surveyed, joined, result in read]

    def _decide(self, surveyed: _Surveyed, joined: _Joined, result: ReadResult, existing: set[str]) -> FileOutcome:
        path, sha = surveyed.path, result.sha256
        if sha is None:
            return FileOutcome(path, "rejected", result.error)
        if sha in existing or sha in self.batch.shas:
            return self._present(surveyed, sha, joined)
        if result.error is not None:
            return FileOutcome(path, "rejected", result.error, sha256=sha)
        if result.bundle is None:  # same content as the path's old record, but that image is gone: extract
            result = read_one(_task(replace(surveyed, previous_sha=None), joined), self.extractors)
            if result.bundle is None or result.sha256 != sha:
                return FileOutcome(path, "rejected", result.error or f"{path}: changed while being read")
        bundle = result.bundle
        messages = [f"{path.name}: {w.slot}: {w.message}" for w in bundle.warnings] + joined.warnings
        if self.options.strict and messages:
            return FileOutcome(path, "rejected", f"{path}: --strict: {messages[0]}", messages)
        self.batch.bundles.append(bundle)
        self.batch.shas.add(sha)
        self.batch.files.append(_file_row(surveyed, sha))
        return FileOutcome(path, "ingested", warnings=messages, sha256=sha)

    def _present(self, surveyed: _Surveyed, sha: str, joined: _Joined | None = None) -> FileOutcome:
        """A file whose image is catalogued already: only its path is recorded (or refreshed)."""
        if surveyed.unchanged:
            self.batch.touched.append(surveyed.path)
        else:
            self.batch.files.append(_file_row(surveyed, sha))
        joined = joined or join_specimen(surveyed.path, self.options)
        if joined.specimen_id or joined.label:
            self.batch.fills.append((sha, joined))
        return FileOutcome(surveyed.path, "present", sha256=sha)


def _stat(path: Path) -> _Surveyed | FileOutcome:
    """Size and mtime of a regular file (one stat), or why it cannot be ingested."""
    if not_utf8(path):
        return FileOutcome(path, "rejected", f"{path}: file name is not valid UTF-8; rename the file to ingest it")
    try:
        info = os.stat(path)
    except OSError as exc:
        return FileOutcome(path, "rejected", f"{path}: cannot be read ({exc.strerror or exc})")
    if not stat.S_ISREG(info.st_mode):
        return FileOutcome(path, "rejected", f"{path}: {not_regular(info.st_mode)}")
    return _Surveyed(path, info.st_size, _utc(info.st_mtime), mtime_ns=info.st_mtime_ns)


def _task(surveyed: _Surveyed, joined: _Joined) -> ReadTask:
    return ReadTask(
        surveyed.path,
        surveyed.size,
        previous_sha=surveyed.previous_sha,
        specimen_id=joined.specimen_id,
        label=joined.label,
        label_source=joined.label_source,
        mtime_ns=surveyed.mtime_ns,
    )


def _file_row(surveyed: _Surveyed, sha: str) -> ingest_records.ImageFile:
    return ingest_records.ImageFile(
        path=str(surveyed.path),
        image_sha256=sha,
        size_bytes=surveyed.size,
        modified_at=surveyed.mtime,
        last_seen_at=utcnow(),
    )


def ingest(
    catalog: Catalog,
    paths: Iterable[Path],
    options: IngestOptions | None = None,
    on_file: Callable[[FileOutcome], None] | None = None,
) -> IngestSummary:
    """Ingest files and folders into ``catalog``."""
    found = collect_files(paths)
    return Ingestor(catalog, options or IngestOptions()).run(found.files, on_file, found.skipped)

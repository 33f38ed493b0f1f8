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
import re
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from fairmicro.catalog.connection import connect, others_waiting
from fairmicro.catalog.records import FileFacts, ImageBundle, build_bundle
from fairmicro.catalog.specimens import SpecimenTable
from fairmicro.catalog.store import Catalog, KnownFile, utcnow
from fairmicro.catalog.walk import collect_files, json_text, not_regular, not_utf8
from fairmicro.catalog.workers import Extracted, Workers
from fairmicro.errors import CatalogError, FairmicroError, first_line
from fairmicro.extractors.base import Extraction, Extractor
from fairmicro.extractors.registry import extract_file, registered_extractors
from fairmicro.hashing import sha256_file
from fairmicro.schema import models

log = logging.getLogger(__name__)


@dataclass
class IngestOptions:
    """How files are joined to specimens and labels."""

    specimens: SpecimenTable | None = None
    specimen_pattern: re.Pattern[str] | None = None
    label_from_folder: bool = False
    strict: bool = False
    batch_size: int = 50
    jobs: int = 1  # workers for hashing (threads) and extraction (processes); see catalog.workers


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


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class _Surveyed:
    """A file after the cheap checks: its size, mtime and sha256."""

    path: Path
    size: int
    mtime: datetime
    sha: str
    unchanged: bool = False


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
        self.files: list[models.ImageFile] = []
        self.fills: list[tuple[str, _Joined]] = []
        self.shas: set[str] = set()

    def flush(self) -> set[str]:
        """Write the batch in one transaction; returns the sha256 of images another process added meanwhile."""
        if not self.files:
            return set()
        catalog = self.catalog
        try:
            with catalog.transaction():
                shas = [b.image.sha256 for b in self.bundles]
                taken = catalog.existing_images(shas) if shas else set()
                catalog.add_images([b for b in self.bundles if b.image.sha256 not in taken])
                catalog.record_files(self.files)
                catalog.fill_image_labels([(sha, j.specimen_id, j.label, j.label_source) for sha, j in self.fills])
        except duckdb.Error as exc:
            raise CatalogError(f"{catalog.path}: batch write failed, nothing of it was kept ({first_line(exc)})") from exc
        log.debug("committed batch of %d files", len(self.files))
        self.bundles, self.files, self.fills, self.shas = [], [], [], set()
        return taken


LEASE_S = 0.5  # an ingest holding the catalog this long lets waiting processes in during its next file-reading phase
MIN_GAP_S = 0.05  # for at least this long, so that waiting readers (polling every 10-50 ms) get their turn


class _Lease:
    """Releases the catalog file between batches so other processes (queries, ingests) get turns."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.since = time.monotonic()
        self.releasable = not catalog.read_only and catalog.path.name != ":memory:" and catalog.path.is_file()

    @contextlib.contextmanager
    def idle(self) -> Iterator[None]:
        """Run a block that needs no catalog; the file is closed during it when the lease is due."""
        if not self.releasable or time.monotonic() - self.since < LEASE_S or not others_waiting(self.catalog.path):
            yield
            return
        self.catalog.con.close()
        start = time.monotonic()
        yield  # on an exception the catalog stays closed: the run is over
        time.sleep(max(0.0, MIN_GAP_S - (time.monotonic() - start)))
        self.catalog.con = connect(self.catalog.path, read_only=False)
        self.since = time.monotonic()


class Ingestor:
    """Runs one ingest over a list of files."""

    def __init__(self, catalog: Catalog, options: IngestOptions, extractors: tuple[Extractor, ...] | None = None) -> None:
        self.catalog = catalog
        self.options = options
        self.extractors = extractors or registered_extractors()
        self.batch = _Batch(catalog)
        self.lease = _Lease(catalog)
        self.workers = Workers(options.jobs, extractors)
        self.prefetched: dict[Path, Extracted] = {}

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
        with contextlib.closing(self.workers):
            self._run_batches(files, summary, on_file)
        return summary

    def _run_batches(
        self, files: list[Path], summary: IngestSummary, on_file: Callable[[FileOutcome], None] | None
    ) -> None:
        for start in range(0, len(files), self.options.batch_size):
            outcomes = self._chunk(files[start : start + self.options.batch_size])
            taken = self.batch.flush()
            for outcome in outcomes:
                if outcome.status == "ingested" and outcome.sha256 in taken:
                    outcome.status = "present"  # another ingest catalogued it first
                self._count(outcome, summary)
                if on_file:
                    on_file(outcome)

    def _store_specimens(self, summary: IngestSummary) -> None:
        table = self.options.specimens
        if table is None:
            return
        summary.warnings.extend(table.warnings)
        with self.catalog.transaction():  # the table's specimens and lab columns, all or nothing
            self.catalog.upsert_specimens(table.specimens.values())
            self.catalog.upsert_specimen_columns(table.columns)
            self.catalog.refresh_image_metadata()

    @staticmethod
    def _count(outcome: FileOutcome, summary: IngestSummary) -> None:
        summary.warnings.extend(outcome.warnings)
        if outcome.status == "ingested":
            summary.ingested += 1
        elif outcome.status == "present":
            summary.present += 1
        else:
            summary.rejected.append((str(outcome.path), outcome.reason or "rejected"))

    def _chunk(self, paths: list[Path]) -> list[FileOutcome]:
        """Survey a chunk (stat, skip unchanged, hash the rest), then ingest each file.

        The catalog is asked twice per chunk, not twice per file.
        """
        storable = [path for path in paths if not not_utf8(path)]
        known = self.catalog.known_files(storable) if storable else {}
        with self.lease.idle():
            surveyed = self.workers.map_threads(lambda path: self._survey(path, known.get(str(path))), paths)
        hashed = [s.sha for s in surveyed if isinstance(s, _Surveyed) and not s.unchanged]
        existing = self.catalog.existing_images(hashed) if hashed else set()
        with self.lease.idle():
            self._prefetch(surveyed, existing)
            return [s if isinstance(s, FileOutcome) else self._one(s, existing) for s in surveyed]

    def _prefetch(self, surveyed: list[_Surveyed | FileOutcome], existing: set[str]) -> None:
        """Extract the chunk's new images in the worker processes (``--jobs`` > 1)."""
        firsts: dict[str, Path] = {}
        for s in surveyed:
            if isinstance(s, _Surveyed) and not s.unchanged and s.sha not in existing | self.batch.shas:
                firsts.setdefault(s.sha, s.path)
        self.prefetched = self.workers.extract(firsts.values())

    @staticmethod
    def _survey(path: Path, known: KnownFile | None) -> _Surveyed | FileOutcome:
        if not_utf8(path):
            return FileOutcome(path, "rejected", f"{path}: file name is not valid UTF-8; rename the file to ingest it")
        try:
            info = path.stat()
            if not stat.S_ISREG(info.st_mode):
                return FileOutcome(path, "rejected", f"{path}: {not_regular(info.st_mode)}")
            size, mtime = info.st_size, _mtime(path)
            if known and known.size_bytes == size and known.modified_at == mtime:
                return _Surveyed(path, size, mtime, known.sha256, unchanged=True)
            return _Surveyed(path, size, mtime, sha256_file(path))
        except OSError as exc:
            return FileOutcome(path, "rejected", f"{path}: cannot be read ({exc.strerror or exc})")

    def _one(self, surveyed: _Surveyed, existing: set[str]) -> FileOutcome:
        try:
            return self._ingest_file(surveyed, existing)
        except FairmicroError as exc:
            return FileOutcome(surveyed.path, "rejected", str(exc))
        except OSError as exc:
            return FileOutcome(surveyed.path, "rejected", f"{surveyed.path}: cannot be read ({exc.strerror or exc})")

    def _ingest_file(self, surveyed: _Surveyed, existing: set[str]) -> FileOutcome:
        path, sha, size, mtime = surveyed.path, surveyed.sha, surveyed.size, surveyed.mtime
        joined = join_specimen(path, self.options)
        if surveyed.unchanged or sha in existing or sha in self.batch.shas:
            return self._already_present(path, sha, size, mtime, joined)
        bundle = self._extract(path, sha, size, joined)
        messages = [f"{path.name}: {w.slot}: {w.message}" for w in bundle.warnings] + joined.warnings
        if self.options.strict and messages:
            return FileOutcome(path, "rejected", f"{path}: --strict: {messages[0]}", messages)
        self.batch.bundles.append(bundle)
        self.batch.shas.add(sha)
        self.batch.files.append(self._file_row(path, sha, size, mtime))
        return FileOutcome(path, "ingested", warnings=messages, sha256=sha)

    def _already_present(self, path: Path, sha: str, size: int, mtime: datetime, joined: _Joined) -> FileOutcome:
        self.batch.files.append(self._file_row(path, sha, size, mtime))
        if joined.specimen_id or joined.label:
            self.batch.fills.append((sha, joined))
        return FileOutcome(path, "present")

    def _extract(self, path: Path, sha: str, size: int, joined: _Joined) -> ImageBundle:
        extractor, extraction = self._extracted(path)
        return build_bundle(
            extraction,
            FileFacts(path, sha, size),
            extractor=extractor.name,
            extractor_version=extractor.version,
            specimen_id=joined.specimen_id,
            label=joined.label,
            label_source=joined.label_source,
        )

    def _extracted(self, path: Path) -> tuple[Extractor, Extraction]:
        """The prefetched extraction of ``path`` (re-raising its error), else extract it here."""
        result = self.prefetched.pop(path, None)
        if result is None:
            return extract_file(path, self.extractors)
        if isinstance(result, BaseException):
            raise result
        name, extraction = result
        return next(e for e in self.extractors if e.name == name), extraction

    @staticmethod
    def _file_row(path: Path, sha: str, size: int, mtime: datetime) -> models.ImageFile:
        return models.ImageFile(path=str(path), image_sha256=sha, size_bytes=size, modified_at=mtime, last_seen_at=utcnow())


def ingest(
    catalog: Catalog,
    paths: Iterable[Path],
    options: IngestOptions | None = None,
    on_file: Callable[[FileOutcome], None] | None = None,
) -> IngestSummary:
    """Ingest files and folders into ``catalog``."""
    found = collect_files(paths)
    return Ingestor(catalog, options or IngestOptions()).run(found.files, on_file, found.skipped)

"""Ingest: files -> extractor -> validated records -> catalog, in atomic batches.

Content-addressed and incremental: a path whose size and mtime are unchanged
is skipped without hashing; a file whose sha256 is already catalogued (the same
file again, or a renamed copy) adds only its path. Each batch is one
transaction, so killing the process loses at most the open batch and a rerun
finishes the job without duplicates.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from fairmicro.catalog.records import FileFacts, ImageBundle, build_bundle
from fairmicro.catalog.specimens import SpecimenTable
from fairmicro.catalog.store import Catalog, KnownFile, utcnow
from fairmicro.errors import CatalogError, FairmicroError, first_line
from fairmicro.extractors.base import Extractor
from fairmicro.extractors.registry import extract_file, registered_extractors
from fairmicro.extractors.source import IMAGE_SUFFIXES
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


@dataclass
class FileOutcome:
    """What happened to one file."""

    path: Path
    status: str  # "ingested" | "present" | "rejected"
    reason: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class IngestSummary:
    """Closing summary of an ingest run."""

    ingested: int = 0
    present: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """Nothing could be ingested (already-present files count as success)."""
        return self.ingested + self.present == 0

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form for ``--json``."""
        return {
            "ingested": self.ingested,
            "already_present": self.present,
            "rejected": [{"path": p, "reason": r} for p, r in self.rejected],
            "warnings": self.warnings,
        }


def iter_image_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Files named on the command line, and image files found under folders (sorted)."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                hidden = any(part.startswith(".") for part in child.relative_to(path).parts)
                if child.is_file() and not hidden and child.suffix.lower() in IMAGE_SUFFIXES:
                    yield child.absolute()
        else:
            yield path.absolute()


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
    row = table.files.get(path.name) if table else None
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

    def flush(self) -> None:
        if not self.files:
            return
        catalog = self.catalog
        try:
            with catalog.transaction():
                catalog.add_images(self.bundles)
                catalog.record_files(self.files)
                catalog.fill_image_labels([(sha, j.specimen_id, j.label, j.label_source) for sha, j in self.fills])
        except duckdb.Error as exc:
            raise CatalogError(f"{catalog.path}: batch write failed, nothing of it was kept ({first_line(exc)})") from exc
        log.debug("committed batch of %d files", len(self.files))
        self.bundles, self.files, self.fills, self.shas = [], [], [], set()


class Ingestor:
    """Runs one ingest over a list of files."""

    def __init__(self, catalog: Catalog, options: IngestOptions, extractors: tuple[Extractor, ...] | None = None) -> None:
        self.catalog = catalog
        self.options = options
        self.extractors = extractors or registered_extractors()
        self.batch = _Batch(catalog)

    def run(self, files: list[Path], on_file: Callable[[FileOutcome], None] | None = None) -> IngestSummary:
        """Ingest ``files``, a batch at a time; returns the summary."""
        summary = IngestSummary()
        self._store_specimens(summary)
        for start in range(0, len(files), self.options.batch_size):
            for outcome in self._chunk(files[start : start + self.options.batch_size]):
                self._count(outcome, summary)
                if on_file:
                    on_file(outcome)
            self.batch.flush()
        return summary

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
        known = self.catalog.known_files(paths)
        surveyed = [self._survey(path, known.get(str(path))) for path in paths]
        hashed = [s.sha for s in surveyed if isinstance(s, _Surveyed) and not s.unchanged]
        existing = self.catalog.existing_images(hashed) if hashed else set()
        return [s if isinstance(s, FileOutcome) else self._one(s, existing) for s in surveyed]

    @staticmethod
    def _survey(path: Path, known: KnownFile | None) -> _Surveyed | FileOutcome:
        try:
            size, mtime = path.stat().st_size, _mtime(path)
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
        return FileOutcome(path, "ingested", warnings=messages)

    def _already_present(self, path: Path, sha: str, size: int, mtime: datetime, joined: _Joined) -> FileOutcome:
        self.batch.files.append(self._file_row(path, sha, size, mtime))
        if joined.specimen_id or joined.label:
            self.batch.fills.append((sha, joined))
        return FileOutcome(path, "present")

    def _extract(self, path: Path, sha: str, size: int, joined: _Joined) -> ImageBundle:
        extractor, extraction = extract_file(path, self.extractors)
        return build_bundle(
            extraction,
            FileFacts(path, sha, size),
            extractor=extractor.name,
            extractor_version=extractor.version,
            specimen_id=joined.specimen_id,
            label=joined.label,
            label_source=joined.label_source,
        )

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
    return Ingestor(catalog, options or IngestOptions()).run(list(iter_image_files(paths)), on_file)

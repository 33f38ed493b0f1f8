"""Ingest as a library call: the body of ``fairmicro ingest`` and of :meth:`fairmicro.Catalog.ingest`.

Every option is checked before the catalog is opened or a file is read; the
result is an :class:`IngestReport` that the CLI prints (or dumps as JSON) and
a notebook displays.
"""

from __future__ import annotations

import contextlib
import html
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from fairmicro.errors import FairmicroError

if TYPE_CHECKING:
    from fairmicro.catalog.ingest import FileOutcome, IngestOptions, IngestSummary
    from fairmicro.catalog.mask_pairing import MaskOptions, MaskSummary
    from fairmicro.catalog.store import Catalog as Store

PathLike = Union[str, "os.PathLike[str]"]
Progress = Callable[[int], AbstractContextManager[Callable[[], None]]]
"""Given the number of files to read, a context manager yielding the callable called after each file."""


@dataclass(frozen=True)
class IngestReport:
    """What an ingest did: counts, rejected and skipped files with their reasons, warnings, masks.

    Attributes
    ----------
    summary
        The ingest's own summary (``rejected``/``skipped``: ``(path, reason)`` pairs).
    masks
        What mask pairing did, when ``masks`` was given; else None.
    catalog
        The catalog file written to.
    strict
        Whether the ingest ran with ``strict`` (rejected files and warnings then count as failures).
    """

    summary: IngestSummary
    masks: MaskSummary | None
    catalog: Path
    strict: bool = False

    @property
    def ingested(self) -> int:
        """Images added by this ingest."""
        return self.summary.ingested

    @property
    def already_present(self) -> int:
        """Files whose image the catalog already held (unchanged, renamed or copied)."""
        return self.summary.present

    @property
    def rejected(self) -> list[tuple[str, str]]:
        """(path, reason) of files that could not be read or validated."""
        return self.summary.rejected

    @property
    def skipped(self) -> list[tuple[str, str]]:
        """(path, reason) of entries never opened (FIFOs, dangling links, unreadable folders, ...)."""
        return self.summary.skipped

    @property
    def warnings(self) -> list[str]:
        """Values that could not be parsed, specimens without a table row, ..."""
        return self.summary.warnings

    @property
    def ok(self) -> bool:
        """False when nothing could be ingested, a mask was rejected, or (``strict``) anything was."""
        masks = self.masks
        mask_failed = bool(masks and (masks.rejected or (self.strict and masks.orphans)))
        strict_failed = self.strict and bool(self.summary.rejected or self.summary.warnings)
        return not (self.summary.failed or mask_failed or strict_failed)

    def to_dict(self) -> dict[str, object]:
        """The JSON form ``fairmicro ingest --json`` prints."""
        extra = {"masks": self.masks.to_dict()} if self.masks else {}
        return {**self.summary.to_dict(), **extra}

    def lines(self) -> list[str]:
        """The human summary: counts, then one line per rejected or skipped file and per warning."""
        from fairmicro.catalog.walk import display

        summary = self.summary
        counts = (
            f"ingested {summary.ingested}, already present {summary.present}, rejected {len(summary.rejected)}, "
            f"skipped {len(summary.skipped)}"
        )
        lines = [counts]
        lines.extend(f"  rejected: {display(reason)}" for _path, reason in summary.rejected)
        lines.extend(f"  skipped: {display(path)}: {reason}" for path, reason in summary.skipped)
        if summary.warnings:
            lines.append(f"warnings ({len(summary.warnings)}):")
            lines.extend(f"  {display(warning)}" for warning in summary.warnings)
        return lines + (self.masks.lines() if self.masks else [])

    def __repr__(self) -> str:
        return "IngestReport(" + "\n".join(self.lines()) + ")"

    def _repr_html_(self) -> str:
        return "<pre>" + html.escape("\n".join(self.lines())) + "</pre>"


def as_paths(paths: PathLike | Iterable[PathLike]) -> list[Path]:
    """One path or several as a list (a single string is one path, not its characters)."""
    if isinstance(paths, (str, os.PathLike)):
        return [Path(paths)]
    if isinstance(paths, bytes):
        raise FairmicroError(f"paths {paths!r}: give str or pathlib.Path, not bytes")
    listed = [Path(p) for p in paths]
    if not listed:
        raise FairmicroError("no paths given: name the image files or folders to ingest")
    return listed


def specimen_pattern(pattern: str | re.Pattern[str] | None) -> re.Pattern[str] | None:
    """The ``--specimen-pattern`` regex, checked for a ``specimen_id`` group."""
    if pattern is None:
        return None
    text = pattern.pattern if isinstance(pattern, re.Pattern) else pattern
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise FairmicroError(f"--specimen-pattern {text!r} is not a valid regex ({exc})") from exc
    if "specimen_id" not in compiled.groupindex:
        raise FairmicroError(f"--specimen-pattern {text!r} needs a named group (?P<specimen_id>...)")
    return compiled


def ingest_options(
    specimens: PathLike | None = None,
    specimen_pattern_text: str | re.Pattern[str] | None = None,
    label_from_folder: bool = False,
    label_column: str | None = None,
    column_map: Mapping[str, str] | Sequence[str] | None = None,
    map_file: PathLike | None = None,
    strict: bool = False,
    batch_size: int = 200,
    jobs: int = 1,
) -> IngestOptions:
    """The checked :class:`~fairmicro.catalog.ingest.IngestOptions` (specimen table read and validated)."""
    from fairmicro.catalog.ingest_options import IngestOptions

    table = None
    pairs = [f"{k}={v}" for k, v in column_map.items()] if isinstance(column_map, Mapping) else column_map
    if specimens or pairs or map_file:  # the specimen machinery (pydantic, units) only when asked for
        from fairmicro.catalog.specimens import load_specimen_table, parse_mapping

        mapping = parse_mapping(pairs or (), None if map_file is None else Path(map_file))
        if mapping and not specimens:
            raise FairmicroError("--map/--map-file need --specimens (the table whose columns they map)")
        table = load_specimen_table(Path(specimens), label_column, mapping) if specimens else None
    _check_counts(batch_size, jobs)
    options = IngestOptions(
        specimens=table,
        specimen_pattern=specimen_pattern(specimen_pattern_text),
        label_from_folder=label_from_folder,
        strict=strict,
        batch_size=batch_size,
        jobs=jobs,
    )
    if label_column and not specimens:
        raise FairmicroError("--label-column needs --specimens (the table that holds the column)")
    if strict and options.specimens and options.specimens.warnings:
        raise FairmicroError(f"--strict: {options.specimens.warnings[0]}")
    return options


def _check_counts(batch_size: int, jobs: int) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise FairmicroError(f"--batch-size {batch_size!r}: expected a whole number, 1 or more")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 0:
        raise FairmicroError(f"--jobs {jobs!r}: expected a whole number of processes, 0 (automatic) or more")


def mask_options(
    masks: PathLike | None,
    pattern: str | None = None,
    classes: str | Sequence[str] | None = None,
    colors: str | Mapping[str, str] | None = None,
) -> MaskOptions | None:
    """The ``--masks`` settings (checked before anything is ingested), or None without masks.

    With a ``pattern`` and no ``masks`` folder, the masks are among the image files found.
    """
    if masks is None and not pattern:
        if classes or colors:
            raise FairmicroError(
                "--mask-classes and --mask-colors need --masks DIR (or --mask-pattern, for masks beside the images)"
            )
        return None
    from fairmicro.catalog.mask_pairing import MaskOptions
    from fairmicro.catalog.masks import parse_mask_classes, parse_mask_colors

    if classes and colors:
        raise FairmicroError("give either --mask-classes (label maps) or --mask-colors (colour maps), not both")
    class_text = classes if classes is None or isinstance(classes, str) else ",".join(classes)
    color_text = (
        colors if colors is None or isinstance(colors, str) else ",".join(f"{k}={v}" for k, v in colors.items())
    )
    class_map = parse_mask_classes(class_text) if class_text else parse_mask_colors(color_text) if color_text else None
    return MaskOptions(None if masks is None else Path(masks), pattern, class_map)


@contextlib.contextmanager
def _no_progress(_total: int) -> Iterator[Callable[[], None]]:
    yield lambda: None


def ingest_files(
    catalog: PathLike | None,
    paths: PathLike | Iterable[PathLike],
    options: IngestOptions,
    masks: MaskOptions | None = None,
    *,
    progress: Progress | None = None,
    on_file: Callable[[FileOutcome], None] | None = None,
) -> IngestReport:
    """Ingest ``paths`` (files and folders) into the catalog file ``catalog``, then pair masks.

    Parameters
    ----------
    catalog
        Catalog file (created when missing); None: ``$FAIRMICRO_CATALOG`` or ``./fairmicro.duckdb``.
    options
        From :func:`ingest_options`.
    masks
        From :func:`mask_options`.
    progress
        See :data:`Progress`.
    on_file
        Called with each file's outcome (status ``ingested``, ``present`` or ``rejected``).

    Raises
    ------
    FairmicroError
        When the inputs hold no image file (nothing is opened), or the catalog cannot be opened or written.
    """
    from fairmicro.catalog.walk import collect_files
    from fairmicro.catalog.workers import Workers

    roots = as_paths(paths)
    found = collect_files(roots)
    mask_files: list[Path] = []
    if masks is not None:
        from fairmicro.catalog.mask_pairing import split_files

        found, mask_files = split_files(found, roots, masks)
    if not found.files:
        from fairmicro.catalog.walk import no_files_message

        raise FairmicroError(no_files_message(roots, found.skipped))
    seen: list[tuple[Path, str]] = []  # (path, sha256) of every image this ingest has in the catalog
    workers = Workers(options.jobs)  # worker processes start when enough new files need reading
    with contextlib.closing(workers):
        if _new_catalog(catalog):  # every file is new: read them while the catalog is being created
            workers.prefetch(found.files)
        from fairmicro.catalog.store import Catalog as Store

        with (
            Store.open(None if catalog is None else os.fspath(catalog)) as cat,
            (progress or _no_progress)(len(found.files)) as step,
        ):
            summary = _run(cat, options, workers, found, lambda outcome: _seen(outcome, seen, step, on_file))
            masked = _pair_masks(cat, seen, mask_files, masks)
            path = cat.path
    return IngestReport(summary, masked, path, options.strict)


def _new_catalog(catalog: PathLike | None) -> bool:
    """Whether the catalog file does not exist yet (a shared ``ducklake:`` catalog never counts as new)."""
    from fairmicro.catalog.connection import resolve_catalog_path

    path = resolve_catalog_path(None if catalog is None else os.fspath(catalog))
    return not str(path).startswith("ducklake:") and not os.path.lexists(path)


def _run(cat: Store, options: IngestOptions, workers: Any, found: Any, on_file: Callable[[Any], None]) -> IngestSummary:
    from fairmicro.catalog.ingest import Ingestor

    return Ingestor(cat, options, workers=workers).run(found.files, on_file=on_file, skipped=found.skipped)


def _seen(
    outcome: FileOutcome,
    seen: list[tuple[Path, str]],
    step: Callable[[], None],
    on_file: Callable[[FileOutcome], None] | None,
) -> None:
    """Progress, and the images a mask may pair with (ingested now or already present)."""
    step()
    if outcome.sha256 and outcome.status in ("ingested", "present"):
        seen.append((outcome.path, outcome.sha256))
    if on_file is not None:
        on_file(outcome)


def _pair_masks(
    cat: Store, seen: list[tuple[Path, str]], mask_files: list[Path], options: MaskOptions | None
) -> MaskSummary | None:
    if options is None:
        return None
    from fairmicro.catalog.mask_pairing import ingest_masks

    return ingest_masks(cat, seen, mask_files, options)

"""Discover extractors through the ``fairmicro.extractors`` entry-point group.

Built-ins are registered in ``pyproject.toml`` exactly like third-party
plugins, so ``fairmicro plugins`` lists both and the order is explicit.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING

from fairmicro.errors import FairmicroError, UnreadableFileError, UnsupportedFileError, first_line
from fairmicro.extractors.base import Extraction, Extractor, SourceFile
from fairmicro.extractors.source import open_source, verify_pixels

if TYPE_CHECKING:
    from fairmicro.hashing import FileEnds

GROUP = "fairmicro.extractors"
log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def registered_extractors() -> tuple[Extractor, ...]:
    """Instantiated extractors, highest priority first (ties by name)."""
    found = []
    for entry in entry_points(group=GROUP):
        try:
            found.append(entry.load()())
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not stop ingest
            log.warning("extractor plugin %s could not be loaded: %s", entry.value, exc)
    if not found:
        raise FairmicroError(
            f"no extractors registered in entry-point group {GROUP!r}; is fairmicro installed (pip install -e .)?"
        )
    return tuple(sorted(found, key=lambda e: (-e.priority, e.name)))


def choose_extractor(source: SourceFile, extractors: tuple[Extractor, ...] | None = None) -> Extractor:
    """The first extractor, by priority, whose ``sniff`` accepts the file."""
    candidates = extractors if extractors is not None else registered_extractors()
    for extractor in candidates:
        if _sniffs(extractor, source):
            return extractor
    tried = ", ".join(e.name for e in candidates)
    raise UnsupportedFileError(
        f"{source.path}: no extractor recognised the file; tried {tried}; run `fairmicro plugins`"
    )


def _sniffs(extractor: Extractor, source: SourceFile) -> bool:
    """``extractor.sniff(source)``, with a failing sniff (a plugin bug) counted as "no"."""
    try:
        return bool(extractor.sniff(source))
    except Exception:  # one broken plugin must not stop ingest for every file
        log.warning("extractor %s: sniff failed on %s", extractor.name, source.path, exc_info=True)
        return False


def extract_file(
    path: Path, extractors: tuple[Extractor, ...] | None = None, data: bytes | FileEnds | None = None
) -> tuple[Extractor, Extraction]:
    """Open ``path`` (or parse ``data``, its bytes already read), pick the extractor, extract, check the pixels.

    With only the :class:`~fairmicro.hashing.FileEnds` of the bytes, raises
    :class:`~fairmicro.hashing.NeedWholeFile` when they do not suffice.

    Raises
    ------
    FairmicroError
        For unreadable, corrupt or unsupported files, and when an extractor
        plugin itself fails (so one bad plugin never stops a batch).
    """
    with open_source(path, data) as source:
        extractor = choose_extractor(source, extractors)
        try:
            extraction = extractor.extract(source)
        except FairmicroError:
            raise
        except Exception as exc:  # a plugin bug must not stop the batch
            log.debug("extractor %s failed on %s", extractor.name, path, exc_info=True)
            raise UnreadableFileError(f"{path}: extractor {extractor.name} failed ({first_line(exc)})") from exc
        verify_pixels(source, extraction.page_index)
    return extractor, extraction

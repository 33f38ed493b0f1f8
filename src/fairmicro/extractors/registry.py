"""Discover extractors through the ``fairmicro.extractors`` entry-point group.

Built-ins are registered in ``pyproject.toml`` exactly like third-party
plugins, so ``fairmicro plugins`` lists both and the order is explicit.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from importlib.metadata import entry_points

from fairmicro.errors import FairmicroError, UnsupportedFileError
from fairmicro.extractors.base import Extractor, SourceFile

GROUP = "fairmicro.extractors"
log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def registered_extractors() -> tuple[Extractor, ...]:
    """Instantiated extractors, highest priority first (ties by name)."""
    found = []
    for entry in entry_points(group=GROUP):
        try:
            found.append(entry.load()())
        except Exception as exc:  # a broken plugin must not stop ingest
            log.warning("extractor plugin %s could not be loaded: %s", entry.value, exc)
    if not found:
        raise FairmicroError(
            f"no extractors registered in entry-point group {GROUP!r}; "
            "is fairmicro installed (pip install -e .)?"
        )
    return tuple(sorted(found, key=lambda e: (-e.priority, e.name)))


def choose_extractor(source: SourceFile, extractors: tuple[Extractor, ...] | None = None) -> Extractor:
    """The first extractor, by priority, whose ``sniff`` accepts the file."""
    candidates = extractors if extractors is not None else registered_extractors()
    for extractor in candidates:
        if extractor.sniff(source):
            return extractor
    tried = ", ".join(e.name for e in candidates)
    raise UnsupportedFileError(
        f"{source.path}: no extractor recognised the file; tried {tried}; run `fairmicro plugins`"
    )

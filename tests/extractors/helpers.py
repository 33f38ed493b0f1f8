"""Small helpers for extractor tests."""

from __future__ import annotations

from pathlib import Path

from fairmicro.extractors.base import Extraction
from fairmicro.extractors.registry import extract_file


def extract(path: Path) -> tuple[str, Extraction]:
    """(extractor name, extraction) for a file, through the registered extractors."""
    extractor, extraction = extract_file(path)
    return extractor.name, extraction


def warned_slots(extraction: Extraction) -> set[str]:
    return {w.slot for w in extraction.warnings}

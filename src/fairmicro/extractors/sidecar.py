"""Extractors whose metadata is vendor text kept beside the image (or in a tag).

Ingest walks image files only; the text file with the image's stem (``.txt``,
``.hdr``) is read here. Its bytes are not part of the image's sha256, so the
sidecar's name is kept in ``vendor_metadata["_source"]`` for provenance.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from fairmicro.extractors.base import Extraction, Extractor, SourceFile
from fairmicro.extractors.source import base_extraction
from fairmicro.extractors.vendortext import (
    count_nuls,
    matching_sidecar,
    read_sidecar,
    restore_damaged_keys,
)

Block = dict[str, Any]


class SidecarExtractor(Extractor):
    """Base of text-block extractors: subclasses find, recognise, parse and map the text."""

    vendor: ClassVar[str] = ""
    sidecar_suffixes: ClassVar[tuple[str, ...]] = (".txt",)

    def candidates(self, source: SourceFile) -> list[Path | None]:
        """Paths the sidecar may have, best first."""
        return [source.sidecar(*self.sidecar_suffixes)]

    def recognises(self, head: str) -> bool:  # pragma: no cover - interface
        """Whether the decoded start of a candidate file is this vendor's text."""
        raise NotImplementedError

    def parse(self, text: str) -> Block:  # pragma: no cover - interface
        """The raw block (kept as ``vendor_metadata``) from the whole text."""
        raise NotImplementedError

    def fill(self, block: Block, extraction: Extraction) -> None:  # pragma: no cover - interface
        """Map the block onto the extraction (mapping table plus derived values)."""
        raise NotImplementedError

    def sidecar_path(self, source: SourceFile) -> Path | None:
        """The recognised sidecar of ``source``, if any (never raises)."""
        return matching_sidecar(self.candidates(source), self.recognises)

    def find_block(self, source: SourceFile) -> tuple[str, Block] | None:
        """(where the text came from, parsed block), or ``None``."""
        path = self.sidecar_path(source)
        if path is None:
            return None
        return f"sidecar {path.name}", self.parse(read_sidecar(path))

    def sniff(self, source: SourceFile) -> bool:
        """An image with a recognised sidecar."""
        try:
            return self.sidecar_path(source) is not None
        except Exception:  # noqa: BLE001 - sniff must never raise
            return False

    def extract(self, source: SourceFile) -> Extraction:
        """Image facts plus the mapped text block."""
        extraction = base_extraction(source)
        extraction.vendor = self.vendor
        found = self.find_block(source)
        if found is None:
            return extraction
        origin, block = found
        extraction.vendor_metadata = {"_source": origin, **block}
        if not block:
            extraction.warn("vendor_metadata", f"{origin}: no {self.vendor} metadata could be read from it")
        nuls = count_nuls(block)
        if nuls:
            extraction.warn(
                "vendor_metadata",
                f"{origin}: NUL bytes inside the text ({nuls} keys or values); those values are left empty",
            )
        self.fill(restore_damaged_keys(block), extraction)
        return extraction

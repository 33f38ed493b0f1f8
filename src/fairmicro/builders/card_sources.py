"""What the source images of a build say about it: instruments, acquisition dates, label sources.

A :class:`SourceFacts` is filled while the build streams its images (one small
record per image, no pixels) and read by the card, the RO-Crate and the
Croissant writers, so "which microscopes, when, labelled how" is worked out
once, from the catalog rows.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePath
from typing import Any

# Where an image label can come from (the schema's LabelSource), in words for the card.
LABEL_SOURCE_TEXT = {
    "folder": "the name of the folder holding the file at ingest (`--label-from-folder`)",
    "table": "a column of the specimen or file table given at ingest (`--label-column`)",
    "manual": "confirmed or corrected by a person in `fairmicro review`",
    "predicted": "suggested by a model run and accepted above a confidence threshold (`fairmicro predict --accept`)",
}
MASK_SOURCE_TEXT = {
    "manual": "drawn by a person (paired with its image at `fairmicro ingest --masks`)",
    "predicted": "predicted by a model run and accepted (`fairmicro predict --accept`)",
}
SPECIMEN_SLOTS = (
    "specimen_id",
    "material",
    "alloy",
    "composition",
    "heat_treatment_temperature_c",
    "heat_treatment_duration_h",
    "cooling_method",
    "etchant",
    "etching_time_s",
)
MEDIA_TYPES = {"tiff": "image/tiff", "png": "image/png", "jpeg": "image/jpeg", "bmp": "image/bmp"}


@dataclass(frozen=True)
class Instrument:
    """One microscope, as the images' vendor metadata names it."""

    vendor: str | None
    model: str | None
    serial: str | None

    @property
    def name(self) -> str:
        """``"Zeiss Sigma"``; ``"unknown instrument"`` when the files name none."""
        return " ".join(p for p in (self.vendor, self.model) if p) or "unknown instrument"

    @property
    def ref(self) -> str:
        """A JSON-LD fragment id, stable for the same vendor, model and serial."""
        text = "-".join(p or "unknown" for p in (self.vendor, self.model, self.serial))
        return "#instrument-" + "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


@dataclass(frozen=True)
class SourceImage:
    """One source image of the build (no pixels, no local path)."""

    sha256: str
    name: str
    media_type: str
    size_bytes: int | None
    instrument: Instrument
    acquired_at: str | None  # ISO 8601, local time as the instrument wrote it
    pixel_size_nm: float | None
    label: str
    label_source: str | None
    specimen_id: str | None
    split: str


@dataclass
class SourceFacts:
    """Per-image facts of a build and the summaries the card, crate and Croissant state."""

    label_column: str = "label"
    task: str = "classification"
    images: list[SourceImage] = field(default_factory=list)

    def add(self, row: Mapping[str, Any], label: str, split: str, label_source: str | None = None) -> None:
        """Record one streamed catalog row (``image_metadata`` columns) with its planned label and split."""
        acquired = row.get("acquired_at")
        if isinstance(acquired, datetime):
            acquired = acquired.isoformat(timespec="seconds")
        fmt = str(row.get("file_format") or "").lower()
        self.images.append(
            SourceImage(
                sha256=row["sha256"],
                name=PurePath(str(row.get("path") or row["sha256"])).name,
                media_type=MEDIA_TYPES.get(fmt, "application/octet-stream"),
                size_bytes=row.get("size_bytes"),
                instrument=Instrument(row.get("vendor"), row.get("instrument_model"), row.get("instrument_serial")),
                acquired_at=str(acquired) if acquired else None,
                pixel_size_nm=row.get("pixel_size_x_nm"),
                label=label,
                label_source=label_source,
                specimen_id=row.get("specimen_id"),
                split=split,
            )
        )

    def instruments(self) -> list[tuple[Instrument, int]]:
        """Each instrument with its number of images, most images first (then by name)."""
        counts = Counter(image.instrument for image in self.images)
        return sorted(counts.items(), key=lambda item: (-item[1], item[0].name, item[0].serial or ""))

    def instrument_dates(self, instrument: Instrument) -> tuple[str, str] | None:
        """First and last acquisition time of ``instrument``'s images (None when none is recorded)."""
        dates = sorted(i.acquired_at for i in self.images if i.instrument == instrument and i.acquired_at)
        return (dates[0], dates[-1]) if dates else None

    def date_range(self) -> tuple[str, str] | None:
        """First and last acquisition time over all images (None when no image records one)."""
        dates = sorted(i.acquired_at for i in self.images if i.acquired_at)
        return (dates[0], dates[-1]) if dates else None

    def undated(self) -> int:
        """Images without an acquisition time."""
        return sum(1 for i in self.images if not i.acquired_at)

    def label_sources(self) -> Counter[str]:
        """Images per label source (``folder``, ``table``, ``manual``, ``predicted``, ``unknown``)."""
        return Counter(i.label_source or "unknown" for i in self.images)

    def label_sources_by_class(self) -> dict[str, Counter[str]]:
        """Images per label source, for each class."""
        table: dict[str, Counter[str]] = defaultdict(Counter)
        for image in self.images:
            table[image.label][image.label_source or "unknown"] += 1
        return dict(table)

    def specimens_per_class(self) -> dict[str, int]:
        """Distinct specimens per class (images without a specimen id count as their own)."""
        specimens: dict[str, set[str]] = defaultdict(set)
        for image in self.images:
            specimens[image.label].add(image.specimen_id or f"image:{image.sha256}")
        return {label: len(ids) for label, ids in specimens.items()}

    def images_per_class(self) -> Counter[str]:
        """Source images per class."""
        return Counter(image.label for image in self.images)

    def pixel_sizes(self) -> tuple[float, float] | None:
        """Smallest and largest pixel size in nm (None when no image has one)."""
        sizes = sorted(i.pixel_size_nm for i in self.images if i.pixel_size_nm)
        return (sizes[0], sizes[-1]) if sizes else None


def label_origin(label_column: str, lab_columns: tuple[str, ...] = ()) -> str:
    """Where the values of ``label_column`` come from: ``"image"``, ``"specimen"`` or ``"catalog"``."""
    if label_column == "label":
        return "image"
    if label_column in SPECIMEN_SLOTS or label_column in lab_columns:
        return "specimen"
    return "catalog"

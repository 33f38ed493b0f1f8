"""Turn an extractor's output into schema-validated records.

The records are those of :mod:`fairmicro.schema.ingest_records`: validated by pydantic-core with
the generated pydantic models' own core schemas, without importing pydantic or the other models.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydantic_core

from fairmicro.errors import ValidationError
from fairmicro.extractors.base import Extraction, FieldWarning
from fairmicro.schema import ingest_records


@dataclass
class ImageBundle:
    """Every validated record one image contributes to the catalog."""

    image: ingest_records.Image
    conditions: ingest_records.ImagingConditions
    instrument: ingest_records.Instrument | None
    sources: list[ingest_records.FieldSource]
    warnings: list[FieldWarning] = field(default_factory=list)


@dataclass(frozen=True)
class FileFacts:
    """What ingest knows about the file itself."""

    path: Path
    sha256: str
    size_bytes: int


def instrument_id(vendor: str | None, model: str | None, serial: str | None) -> str:
    """Stable id for an instrument from vendor, model and serial."""
    key = "|".join(part or "" for part in (vendor, model, serial))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def _instrument(extraction: Extraction, facts: FileFacts) -> ingest_records.Instrument | None:
    """The instrument record; its id is derived from the validated vendor, model and serial."""
    parts = (extraction.vendor, extraction.instrument_model, extraction.instrument_serial)
    if not any(parts):
        return None
    try:
        record = ingest_records.Instrument(
            instrument_id="", vendor=parts[0], instrument_model=parts[1], instrument_serial=parts[2]
        )
    except pydantic_core.ValidationError as exc:
        raise _invalid(facts, "instrument record", exc) from exc
    record.instrument_id = instrument_id(record.vendor, record.instrument_model, record.instrument_serial)
    return record


def _invalid(facts: FileFacts, what: str, exc: pydantic_core.ValidationError) -> ValidationError:
    """The one-line rejection of a file whose ``what`` the schema refuses."""
    err = exc.errors()[0]
    return ValidationError(f"{facts.path}: {what} invalid: {'.'.join(map(str, err['loc']))}: {err['msg']}")


def _validated_conditions(
    sha256: str, conditions: dict[str, Any], warnings: list[FieldWarning]
) -> ingest_records.ImagingConditions:
    """Validate; a value the schema rejects is dropped with a warning, never coerced."""
    values = dict(conditions)
    while True:
        try:
            return ingest_records.ImagingConditions(image_sha256=sha256, **values)
        except pydantic_core.ValidationError as exc:
            bad = {str(err["loc"][0]) for err in exc.errors() if err["loc"]}
            if not bad & values.keys():
                raise ValidationError(f"imaging conditions invalid: {exc.errors()[0]['msg']}") from exc
            for err in exc.errors():
                slot = str(err["loc"][0]) if err["loc"] else ""
                if slot in values:
                    warnings.append(FieldWarning(slot, f"{values[slot]!r} rejected by schema: {err['msg']}"))
                    values.pop(slot)


def build_bundle(
    extraction: Extraction,
    facts: FileFacts,
    *,
    extractor: str,
    extractor_version: str,
    specimen_id: str | None = None,
    label: str | None = None,
    label_source: str | None = None,
) -> ImageBundle:
    """Validate everything one file yields.

    Raises
    ------
    ValidationError
        If the image record itself violates the schema (the file is rejected).
    """
    warnings = list(extraction.warnings)
    conditions = _validated_conditions(facts.sha256, extraction.conditions, warnings)
    dropped = {w.slot for w in warnings} - set(conditions.model_fields_set)
    instrument = _instrument(extraction, facts)
    try:
        image = ingest_records.Image(
            sha256=facts.sha256,
            path=str(facts.path),
            file_format=extraction.file_format,
            size_bytes=facts.size_bytes,
            width_px=extraction.width_px,
            height_px=extraction.height_px,
            bit_depth=extraction.bit_depth,
            channels=extraction.channels,
            page_index=extraction.page_index,
            page_count=extraction.page_count,
            data_bar_height_px=extraction.data_bar_height_px,
            extractor=extractor,
            extractor_version=extractor_version,
            vendor_metadata=extraction.vendor_metadata_json(),
            extraction_warnings=json.dumps([w.__dict__ for w in warnings]) if warnings else None,
            instrument_id=instrument.instrument_id if instrument else None,
            specimen_id=specimen_id,
            label=label,
            label_source=label_source if label else None,
        )
    except pydantic_core.ValidationError as exc:
        raise _invalid(facts, "image record", exc) from exc
    return ImageBundle(image, conditions, instrument, _sources(extraction, facts, dropped), warnings)


def _sources(extraction: Extraction, facts: FileFacts, dropped: set[str]) -> list[ingest_records.FieldSource]:
    """The field trail; an entry the schema refuses (from a plugin extractor) rejects the file."""
    try:
        return [
            ingest_records.FieldSource(
                image_sha256=facts.sha256,
                slot_name=s.slot,
                source_key=s.source_key,
                raw_value=s.raw_value,
                conversion=s.conversion,
            )
            for s in extraction.sources
            if s.slot not in dropped
        ]
    except pydantic_core.ValidationError as exc:
        raise _invalid(facts, "field trail", exc) from exc

"""The metadata columns of a built dataset, taken from the schema.

Every derived artefact (Hugging Face ``Features``, the card's coverage table,
the RO-Crate ``variableMeasured`` list and the Croissant fields) starts from
:func:`dataset_columns`, so a slot added to the schema appears in all of them
without a second column list. Only the few tile columns the builder itself
creates are stated here, in the same :class:`~fairmicro.schema.derive.Column`
form.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

from fairmicro.schema.derive import Column, class_columns

# Schema classes whose slots become dataset columns, in this order (as the
# image_metadata view joins them).
DATASET_CLASSES = ("Image", "Instrument", "ImagingConditions", "Specimen")

# Slots of those classes that stay in the catalog, and why.
EXCLUDED: dict[str, str] = {
    "path": "a path on the ingesting machine, meaningless elsewhere",
    "page_index": "file layout, not image content",
    "page_count": "file layout, not image content",
    "extractor": "catalog provenance",
    "extractor_version": "catalog provenance",
    "vendor_metadata": "raw vendor block, kept in the catalog",
    "extraction_warnings": "catalog provenance",
    "ingested_at": "catalog provenance",
    "instrument_id": "internal catalog key",
    "attributes": "free-form JSON, kept in the catalog",
    "operator": "personal data (instrument login)",
    "label": "replaced by the dataset's ClassLabel column",
    "label_source": "describes the catalog label, not the dataset label",
    "image_sha256": "the Image class's sha256 is used (renamed image_sha256)",
}

# image_metadata column -> dataset column, where the dataset needs a clearer name.
RENAMED = {"sha256": "image_sha256"}

TILE_COLUMNS = (
    Column(
        "tile_x_px",
        "BIGINT",
        "Column of the tile's left edge in the image after data-bar cropping.",
        "{px}",
        True,
        minimum=0,
    ),
    Column(
        "tile_y_px",
        "BIGINT",
        "Row of the tile's top edge in the image after data-bar cropping.",
        "{px}",
        True,
        minimum=0,
    ),
    Column("tile_width_px", "BIGINT", "Width of the tile.", "{px}", True, minimum=1),
    Column("tile_height_px", "BIGINT", "Height of the tile.", "{px}", True, minimum=1),
)

IMAGE_COLUMN = "image"
LABEL_COLUMN = "label"


@lru_cache(maxsize=1)
def metadata_columns() -> tuple[tuple[str, Column], ...]:
    """(image_metadata column, dataset column) pairs taken from the schema, in order."""
    seen: set[str] = set()
    pairs = []
    for class_name in DATASET_CLASSES:
        for column in class_columns(class_name):
            if column.name in EXCLUDED or column.name in seen:
                continue
            seen.add(column.name)
            renamed = RENAMED.get(column.name, column.name)
            pairs.append((column.name, replace(column, name=renamed)))
    return tuple(pairs)


def dataset_columns() -> tuple[Column, ...]:
    """Every typed metadata column of a built dataset (schema slots, then tile columns)."""
    return tuple(column for _, column in metadata_columns()) + TILE_COLUMNS


def source_columns() -> tuple[str, ...]:
    """The image_metadata columns a build reads, in dataset order."""
    return tuple(source for source, _ in metadata_columns())


# DuckDB type -> Hugging Face ``Value`` dtype.
HF_DTYPES = {
    "VARCHAR": "string",
    "JSON": "string",
    "BIGINT": "int64",
    "DOUBLE": "float64",
    "BOOLEAN": "bool",
    "TIMESTAMP": "timestamp[us]",
    "DATE": "date32",
}
# DuckDB type -> name of the ``mlcroissant.DataType`` member (schema.org types).
CROISSANT_TYPES = {
    "VARCHAR": "TEXT",
    "JSON": "TEXT",
    "BIGINT": "INTEGER",
    "DOUBLE": "FLOAT",
    "BOOLEAN": "BOOL",
    "TIMESTAMP": "DATETIME",
    "DATE": "DATE",
}


def unit_label(column: Column) -> str:
    """The UCUM unit for display, '' for dimensionless or unitless columns."""
    return "" if not column.unit or column.unit == "1" else column.unit

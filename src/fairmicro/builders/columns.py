"""The metadata columns of a built dataset, taken from the schema.

Every derived artefact (Hugging Face ``Features``, the card's coverage table,
the RO-Crate ``variableMeasured`` list and the Croissant fields) starts from
:func:`dataset_columns`, so a slot added to the schema appears in all of them
without a second column list. Only the few tile columns the builder itself
creates are stated here, in the same :class:`~fairmicro.schema.derive.Column`
form.

A lab's own specimen-table columns (``anneal_t_c``, ``cool_method``, ...) are
columns of the catalog's ``image_metadata`` view too; :func:`lab_columns`
reads them from the catalog, and inside :func:`with_lab_columns` they follow
the schema's columns in every derived artefact of one build (typed float64 or
string, described by the file and header they came from).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

from fairmicro.schema.derive import Column, class_columns

if TYPE_CHECKING:
    from fairmicro.catalog.store import Catalog

T = TypeVar("T")

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


LAB_TYPES = {"number": "DOUBLE", "text": "VARCHAR"}
_BUILD_LAB_COLUMNS: ContextVar[tuple[Column, ...]] = ContextVar("lab_columns", default=())


def lab_columns(catalog: Catalog) -> tuple[Column, ...]:
    """The lab columns of ``catalog``'s ``image_metadata``, as dataset columns.

    Numbers are ``DOUBLE`` (float64 in the dataset), everything else ``VARCHAR``
    (string); the description names the specimen table and header, the unit is
    the one written in the header.
    """
    present = set(catalog.columns("image_metadata"))
    schema = {name for pair in _schema_columns() for name in (pair[0], pair[1].name)}
    return tuple(
        Column(
            name=lab.column_name,
            sql_type=LAB_TYPES[lab.value_type],
            description=lab_source(lab.source_file, lab.source_header),
            unit=lab.source_unit,
            required=False,
        )
        for lab in catalog.specimen_columns()
        if lab.column_name in present and lab.column_name not in schema
    )


def lab_source(file_name: str | None, header: str | None) -> str:
    """Where a lab column came from: ``specimen table <file>, column <header>`` (one line)."""
    return " ".join(f"specimen table {file_name or '?'}, column {header or '?'}".split())


@contextlib.contextmanager
def with_lab_columns(columns: Sequence[Column]) -> Iterator[None]:
    """Within the block, :func:`metadata_columns` and everything derived from it include ``columns``."""
    token = _BUILD_LAB_COLUMNS.set(tuple(columns))
    try:
        yield
    finally:
        _BUILD_LAB_COLUMNS.reset(token)


def metadata_columns() -> tuple[tuple[str, Column], ...]:
    """(image_metadata column, dataset column) pairs: the schema's, then the build's lab columns."""
    return _schema_columns() + tuple((column.name, column) for column in _BUILD_LAB_COLUMNS.get())


def build_lab_columns() -> tuple[Column, ...]:
    """The lab columns of the build in progress (see :func:`with_lab_columns`)."""
    return _BUILD_LAB_COLUMNS.get()


@lru_cache(maxsize=1)
def _schema_columns() -> tuple[tuple[str, Column], ...]:
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


def reserved_names() -> frozenset[str]:
    """Every column name a built dataset has besides lab columns."""
    return frozenset(
        {IMAGE_COLUMN, LABEL_COLUMN, *(c.name for _, c in _schema_columns()), *(c.name for c in TILE_COLUMNS)}
    )


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


def uses_lab_columns(build: Callable[..., T]) -> Callable[..., T]:
    """Run ``build(catalog, ...)`` with the catalog's lab columns (see :func:`with_lab_columns`)."""

    @functools.wraps(build)
    def wrapper(catalog: Catalog, *args: Any, **kwargs: Any) -> T:
        with with_lab_columns(lab_columns(catalog)):
            return build(catalog, *args, **kwargs)

    return wrapper

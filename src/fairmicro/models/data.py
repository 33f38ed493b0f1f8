"""Reading a built dataset split: labels, groups, images and metadata columns.

The builder's layout (``fairmicro build``): an ``image`` column (``datasets``
Image feature, 16-bit kept), a ``label`` ClassLabel, ``image_sha256``, tile
origin columns and the schema's metadata columns (units in names). Plugins
read these directly; nothing is exported to folders.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from fairmicro.builders.columns import IMAGE_COLUMN as IMAGE
from fairmicro.builders.columns import LABEL_COLUMN as LABEL
from fairmicro.errors import ModelError
from fairmicro.schema import models

GROUP = "specimen_id"
# Metadata a model may use: the imaging conditions, the instrument and the specimen
# (from the schema), not file facts (size, page) and not identities or times.
IDENTITIES = frozenset({"image_sha256", "instrument_id", "specimen_id", "attributes", "acquired_at", "operator"})
METADATA_SLOTS = frozenset(
    set(models.ImagingConditions.model_fields) | set(models.Instrument.model_fields) | set(models.Specimen.model_fields)
) - IDENTITIES


def class_names(data: Any) -> list[str]:
    """Class names of the ``label`` ClassLabel feature."""
    feature = data.features.get(LABEL)
    if feature is None or not hasattr(feature, "names"):
        raise ModelError(f"dataset has no ClassLabel column {LABEL!r}; build it with `fairmicro build --label ...`")
    return list(feature.names)


def labels(data: Any) -> np.ndarray:
    """Integer labels of a split."""
    return np.asarray(data[LABEL], dtype=np.int64)


def groups(data: Any) -> np.ndarray | None:
    """Specimen of each row (for grouped cross-validation), when the dataset has it."""
    if GROUP not in data.column_names:
        return None
    return np.asarray(["" if g is None else str(g) for g in data[GROUP]])


def metadata_candidates(data: Any) -> list[str]:
    """Columns that may feed a metadata model, in dataset order."""
    return [c for c in data.column_names if c in METADATA_SLOTS]


def metadata_table(data: Any, columns: list[str]) -> dict[str, list[Any]]:
    """The given metadata columns as lists (images are not decoded)."""
    if not columns:
        return {}
    return data.select_columns(columns).to_dict()


def to_array(image: Any) -> np.ndarray:
    """A decoded ``datasets`` image (PIL) as a 2-D grey or 3-D RGB array, bit depth kept."""
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[2] == 4:
        array = array[..., :3]
    return array


def iter_images(data: Any, batch_size: int = 64) -> Iterator[np.ndarray]:
    """Every image of a split as an array, decoded batch by batch."""
    for start in range(0, len(data), batch_size):
        batch = data[start : start + batch_size][IMAGE]
        for image in batch:
            yield to_array(image)


def grey_8bit(array: np.ndarray) -> np.ndarray:
    """Requantise to 8-bit grey (RGB averaged; 16-bit and float scaled by their range)."""
    if array.ndim == 3:
        array = array.mean(axis=2)
    if array.dtype == np.uint8:
        return array
    array = array.astype(np.float64)
    low, high = float(array.min()), float(array.max())
    if array.dtype.kind == "f" or high > 255:
        scale = 255.0 / (high - low) if high > low else 0.0
        return np.clip((array - low) * scale, 0, 255).astype(np.uint8)
    return array.astype(np.uint8)

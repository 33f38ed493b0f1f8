"""Images the qualifier scores and compares, as the RGB pictures CLIP and FLAVA read.

Catalog images go through the project's one image-to-model-input function
(:func:`fairmicro.builders.model_input.cropped_pixels`): read once, checked
against their sha256, the vendor data bar cropped exactly as ``fairmicro
build`` crops it, whole (no tiles). Reference images given as files are looked
up by content in the catalog (so a catalogued file is cropped the same way);
other files are decoded as they are. Then: 8-bit values kept, other integer
and float images stretched to their own range, grey replicated to RGB, alpha
dropped. :data:`PREPROCESSING` names this recipe in the embedding cache.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fairmicro.builders import pixels
from fairmicro.builders.model_input import PIXEL_COLUMNS, cropped_pixels
from fairmicro.builders.tiling import TilingSpec
from fairmicro.errors import DatasetBuildError, ModelError

if TYPE_CHECKING:
    from fairmicro.catalog import Catalog

PREPROCESSING = "whole image, data bar cropped as build; 8-bit kept, others stretched per image; grey->RGB; v1"
TIFF_SUFFIXES = (".tif", ".tiff")


@dataclass(frozen=True)
class ImageRef:
    """One image to embed: its sha256, the path shown, and the catalog row when catalogued."""

    sha256: str
    path: str
    row: Mapping[str, Any] | None = None
    file: Path | None = None


def columns() -> list[str]:
    """The ``image_metadata`` columns a catalog image needs."""
    return list(PIXEL_COLUMNS)


def catalog_ref(row: Mapping[str, Any]) -> ImageRef:
    """An image selected from the catalog."""
    return ImageRef(row["sha256"], str(row["path"]), dict(row))


def file_ref(path: Path) -> ImageRef:
    """A reference image given as a file (decoded as it is unless the catalog knows its content).

    Raises
    ------
    ModelError
        If the file cannot be read.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"reference image {path}: cannot be read ({exc.strerror or exc})") from None
    return ImageRef(hashlib.sha256(data).hexdigest(), str(path), None, path)


def load_rgb(catalog: Catalog, image: ImageRef) -> Any:
    """The image as an 8-bit RGB ``PIL.Image``.

    Raises
    ------
    ModelError
        If the file is gone, changed since ingest, or cannot be decoded.
    """
    from PIL import Image

    try:
        if image.row is not None:
            array = cropped_pixels(catalog, image.row, TilingSpec())
        else:
            assert image.file is not None
            name = image.file.name
            kind = "tiff" if image.file.suffix.lower() in TIFF_SUFFIXES else "other"
            array = pixels.decode(image.file.read_bytes(), kind, 0, name)
    except (DatasetBuildError, OSError) as exc:
        raise ModelError(f"{image.path}: {exc}") from None
    return Image.fromarray(to_rgb8(array), "RGB")


def to_rgb8(array: np.ndarray) -> np.ndarray:
    """Any decoded image as a ``(rows, cols, 3)`` uint8 array."""
    if array.ndim == 3 and array.shape[-1] in (2, 4):
        array = array[..., : array.shape[-1] - 1]  # drop alpha
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    values = _uint8(array)
    return np.ascontiguousarray(np.repeat(values[..., None], 3, axis=-1) if values.ndim == 2 else values)


def _uint8(array: np.ndarray) -> np.ndarray:
    if array.dtype == np.uint8:
        return array
    if array.dtype == bool:
        return array.astype(np.uint8) * 255
    values = array.astype(np.float64)
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if high <= low:
        return np.zeros(array.shape, np.uint8)
    return np.rint((values - low) * (255.0 / (high - low))).astype(np.uint8)

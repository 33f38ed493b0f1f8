"""Reading a built dataset split: labels, groups, images and metadata columns.

The builder's layout (``fairmicro build``): an ``image`` column (``datasets``
Image feature, 16-bit kept), a ``label`` ClassLabel, ``image_sha256``, tile
origin columns and the schema's metadata columns (units in names). Plugins
read these directly; nothing is exported to folders.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fairmicro.builders.columns import IMAGE_COLUMN as IMAGE
from fairmicro.builders.columns import LABEL_COLUMN as LABEL
from fairmicro.errors import ModelError
from fairmicro.schema import models

GROUP = "specimen_id"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
LUMA = np.array([0.299, 0.587, 0.114])
# Metadata a model may use: the imaging conditions, the instrument and the specimen
# (from the schema), not file facts (size, page) and not identities or times.
IDENTITIES = frozenset({"image_sha256", "instrument_id", "specimen_id", "attributes", "acquired_at", "operator"})
METADATA_SLOTS = (
    frozenset(
        set(models.ImagingConditions.model_fields)
        | set(models.Instrument.model_fields)
        | set(models.Specimen.model_fields)
    )
    - IDENTITIES
)


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
    """A decoded image as a writable 2-D grey or 3-D RGB array, bit depth kept.

    Accepts what a ``datasets`` split yields (a PIL image, or the undecoded
    ``{"bytes", "path"}`` dict) and plain arrays. Palette images become RGB,
    1-bit becomes 0/255, alpha is dropped. The result is always a fresh
    writable array: arrays that ``datasets``/Arrow/PIL hand out are read-only,
    and Cython kernels (``skimage.feature.graycomatrix``) refuse those.
    """
    if isinstance(image, dict):
        image = _decode_bytes(image)
    if hasattr(image, "mode"):  # PIL
        image = _pil_pixels(image)
    array = np.array(image)  # always a copy: writable and contiguous
    if array.dtype == np.bool_:
        array = array.astype(np.uint8) * 255
    if array.ndim == 3 and array.shape[2] in (2, 4):  # grey + alpha, RGB + alpha
        array = array[..., : array.shape[2] - 1]
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    return np.ascontiguousarray(array)


def _pil_pixels(image: Any) -> Any:
    """PIL modes whose array is not the pixel values (palette indices, CMYK, 32-bit int) converted."""
    if image.mode in ("P", "PA"):
        return image.convert("RGBA" if "transparency" in image.info or image.mode == "PA" else "RGB")
    if image.mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        return image.convert("RGB")
    if image.mode == "I":
        array = np.asarray(image)
        return array.astype(np.uint16) if array.size and array.min() >= 0 and array.max() <= 65535 else array
    return image


def _decode_bytes(value: dict[str, Any]) -> Any:
    """An undecoded ``datasets`` image: PNG through imagecodecs (keeps 16-bit RGB), else PIL."""
    data = value.get("bytes")
    if data is None and value.get("path"):
        with open(value["path"], "rb") as handle:
            data = handle.read()
    if data is None:
        raise ModelError("dataset image has neither bytes nor a path")
    if data[:8] == PNG_MAGIC:
        try:
            import imagecodecs

            return imagecodecs.png_decode(data)
        except ImportError:
            pass
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data)) as opened:
        return np.array(_pil_pixels(opened))


def _undecoded(data: Any) -> Any | None:
    """The split's image column as Arrow (no PIL decoding), when it is a ``datasets.Image``."""
    feature = data.features.get(IMAGE)
    if type(feature).__name__ != "Image":
        return None
    return data.with_format("arrow", columns=[IMAGE])


def images_at(data: Any, rows: list[int] | range) -> list[np.ndarray]:
    """The images of the given rows as arrays (see :func:`to_array`).

    PNG bytes are decoded straight from Arrow, so 16-bit RGB stays 16-bit
    (PIL would truncate it to 8 bit).
    """
    arrow = _undecoded(data)
    if arrow is None:
        return [to_array(image) for image in data[list(rows)][IMAGE]]
    return [to_array(value) for value in arrow[list(rows)].column(IMAGE).to_pylist()]


def iter_images(data: Any, batch_size: int = 64) -> Iterator[np.ndarray]:
    """Every image of a split as an array, decoded batch by batch."""
    for start in range(0, len(data), batch_size):
        yield from images_at(data, range(start, min(start + batch_size, len(data))))


def luminance(array: np.ndarray) -> np.ndarray:
    """Grey values of an RGB array (ITU-R BT.601 weights, as PIL's ``L`` conversion); grey as is."""
    if array.ndim == 2:
        return array
    grey = array[..., :3].astype(np.float64) @ LUMA
    return np.rint(grey).astype(array.dtype) if array.dtype.kind in "ui" else grey


@dataclass
class IntensityScale:
    """Maps image values to 0..255, fitted on the training split.

    8-bit images keep their values. Other integer images (16-bit, 12-bit data
    in 16 bits) are scaled by the range their bit depth spans in the training
    split (lowest to highest value over all training images of that depth), so
    two images keep their brightness relation and a 12-bit detector fills the
    8-bit range; values outside that range are clipped. A bit depth the
    training split did not have is scaled by its full range (uint16 / 257);
    float images are stretched per image.
    """

    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)

    def fit(self, images: Iterator[np.ndarray]) -> IntensityScale:
        """Learn each non-8-bit integer depth's value range."""
        for array in images:
            if array.dtype == np.uint8 or array.dtype.kind not in "ui" or not array.size:
                continue
            low, high = float(array.min()), float(array.max())
            seen = self.ranges.get(array.dtype.str)
            self.ranges[array.dtype.str] = (low, high) if seen is None else (min(seen[0], low), max(seen[1], high))
        return self

    def to_float(self, array: np.ndarray) -> np.ndarray:
        """Values as float32 in 0..255."""
        if array.dtype == np.uint8:
            return array.astype(np.float32)
        low_high = self.ranges.get(array.dtype.str)
        if low_high is None and array.dtype.kind in "ui":
            low_high = (0.0, float(np.iinfo(array.dtype).max)) if array.dtype.kind == "u" else None
        if low_high is None:  # floats, signed integers: this image's own range
            low_high = (float(array.min()), float(array.max())) if array.size else (0.0, 0.0)
        low, high = low_high
        if high <= low:
            return np.zeros(array.shape, np.float32)
        scaled = (array.astype(np.float32) - np.float32(low)) * np.float32(255.0 / (high - low))
        return np.clip(scaled, 0.0, 255.0)

    def to_uint8(self, array: np.ndarray) -> np.ndarray:
        """Values as uint8 (rounded)."""
        if array.dtype == np.uint8:
            return array
        return np.rint(self.to_float(array)).astype(np.uint8)

    def to_dict(self) -> dict[str, list[float]]:
        """JSON-ready state."""
        return {k: list(v) for k, v in self.ranges.items()}

    @classmethod
    def from_dict(cls, state: dict[str, Any] | None) -> IntensityScale:
        """Rebuild from :meth:`to_dict` (``None``: nothing learned)."""
        return cls({k: (float(v[0]), float(v[1])) for k, v in (state or {}).items()})


def grey_8bit(array: np.ndarray, scale: IntensityScale | None = None) -> np.ndarray:
    """8-bit grey: RGB as luminance, then values mapped by ``scale`` (default: nothing learned)."""
    return (scale or IntensityScale()).to_uint8(luminance(array))

"""Dataset rows -> network input: standardised ``C x H x W`` float arrays and 8-bit label maps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from fairmicro.errors import ModelError
from fairmicro.models.data import images_at, luminance, to_array

MASK = "mask"
IGNORE = 255


def is_colour(array: np.ndarray) -> bool:
    """True for an RGB array whose channels differ somewhere (grey stored as RGB is grey)."""
    if array.ndim != 3:
        return False
    rgb = array[..., :3]
    return bool(np.any(rgb[..., 0] != rgb[..., 1]) or np.any(rgb[..., 1] != rgb[..., 2]))


def detect_channels(arrays: Sequence[np.ndarray]) -> int:
    """3 when any image carries colour, else 1."""
    return 3 if any(is_colour(a) for a in arrays) else 1


def standardise(array: np.ndarray, channels: int) -> np.ndarray:
    """An image as ``channels x H x W`` float32 with zero mean and unit variance (per image)."""
    if channels == 1:
        pixels = luminance(array).astype(np.float32)[None]
    else:
        rgb = array if array.ndim == 3 else np.repeat(array[..., None], 3, axis=2)
        pixels = np.moveaxis(rgb[..., :3].astype(np.float32), 2, 0)
    pixels = pixels - pixels.mean()
    spread = float(pixels.std())
    return np.ascontiguousarray(pixels / spread if spread > 0 else pixels, dtype=np.float32)


def rows_images(data: Any, rows: Sequence[int], channels: int) -> list[np.ndarray]:
    """The standardised images of ``rows``."""
    return [standardise(a, channels) for a in images_at(data, list(rows))]


def raw_images(data: Any, rows: Sequence[int]) -> list[np.ndarray]:
    """The decoded images of ``rows`` (bit depth and channels kept)."""
    return images_at(data, list(rows))


def rows_masks(data: Any, rows: Sequence[int]) -> list[np.ndarray]:
    """The 8-bit label maps of ``rows`` (255 = no label)."""
    if MASK not in data.column_names:
        raise ModelError(f"dataset has no {MASK!r} column; build it with `fairmicro build --task segmentation`")
    masks = []
    for value in data.select_columns([MASK])[list(rows)][MASK]:
        array = to_array(value)
        if array.ndim != 2:
            raise ModelError(f"mask is not a single-channel label map (shape {array.shape})")
        masks.append(array.astype(np.uint8))
    return masks


def check_pair(image: np.ndarray, mask: np.ndarray, row: int) -> None:
    """An image and its mask cover the same pixels."""
    if image.shape[-2:] != mask.shape:
        raise ModelError(f"row {row}: mask {mask.shape} does not match image {image.shape[-2:]}")

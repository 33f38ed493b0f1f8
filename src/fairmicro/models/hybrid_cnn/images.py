"""Turning a dataset image into a backbone input: 0-255 float RGB at the input size.

8-bit images keep their values in every mode. 16-bit (and other integer)
images: ``intensity="range"`` (default) scales them by the value range of
their bit depth in the training split (:class:`fairmicro.models.data.IntensityScale`,
so 12-bit data stored in 16 bits fills the 8-bit range and images keep their
brightness relation); ``"dtype"`` scales by the full range (255/65535);
``"minmax"`` stretches each image to its own range. Float images are always
stretched. Palette and 1-bit images arrive as RGB and 0/255 grey (see
:func:`fairmicro.models.data.to_array`), alpha is dropped, grey is replicated
to three channels. The backbone's own ``preprocess_input`` is applied to the
batch afterwards.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from fairmicro.errors import ModelError
from fairmicro.models.data import IntensityScale, to_array

INTENSITIES = ("range", "dtype", "minmax")
FULL_RANGE = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


def check_intensity(intensity: str) -> None:
    """Raise a :class:`ModelError` unless ``intensity`` is one of :data:`INTENSITIES`."""
    if intensity not in INTENSITIES:
        raise ModelError(f"hybrid-cnn: intensity {intensity!r} is not one of {', '.join(INTENSITIES)}")


def to_8bit_range(array: np.ndarray, intensity: str, scale: IntensityScale | None = None) -> np.ndarray:
    """Pixel values as float32 in 0..255 (``scale``: the training split's ranges, for ``"range"``)."""
    check_intensity(intensity)
    if intensity == "range":
        return (scale or IntensityScale()).to_float(array)
    peak = FULL_RANGE.get(array.dtype)
    if intensity == "dtype" and peak is not None:
        return array.astype(np.float32) * np.float32(255.0 / peak)
    values = array.astype(np.float32)
    low, high = float(values.min()), float(values.max())
    if high <= low:
        return np.zeros_like(values)
    return (values - low) * np.float32(255.0 / (high - low))


def _resize(array: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of a 2-D float32 array to ``size`` x ``size``."""
    if array.shape == (size, size):
        return array
    resized = Image.fromarray(array).resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.float32)


def prepare_image(image: Any, size: int, intensity: str = "range", scale: IntensityScale | None = None) -> np.ndarray:
    """A decoded dataset image as a ``(size, size, 3)`` float32 array in 0..255."""
    array = to_8bit_range(to_array(image), intensity, scale)
    if array.ndim == 2:
        array = array[..., None]
    channels = [_resize(np.ascontiguousarray(array[..., c]), size) for c in range(array.shape[2])]
    stacked = np.stack(channels, axis=-1)
    if stacked.shape[2] == 1:
        stacked = np.repeat(stacked, 3, axis=2)
    return stacked

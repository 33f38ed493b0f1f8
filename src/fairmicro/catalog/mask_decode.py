"""Decoding mask files into 8-bit label maps (label maps and colour maps)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np

from fairmicro.errors import FairmicroError, first_line

if TYPE_CHECKING:
    from fairmicro.catalog.masks import ClassMap

_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


class MaskError(FairmicroError):
    """A mask file cannot be read, does not fit its image, or holds values outside its class map."""


def read_mask_pixels(data: bytes, name: str) -> np.ndarray:
    """The pixel values of a mask file (TIFF, PNG, BMP, ...), as stored (palette indices stay indices).

    Raises
    ------
    MaskError
        If the bytes cannot be decoded as an image.
    """
    try:
        if data[:4] in _TIFF_MAGIC:
            import tifffile

            with tifffile.TiffFile(io.BytesIO(data)) as tiff:
                pixels = tiff.pages[0].asarray()
                if pixels.ndim == 3 and tiff.pages[0].axes.startswith("S"):
                    pixels = np.moveaxis(pixels, 0, -1)
                return pixels
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            return np.asarray(image)
    except Exception as exc:  # decoders raise many types on damaged data
        raise MaskError(f"mask {name}: cannot be read as an image ({first_line(exc)})") from exc


def _colour_pixels(data: bytes, name: str) -> np.ndarray:
    """RGB values of a colour mask (palette applied, alpha dropped; grey repeated over R, G, B)."""
    if data[:4] in _TIFF_MAGIC:
        pixels = read_mask_pixels(data, name)
    else:
        from PIL import Image

        try:
            with Image.open(io.BytesIO(data)) as image:
                pixels = np.asarray(image.convert("RGB"))
        except Exception as exc:
            raise MaskError(f"mask {name}: cannot be read as an image ({first_line(exc)})") from exc
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[..., None], 3, axis=-1)
    if pixels.dtype == np.uint16:
        pixels = (pixels // 257).astype(np.uint8)
    return pixels[..., :3]


def _label_values(pixels: np.ndarray, name: str) -> np.ndarray:
    """One channel of class values (a grey or R=G=B mask); a true colour mask is refused."""
    if pixels.dtype == np.bool_:
        return pixels.astype(np.uint8)
    if pixels.ndim == 3:
        channels = pixels[..., :3] if pixels.shape[-1] >= 3 else pixels[..., :1]
        if not (channels == channels[..., :1]).all():
            raise MaskError(
                f"mask {name}: is a colour image, not a label map; give the class colours with "
                "--mask-colors 'NAME=#RRGGBB,...'"
            )
        pixels = channels[..., 0]
    if pixels.dtype.kind not in "iu":
        raise MaskError(f"mask {name}: {pixels.dtype} values are not class values (expected integers)")
    return pixels


def decode_mask(data: bytes, class_map: ClassMap, name: str) -> np.ndarray:
    """The mask as a uint8 label map (rows, cols) of class values.

    Parameters
    ----------
    data
        The mask file's bytes.
    class_map
        Its classes; a ``colour_map`` maps each class colour to its value and every other colour to 0.
    name
        The file's name, for messages.

    Raises
    ------
    MaskError
        If the file cannot be decoded, or (label maps) holds a value with no class.
    """
    if class_map.encoding == "colour_map":
        rgb = _colour_pixels(data, name)
        out = np.zeros(rgb.shape[:2], np.uint8)
        for cls in class_map.classes:
            colour = cls.rgb()
            if colour is not None and cls.value:
                out[(rgb == np.asarray(colour, rgb.dtype)).all(axis=-1)] = cls.value
        return out
    values = _label_values(read_mask_pixels(data, name), name)
    top = int(values.max()) if values.size else 0
    low = int(values.min()) if values.size else 0
    if low < 0 or top >= len(class_map.classes):
        bad = low if low < 0 else top
        raise MaskError(
            f"mask {name}: holds value {bad}, but there are only {len(class_map.classes)} classes "
            f"({', '.join(class_map.names)}); values must be 0..{len(class_map.classes) - 1}"
        )
    return values.astype(np.uint8)

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
    return _stored_pixels(data, name)[0]


def _stored_pixels(data: bytes, name: str, rgb: bool = False) -> tuple[np.ndarray, bool]:
    """A mask's pixels as stored (``rgb``: a PIL image's palette applied, alpha dropped), and whether its
    encoding is lossy (JPEG, WebP, JPEG 2000: values are then only close to those drawn)."""
    if data[:4] in _TIFF_MAGIC:
        pixels, compression = _tiff_pixels(data, name)
        return pixels, compression in LOSSY_TIFF_COMPRESSIONS
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            lossy = (image.format or "") in LOSSY_PIL_FORMATS
            return np.asarray(image.convert("RGB") if rgb else image), lossy
    except Exception as exc:  # decoders raise many types on damaged data
        raise _unreadable(name, exc) from exc


def _tiff_pixels(data: bytes, name: str) -> tuple[np.ndarray, int]:
    """A TIFF mask's first page (samples last) and its compression code, from one parse."""
    try:
        import tifffile

        with tifffile.TiffFile(io.BytesIO(data)) as tiff:
            page = tiff.pages[0]
            pixels = page.asarray()
            if pixels.ndim == 3 and page.axes.startswith("S"):
                pixels = np.moveaxis(pixels, 0, -1)
            return pixels, int(page.compression)
    except Exception as exc:  # decoders raise many types on damaged data
        raise _unreadable(name, exc) from exc


def _unreadable(name: str, exc: BaseException) -> MaskError:
    return MaskError(f"mask {name}: cannot be read as an image ({first_line(exc)})")


# Formats whose encoder moves colours: a flat class colour comes back a little off, more at its edges.
LOSSY_PIL_FORMATS = frozenset({"JPEG", "MPO", "WEBP", "JPEG2000"})
# tifffile.COMPRESSION: OJPEG, JPEG, JPEG_99, JPEGXR_NDPI, JPEG_2000_LOSSY, ALT_JPEG, JPEG2000, JPEG_LOSSY,
# WEBP_DEPRECATED, JPEGXR, WEBP, JPEGXL, JPEGXL_DNG (some can be lossless: a tolerance never hurts exact colours)
LOSSY_TIFF_COMPRESSIONS = frozenset({6, 7, 99, 22610, 33004, 33007, 34712, 34892, 34927, 34934, 50001, 50002, 52546})
LOSSY_TOLERANCE = 64.0  # RGB distance within which a lossy mask's pixel still counts as a class colour, at most
ROWS_PER_BLOCK = 512  # colour matching works on this many rows at a time (bounded memory on large masks)
BINARY_WHITE = 255  # the class value of a black/white binary mask (0 and 255 only) with two classes
# A lossy (JPEG, ...) black/white mask with two classes: values within this margin of 0 or 255 on nearly all
# pixels (this share; ringing at edges moves a few further) are read as 0/1 by a threshold at the middle.
LOSSY_BINARY_MARGIN = 64
LOSSY_BINARY_SHARE = 0.98
LOSSY_GREY_SPREAD = 24  # a lossy RGB label map whose channels differ by at most this is grey (chroma noise)


def _colour_pixels(data: bytes, name: str) -> tuple[np.ndarray, bool]:
    """RGB values of a colour mask (palette applied, alpha dropped; grey repeated over R, G, B), and whether
    its encoding is lossy (JPEG, WebP, JPEG 2000: colours are then only close to the class colours)."""
    pixels, lossy = _stored_pixels(data, name, rgb=True)
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[..., None], 3, axis=-1)
    if pixels.dtype == np.uint16:
        pixels = (pixels // 257).astype(np.uint8)
    return pixels[..., :3], lossy


def colour_tolerance(colour: tuple[int, int, int], others: list[tuple[int, int, int]]) -> float:
    """How far (RGB distance) a lossy mask's pixel may lie from ``colour`` and still be that class.

    At most :data:`LOSSY_TOLERANCE`, and less than half the way to the grey axis (colour masks are often drawn
    over the greyscale image, whose pixels must stay background) and to every other class colour.
    """
    rgb = np.asarray(colour, float)
    to_grey = float(np.linalg.norm(rgb - rgb.mean()))
    to_others = [float(np.linalg.norm(rgb - np.asarray(o, float))) for o in others]
    return min([LOSSY_TOLERANCE, to_grey / 2, *(d / 2 for d in to_others)])


def _match_colours(rgb: np.ndarray, class_map: ClassMap, lossy: bool) -> np.ndarray:
    """The label map of a colour mask: each class colour's pixels get its value, every other pixel 0.

    A lossless mask matches exactly (tolerance 0); a lossy one within :func:`colour_tolerance` of a class colour.
    """
    out = np.zeros(rgb.shape[:2], np.uint8)
    coloured = [(cls.value, colour) for cls in class_map.classes if (colour := cls.rgb()) is not None]
    limits = [
        (value, np.asarray(colour, np.int32), colour_tolerance(colour, [c for _, c in coloured if c != colour]) ** 2)
        if lossy
        else (value, np.asarray(colour, np.int32), 0.0)
        for value, colour in coloured
        if value
    ]
    for top in range(0, rgb.shape[0], ROWS_PER_BLOCK):
        block = rgb[top : top + ROWS_PER_BLOCK].astype(np.int32)
        labels = out[top : top + ROWS_PER_BLOCK]
        for value, centre, limit in limits:  # tolerances stay under half the gap: no pixel is near two colours
            labels[((block - centre) ** 2).sum(axis=-1) <= limit] = value
    return out


def common_colours(data: bytes, name: str, count: int = 3) -> list[str]:
    """The ``count`` most frequent colours of a colour mask that are not grey (``#rrggbb``), most frequent first."""
    rgb, _ = _colour_pixels(data, name)
    flat = rgb.reshape(-1, 3)
    coloured = flat[~((flat == flat[:, :1]).all(axis=1))].astype(np.uint32)
    if not len(coloured):
        return []
    values, counts = np.unique((coloured[:, 0] << 16) | (coloured[:, 1] << 8) | coloured[:, 2], return_counts=True)
    return [f"#{int(v):06x}" for v in values[np.argsort(-counts, kind="stable")[:count]]]


def _label_values(pixels: np.ndarray, name: str, lossy: bool = False) -> np.ndarray:
    """One channel of class values (a grey or R=G=B mask); a true colour mask is refused.

    A lossy mask's channels only come close to one another: their mean is its grey value.
    """
    if pixels.dtype == np.bool_:
        return pixels.astype(np.uint8)
    if pixels.ndim == 3:
        channels = pixels[..., :3] if pixels.shape[-1] >= 3 else pixels[..., :1]
        if lossy and pixels.dtype == np.uint8 and channels.shape[-1] == 3 and _greyish(channels):
            return np.rint(channels.mean(axis=-1)).astype(np.uint8)
        if not (channels == channels[..., :1]).all():
            raise MaskError(
                f"mask {name}: is a colour image, not a label map; give the class colours with "
                "--mask-colors 'NAME=#RRGGBB,...'"
            )
        pixels = channels[..., 0]
    if pixels.dtype.kind not in "iu":
        raise MaskError(f"mask {name}: {pixels.dtype} values are not class values (expected integers)")
    return pixels


def _only(values: np.ndarray, allowed: tuple[int, ...]) -> bool:
    return bool(np.isin(values, allowed).all())


def _greyish(rgb: np.ndarray) -> bool:
    """Whether a lossy RGB mask is grey up to its encoding's noise (channels within :data:`LOSSY_GREY_SPREAD`)."""
    spread = rgb.max(axis=-1).astype(np.int16) - rgb.min(axis=-1)
    return bool((spread <= LOSSY_GREY_SPREAD).all())


def _lossy_black_white(values: np.ndarray) -> bool:
    """Whether a lossy 8-bit mask is black/white up to its encoding's noise: nearly every pixel lies within
    :data:`LOSSY_BINARY_MARGIN` of 0 or 255 (edges ring, so a few may not), and some lie near 255."""
    if values.dtype != np.uint8 or not values.size:
        return False
    near = (values <= LOSSY_BINARY_MARGIN) | (values >= BINARY_WHITE - LOSSY_BINARY_MARGIN)
    return float(near.mean()) >= LOSSY_BINARY_SHARE and bool((values >= BINARY_WHITE - LOSSY_BINARY_MARGIN).any())


def decode_mask(data: bytes, class_map: ClassMap, name: str) -> np.ndarray:
    """The mask as a uint8 label map (rows, cols) of class values.

    Parameters
    ----------
    data
        The mask file's bytes.
    class_map
        Its classes; a ``colour_map`` maps each class colour to its value and every other colour to 0
        (exactly, or within :func:`colour_tolerance` when the mask is lossy, e.g. a JPEG).
    name
        The file's name, for messages.

    Raises
    ------
    MaskError
        If the file cannot be decoded, or (label maps) holds a value with no class. A label map holding
        only 0 and 255 with two classes is a black/white binary mask: 255 is class 1; so is a lossy
        (JPEG, ...) one whose values lie near 0 or 255 (read with a threshold at 128).
    """
    if class_map.encoding == "colour_map":
        rgb, lossy = _colour_pixels(data, name)
        return _match_colours(rgb, class_map, lossy)
    pixels, lossy = _stored_pixels(data, name)
    values = _label_values(pixels, name, lossy)
    top = int(values.max()) if values.size else 0
    low = int(values.min()) if values.size else 0
    if len(class_map.classes) == 2 and top == BINARY_WHITE and _only(values, (0, BINARY_WHITE)):
        return (values == BINARY_WHITE).astype(np.uint8)  # a black/white binary mask: white is the class
    if len(class_map.classes) == 2 and top > 1 and lossy and _lossy_black_white(values):
        return (values >= (BINARY_WHITE + 1) // 2).astype(np.uint8)  # a JPEG of a black/white mask
    if low < 0 or top >= len(class_map.classes):
        bad = low if low < 0 else top
        raise MaskError(
            f"mask {name}: holds value {bad}, but there are only {len(class_map.classes)} classes "
            f"({', '.join(class_map.names)}); values must be 0..{len(class_map.classes) - 1}"
        )
    return values.astype(np.uint8)

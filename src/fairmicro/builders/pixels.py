"""Reading catalogued images back, checked against their sha256, and encoding tiles.

An image is read once into memory, its hash compared with the catalog's (so a
dataset never silently contains a file that changed after ingest), and decoded
from those bytes. Tiles are stored as PNG, which keeps 8- and 16-bit samples
exactly.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fairmicro.builders import tiling
from fairmicro.errors import DatasetBuildError, first_line

if TYPE_CHECKING:
    from fairmicro.catalog.store import Catalog

THUMBNAIL_PX = 96
PNG_FAST = {"level": 1, "strategy": 3, "filter": 16}


def read_verified(paths: Iterable[str], sha256: str) -> bytes:
    """The bytes of the first of ``paths`` whose content still hashes to ``sha256``.

    ``paths`` may be a lazy iterator: later paths are only asked for when the
    earlier ones fail.

    Raises
    ------
    DatasetBuildError
        If no path exists with the catalogued content.
    """
    tried = []
    for path in paths:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            tried.append(f"{path} ({exc.strerror or exc})")
            continue
        if hashlib.sha256(data).hexdigest() == sha256:
            return data
        tried.append(f"{path} (content changed since ingest)")
    raise DatasetBuildError(
        f"image {sha256[:12]}: no readable copy with the catalogued content; tried "
        f"{'; '.join(tried) or 'no paths'}. Re-run `fairmicro ingest` on its folder or exclude it with --where"
    )


def load_catalog_image(catalog: Catalog, row: Mapping[str, Any], *, crop_data_bar: bool = True) -> np.ndarray:
    """The pixels of one catalogued image, checked against its sha256, data bar cropped.

    Parameters
    ----------
    catalog
        The catalog the image is in.
    row
        Its ``image_metadata`` columns ``sha256``, ``path``, ``file_format``,
        ``page_index`` and ``data_bar_height_px``.
    crop_data_bar
        Remove the ``data_bar_height_px`` rows below the image.

    Raises
    ------
    DatasetBuildError
        If no copy of the image still has the catalogued content, or it cannot be decoded.
    """
    data = read_verified(_catalog_paths(catalog, row), row["sha256"])
    pixels = decode(data, row["file_format"], row["page_index"], Path(row["path"]).name)
    return tiling.crop_data_bar(pixels, row["data_bar_height_px"] if crop_data_bar else 0)


def _catalog_paths(catalog: Catalog, row: Mapping[str, Any]) -> Iterator[str]:
    """The row's path, then (only if it fails) every other path the image was seen at."""
    yield row["path"]
    yield from (path for path in catalog.image_paths(row["sha256"]) if path != row["path"])


def decode(data: bytes, file_format: str, page_index: int | None, name: str) -> np.ndarray:
    """Pixels of one page as (rows, cols) or (rows, cols, samples).

    Raises
    ------
    DatasetBuildError
        If the bytes cannot be decoded or the sample type cannot be stored as PNG.
    """
    try:
        if file_format == "tiff":
            pixels = _decode_tiff(data, page_index or 0)
        else:
            pixels = _decode_pil(data)
    except Exception as exc:  # decoders raise many types on damaged data
        raise DatasetBuildError(f"{name}: pixel data cannot be decoded ({first_line(exc)})") from exc
    return storable(pixels, name)


def _decode_pil(data: bytes) -> np.ndarray:
    """PNG/JPEG/BMP/GIF pixels as values, not codes: palettes applied, CMYK as RGB, alpha of grey dropped."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        if image.mode in ("P", "PA"):
            return _grey_if_neutral(np.array(image.convert("RGBA" if _has_alpha(image) else "RGB")))
        if image.mode in ("CMYK", "YCbCr", "LAB", "HSV"):
            return np.array(image.convert("RGB"))
        if image.mode == "LA":
            return np.array(image.getchannel(0))
        return np.array(image)


def _has_alpha(image: object) -> bool:
    return getattr(image, "mode", "") == "PA" or "transparency" in getattr(image, "info", {})


def _grey_if_neutral(pixels: np.ndarray) -> np.ndarray:
    """One channel when every colour of a palette image is a grey (R = G = B), else unchanged."""
    if pixels.ndim == 3 and pixels.shape[-1] == 3 and (pixels == pixels[..., :1]).all():
        return np.ascontiguousarray(pixels[..., 0])
    return pixels


def _decode_tiff(data: bytes, page_index: int) -> np.ndarray:
    import tifffile

    with tifffile.TiffFile(io.BytesIO(data)) as tiff:
        page = tiff.pages[page_index]
        pixels = page.asarray()
        if pixels.ndim == 3 and page.axes.startswith("S"):  # planar RGB -> samples last
            pixels = np.moveaxis(pixels, 0, -1)
        return _tiff_values(pixels, page)


def _tiff_values(pixels: np.ndarray, page: Any) -> np.ndarray:
    """Photometric interpretation applied: palette to colours, min-is-white inverted, CMYK as RGB."""
    photometric = int(page.photometric)
    if photometric == 3 and page.colormap is not None:  # PALETTE
        colours = np.moveaxis(np.asarray(page.colormap), 0, -1)[pixels]  # (rows, cols, 3), 16-bit entries
        if (colours % 257 == 0).all():  # the usual 8-bit palette scaled by 257
            colours = (colours // 257).astype(np.uint8)
        return _grey_if_neutral(colours)
    if photometric == 0:  # MINISWHITE: 0 is white
        if pixels.dtype == np.bool_:
            return ~pixels
        if pixels.dtype.kind == "u":
            bits = min(int(page.bitspersample), pixels.dtype.itemsize * 8)
            return ((1 << bits) - 1 - pixels.astype(np.int64)).astype(pixels.dtype)
    if photometric == 5 and pixels.ndim == 3 and pixels.shape[-1] == 4 and pixels.dtype == np.uint8:  # CMYK
        ink = pixels.astype(np.uint16)
        rgb = (255 - ink[..., :3]) * (255 - ink[..., 3:4]) // 255
        return rgb.astype(np.uint8)
    return pixels


def storable(pixels: np.ndarray, name: str) -> np.ndarray:
    """``pixels`` as PNG-storable samples: uint8 or uint16, 1, 3 or 4 channels.

    Booleans (1-bit) become 0/255 uint8; other integers whose values fit 8 or 16
    bits are cast without change; grey + alpha keeps the grey. Anything else PNG
    cannot hold is refused rather than rescaled (rescaling would change the
    measurement).
    """
    if pixels.dtype == np.bool_:
        pixels = pixels.astype(np.uint8) * 255
    pixels = _narrowed(pixels)
    if pixels.ndim == 3 and pixels.shape[-1] == 2:  # grey + alpha: the alpha is no measurement
        pixels = pixels[..., 0]
    if pixels.dtype not in (np.uint8, np.uint16):
        raise DatasetBuildError(
            f"{name}: {pixels.dtype} samples cannot be stored losslessly as PNG; "
            "convert the images to 8- or 16-bit unsigned integers or exclude them with --where"
        )
    if pixels.ndim == 3 and pixels.shape[-1] == 1:
        pixels = pixels[..., 0]
    if pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[-1] not in (3, 4)):
        raise DatasetBuildError(f"{name}: image of shape {pixels.shape} is not grey, RGB or RGBA")
    return pixels


def _narrowed(pixels: np.ndarray) -> np.ndarray:
    """Integer samples whose values all fit 8/16-bit unsigned (e.g. PIL's 32-bit ``I`` mode) cast losslessly."""
    if pixels.dtype.kind not in "iu" or pixels.dtype in (np.uint8, np.uint16) or not pixels.size:
        return pixels
    low, high = int(pixels.min()), int(pixels.max())
    if low < 0 or high > 65535:
        return pixels
    return pixels.astype(np.uint8 if pixels.dtype.itemsize == 1 else np.uint16)


def encode_png(pixels: np.ndarray) -> bytes:
    """Lossless PNG of one tile (16-bit stays 16-bit); deterministic bytes.

    Uses the fast settings OpenCV uses (zlib level 1, RLE strategy, SUB filter):
    4-15x faster than the defaults for a few percent more bytes on noisy micrographs.
    """
    import imagecodecs

    return bytes(imagecodecs.png_encode(np.ascontiguousarray(pixels), **PNG_FAST))


def read_mask(path: str) -> np.ndarray:
    """A label mask (PNG or TIFF) as an integer array.

    Raises
    ------
    DatasetBuildError
        If the mask file cannot be read.
    """
    try:
        data = Path(path).read_bytes()
        if data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
            return _decode_tiff(data, 0)
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            return np.asarray(image)
    except Exception as exc:  # missing file or undecodable bytes
        raise DatasetBuildError(f"mask {path}: cannot be read ({first_line(exc)})") from exc


def thumbnail(pixels: np.ndarray, size: int = THUMBNAIL_PX) -> np.ndarray:
    """An 8-bit square preview of a tile for the card's sample grid (contrast-stretched)."""
    from PIL import Image

    grey = pixels if pixels.ndim == 2 else pixels[..., :3]
    low, high = np.percentile(grey, (0.5, 99.5))
    scaled = np.clip((grey.astype(np.float32) - low) / max(float(high - low), 1e-6), 0, 1)
    image = Image.fromarray((scaled * 255).astype(np.uint8))
    return np.asarray(image.resize((size, size), Image.Resampling.BILINEAR))

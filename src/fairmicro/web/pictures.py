"""Thumbnails, full-size previews and mask overlays, made once and cached on disk by sha256.

A picture is found by the image's sha256 only: the catalog names the file, its
bytes are checked against the hash (:func:`fairmicro.builders.pixels.load_catalog_image`)
and the result is written under ``<catalog>.web/`` with a name built from the
validated hash. No part of a request path ever becomes a file path.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import numpy as np

from fairmicro.catalog import web_queries as wq
from fairmicro.errors import FairmicroError
from fairmicro.web.access import CatalogAccess

THUMB_PX = 256


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def to_8bit(pixels: np.ndarray) -> np.ndarray:
    """Display pixels: 8-bit kept, wider samples contrast-stretched (0.5-99.5 percentiles), alpha dropped."""
    if pixels.ndim == 3 and pixels.shape[-1] in (2, 4):
        pixels = pixels[..., :-1] if pixels.shape[-1] == 4 else pixels[..., 0]
    if pixels.dtype == np.uint8:
        return pixels
    low, high = np.percentile(pixels, (0.5, 99.5))
    scaled = np.clip((pixels.astype(np.float32) - low) / max(float(high - low), 1e-6), 0, 1)
    return (scaled * 255).astype(np.uint8)


def _load(access: CatalogAccess, sha256: str) -> np.ndarray:
    from fairmicro.builders.pixels import load_catalog_image

    with access.reading() as catalog:
        row = wq.pixel_source(catalog, sha256)
        if row is None:
            raise FileNotFoundError(sha256)
        return to_8bit(load_catalog_image(catalog, row))


def _encode(pixels: np.ndarray, fmt: str, size: int | None = None) -> bytes:
    from PIL import Image

    image = Image.fromarray(pixels)
    if size is not None:
        image.thumbnail((size, size), Image.Resampling.BILINEAR)
    out = io.BytesIO()
    image.save(out, format=fmt, **({"quality": 85} if fmt == "JPEG" else {"compress_level": 1}))
    return out.getvalue()


def thumbnail(access: CatalogAccess, sha256: str) -> Path:
    """The cached JPEG thumbnail (longest side :data:`THUMB_PX`) of a validated sha256; made on first use.

    Raises
    ------
    FileNotFoundError
        If no image has this sha256.
    FairmicroError
        If no copy of the image file still has the catalogued content.
    """
    path = access.cache_dir / "thumbs" / sha256[:2] / f"{sha256}.jpg"
    if not path.exists():
        _atomic_write(path, _encode(_load(access, sha256), "JPEG", THUMB_PX))
    return path


def preview(access: CatalogAccess, sha256: str) -> Path:
    """The cached full-resolution 8-bit PNG of a validated sha256 (data bar cropped); made on first use."""
    path = access.cache_dir / "full" / sha256[:2] / f"{sha256}.png"
    if not path.exists():
        _atomic_write(path, _encode(_load(access, sha256), "PNG"))
    return path


def mask_overlay(access: CatalogAccess, sha256: str, source: str) -> Path:
    """The image's newest ``manual`` or ``predicted`` mask in class colours with alpha, cached by mask sha256.

    Raises
    ------
    FileNotFoundError
        If the image has no such mask.
    FairmicroError
        If the mask file is gone or changed since it was paired.
    """
    from fairmicro.catalog.masks import image_masks

    with access.reading() as catalog:
        ref = image_masks(catalog, [sha256], source=source).get(sha256)
    if ref is None:
        raise FileNotFoundError(sha256)
    mask_sha = str(getattr(ref, "mask_sha256", "") or "")
    name = f"{sha256}-{source}-{mask_sha[:16] if _hex(mask_sha) else 'x'}.png"
    path = access.cache_dir / "masks" / sha256[:2] / name
    if not path.exists():
        _atomic_write(path, _encode(_coloured(ref), "PNG"))
    return path


def _hex(text: str) -> bool:
    """Whether ``text`` is lower-case hex (safe in a file name)."""
    return bool(text) and all(c in "0123456789abcdef" for c in text)


def _coloured(ref: object) -> np.ndarray:
    from fairmicro.catalog.masks import MaskError
    from fairmicro.models.qualifier.render import draw

    try:
        label_map = ref.read()  # type: ignore[attr-defined]
    except MaskError as exc:
        raise FairmicroError(str(exc)) from None
    rgb = draw(label_map, ref.class_map)  # type: ignore[attr-defined]
    alpha = np.where(np.asarray(label_map) > 0, 140, 0).astype(np.uint8)
    return np.dstack([rgb, alpha])

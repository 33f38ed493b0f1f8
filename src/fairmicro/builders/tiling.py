"""Cutting images into tiles: data-bar crop, fixed grid with stride, mask-guided tiles.

Pure numpy and deterministic: the same image and settings give the same tiles
in the same (row-major) order.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np

from fairmicro.errors import DatasetBuildError


@dataclass(frozen=True)
class TilingSpec:
    """How images become rows.

    Parameters
    ----------
    tile
        Edge of square tiles in pixels; ``None`` keeps each (cropped) image whole.
    stride
        Step between tile origins; ``None`` means ``tile`` (no overlap). A stride
        below ``tile`` overlaps neighbouring tiles by ``tile - stride`` pixels.
    crop_data_bar
        Remove the ``data_bar_height_px`` rows the catalog recorded below the image.
    crop_bottom
        Rows to remove at the bottom of every image whose data bar is not
        cropped from the catalog's record (``--crop-bottom``): PNG or JPEG exports
        with a burnt-in data bar but no vendor metadata saying how tall it is.
    mask_guided
        Keep only tiles whose mask (from the catalog's mask annotations) is one
        class, as for the HCCI tiles of Stiefel et al.
    min_purity
        Fraction of a tile's mask pixels that must share one value (1.0 = all).
    mask_classes
        Mask value -> class name. When given, a mask-guided tile takes its label
        from the mask and tiles of unlisted values are dropped; otherwise tiles
        keep the image's label.
    """

    tile: int | None = None
    stride: int | None = None
    crop_data_bar: bool = True
    crop_bottom: int = 0
    mask_guided: bool = False
    min_purity: float = 1.0
    mask_classes: Mapping[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.tile is not None and self.tile < 1:
            raise DatasetBuildError(f"--tile {self.tile}: a tile must be at least 1 pixel")
        if self.stride is not None and (self.tile is None or self.stride < 1):
            raise DatasetBuildError("--stride needs --tile and must be at least 1 pixel")
        if isinstance(self.crop_bottom, bool) or not isinstance(self.crop_bottom, int) or self.crop_bottom < 0:
            raise DatasetBuildError(f"--crop-bottom {self.crop_bottom}: expected a number of pixel rows, 0 or more")
        if not 0 < self.min_purity <= 1:
            raise DatasetBuildError(f"mask purity {self.min_purity} must be in (0, 1]")
        if self.mask_classes and not self.mask_guided:
            raise DatasetBuildError("mask classes need mask-guided tiling (--mask-guided)")

    @property
    def step(self) -> int | None:
        """The effective stride."""
        return self.stride or self.tile

    def bottom_rows(self, data_bar_height_px: int | None) -> int:
        """Rows cut from the bottom of an image whose catalog records this data bar height.

        The recorded bar when ``crop_data_bar`` and the catalog knows one, else ``crop_bottom``.
        """
        if self.crop_data_bar and data_bar_height_px:
            return int(data_bar_height_px)
        return self.crop_bottom

    def model_input(self) -> dict[str, object]:
        """The settings that turn any catalog image into model input (no mask filtering)."""
        return {
            "tile": self.tile,
            "stride": self.step,
            "crop_data_bar": self.crop_data_bar,
            "crop_bottom": self.crop_bottom,
        }

    @classmethod
    def from_model_input(cls, settings: Mapping[str, object]) -> TilingSpec:
        """The spec a recorded :meth:`model_input` (or full :meth:`to_dict`) describes, without masks.

        Raises
        ------
        DatasetBuildError
            If the recorded values are not a valid tiling.
        """
        tile, stride = settings.get("tile"), settings.get("stride")
        try:
            return cls(
                tile=None if tile is None else int(tile),  # type: ignore[call-overload]
                stride=None if stride is None or tile is None else int(stride),  # type: ignore[call-overload]
                crop_data_bar=bool(settings.get("crop_data_bar", True)),
                crop_bottom=int(settings.get("crop_bottom") or 0),  # type: ignore[call-overload]
            )
        except (TypeError, ValueError) as exc:
            raise DatasetBuildError(f"recorded tiling {dict(settings)} is not valid ({exc})") from exc

    def to_dict(self) -> dict[str, object]:
        """JSON-ready settings (for the fingerprint, the card and the catalog)."""
        return {
            **self.model_input(),
            "mask_guided": self.mask_guided,
            "min_purity": self.min_purity,
            "mask_classes": {str(k): v for k, v in sorted(self.mask_classes.items())},
        }


@dataclass(frozen=True)
class Tile:
    """One tile: pixels, its origin in the cropped image, and a label from the mask if any."""

    pixels: np.ndarray
    x: int
    y: int
    mask_label: str | None = None


def crop_data_bar(pixels: np.ndarray, bar_rows: int | None) -> np.ndarray:
    """``pixels`` without the bottom ``bar_rows`` rows (a view, no copy)."""
    if not bar_rows:
        return pixels
    if bar_rows >= pixels.shape[0]:
        raise DatasetBuildError(f"data bar of {bar_rows} rows leaves nothing of a {pixels.shape[0]}-row image")
    return pixels[: pixels.shape[0] - bar_rows]


def grid_origins(height: int, width: int, tile: int, step: int) -> Iterator[tuple[int, int]]:
    """(y, x) of every whole tile on the grid, row-major; partial edge tiles are skipped."""
    for y in range(0, height - tile + 1, step):
        for x in range(0, width - tile + 1, step):
            yield y, x


def align_mask(mask: np.ndarray, image_shape: tuple[int, ...], bar_rows: int | None) -> np.ndarray:
    """The mask cropped like the image; it may be given with or without the data bar.

    Raises
    ------
    DatasetBuildError
        If the mask's size matches neither.
    """
    height, width = image_shape[:2]
    if mask.ndim == 3:
        mask = mask[..., 0]
    if mask.shape == (height, width):
        return mask
    if bar_rows and mask.shape == (height + bar_rows, width):
        return mask[:height]
    raise DatasetBuildError(f"mask of {mask.shape[1]}x{mask.shape[0]} px does not fit an image of {width}x{height} px")


def dominant_value(mask_tile: np.ndarray, min_purity: float) -> int | None:
    """The mask value covering at least ``min_purity`` of the tile, else None."""
    values, counts = np.unique(mask_tile, return_counts=True)
    best = int(np.argmax(counts))
    if counts[best] >= min_purity * mask_tile.size:
        return int(values[best])
    return None


def tiles(pixels: np.ndarray, spec: TilingSpec, mask: np.ndarray | None = None) -> Iterator[Tile]:
    """Tiles of an already cropped image (and its aligned mask, when mask-guided)."""
    height, width = pixels.shape[:2]
    if spec.tile is None:
        origins: Iterator[tuple[int, int]] = iter([(0, 0)])
        size_y, size_x = height, width
    else:
        origins = grid_origins(height, width, spec.tile, spec.step or spec.tile)
        size_y = size_x = spec.tile
    for y, x in origins:
        window = (slice(y, y + size_y), slice(x, x + size_x))
        label = None
        if spec.mask_guided:
            if mask is None:
                return
            value = dominant_value(mask[window], spec.min_purity)
            if value is None:
                continue
            if spec.mask_classes:
                label = spec.mask_classes.get(value)
                if label is None:
                    continue
        yield Tile(pixels[window], x, y, label)


def tile_count(height: int, width: int, spec: TilingSpec) -> int:
    """How many grid tiles an image of this (cropped) size gives, before any mask filter."""
    if spec.tile is None:
        return 1
    step = spec.step or spec.tile
    rows = max(0, (height - spec.tile) // step + 1)
    cols = max(0, (width - spec.tile) // step + 1)
    return rows * cols

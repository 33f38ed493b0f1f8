"""The one way a catalog image becomes model input, for build, predict and every plugin.

A build records how it turned images into rows (tile size, stride, whether the
vendor data bar was cropped, ``--crop-bottom``) in the catalog, in its card's
YAML header (``fairmicro.model_input``) and in the RO-Crate. :func:`input_rows`
reads one catalog image and yields exactly the rows such a build writes: the
same decoding and sample types (8/16-bit, grey/RGB/RGBA), the same crop, the
same tiles in the same order, PNG-encoded, with the same metadata columns. The
builder writes these rows; ``fairmicro predict`` feeds them to the model, so a
model never sees an image prepared differently from its training data.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from fairmicro.builders import pixels
from fairmicro.builders.columns import IMAGE_COLUMN, TILE_COLUMNS, metadata_columns
from fairmicro.builders.tiling import Tile, TilingSpec, align_mask, tiles
from fairmicro.errors import DatasetBuildError

if TYPE_CHECKING:
    from fairmicro.catalog.store import Catalog

# image_metadata columns the pixels need (besides the metadata copied into each row).
PIXEL_COLUMNS = ("sha256", "path", "file_format", "page_index", "data_bar_height_px", "height_px")
CARD_KEY = "fairmicro"
MODEL_INPUT_KEY = "model_input"


def read_columns() -> list[str]:
    """Every ``image_metadata`` column :func:`input_rows` reads."""
    return list(dict.fromkeys([*PIXEL_COLUMNS, *(source for source, _ in metadata_columns())]))


def metadata_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """The dataset's metadata columns of one catalog row (renamed as the dataset names them)."""
    return {column.name: row.get(source) for source, column in metadata_columns()}


def cropped_pixels(catalog: Catalog, row: Mapping[str, Any], spec: TilingSpec) -> np.ndarray:
    """The image's pixels, checked against its sha256, with the bottom rows ``spec`` removes cut off.

    Raises
    ------
    DatasetBuildError
        If the image cannot be read or decoded, or the crop leaves no rows.
    """
    image = pixels.load_catalog_image(catalog, row, crop_data_bar=False)
    bar = spec.bottom_rows(row.get("data_bar_height_px"))
    if bar >= image.shape[0]:
        raise DatasetBuildError(
            f"{Path(row['path']).name}: cutting {bar} bottom rows (data bar or --crop-bottom) "
            f"leaves nothing of its {image.shape[0]} rows"
        )
    return image[: image.shape[0] - bar] if bar else image


def input_tiles(
    catalog: Catalog, row: Mapping[str, Any], spec: TilingSpec, mask_path: str | None = None
) -> Iterator[Tile]:
    """The tiles of one catalog image as a build with ``spec`` cuts them (row-major)."""
    image = cropped_pixels(catalog, row, spec)
    mask = None
    if spec.mask_guided and mask_path is not None:
        bar = spec.bottom_rows(row.get("data_bar_height_px"))
        mask = align_mask(pixels.read_mask(mask_path), image.shape, bar)
    yield from tiles(image, spec, mask)


def input_rows(
    catalog: Catalog, row: Mapping[str, Any], spec: TilingSpec, mask_path: str | None = None
) -> Iterator[tuple[Tile, dict[str, Any]]]:
    """Each tile of one catalog image with its dataset row (no label), as ``fairmicro build`` writes it.

    Parameters
    ----------
    catalog
        The catalog the image is in.
    row
        The image's ``image_metadata`` columns (at least :func:`read_columns`).
    spec
        The build's tiling: :meth:`TilingSpec.from_model_input` of what the build recorded.
    mask_path
        The image's mask, for mask-guided builds only.

    Yields
    ------
    (Tile, dict)
        The tile and its row: ``image`` (PNG bytes and a name), the metadata
        columns and ``tile_x_px``, ``tile_y_px``, ``tile_width_px``, ``tile_height_px``.
    """
    metadata = metadata_row(row)
    sha = row["sha256"]
    for tile in input_tiles(catalog, row, spec, mask_path):
        height, width = tile.pixels.shape[:2]
        out = dict(metadata)
        out[IMAGE_COLUMN] = {
            "bytes": pixels.encode_png(tile.pixels),
            "path": f"{sha[:16]}_y{tile.y}_x{tile.x}.png",
        }
        names = (c.name for c in TILE_COLUMNS)
        out.update(zip(names, (tile.x, tile.y, width, height), strict=True))
        yield tile, out


def card_metadata(folder: Path) -> dict[str, Any]:
    """The ``fairmicro`` block of a built folder's card header (``{}`` when it has none)."""
    card = folder / "README.md"
    try:
        text = card.read_text(encoding="utf-8")
        header = yaml.safe_load(text.split("---\n")[1]) if text.startswith("---\n") else None
    except (OSError, UnicodeDecodeError, IndexError, yaml.YAMLError):
        return {}
    block = header.get(CARD_KEY) if isinstance(header, dict) else None
    return block if isinstance(block, dict) else {}


def recorded_model_input(folder: Path) -> dict[str, Any] | None:
    """How the dataset in ``folder`` (a build or a Hub snapshot of one) turned images into rows.

    ``None`` when its card records nothing (not built by this fairmicro).
    """
    plan = card_metadata(folder).get(MODEL_INPUT_KEY)
    return plan if isinstance(plan, dict) else None

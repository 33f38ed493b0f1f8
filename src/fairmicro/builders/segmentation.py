"""``fairmicro build ... --task segmentation``: image and mask features from the catalog's masks.

Every selected image with a manual mask annotation gives rows of ``image``
(the micrograph, as in classification builds) and ``mask`` (an 8-bit ``L``
label map of class values, cut with the same tiling; 255 where the mask does
not reach: left out of training and scoring), plus ``file_name``,
``image_height_px``, ``image_width_px`` and the usual metadata and tile
columns. Whole images by default. Splits are grouped as in classification
builds. The class map travels with the dataset in the card: in
``dataset_info.description`` (which ``datasets.load_dataset`` keeps as
``DatasetInfo.description``) and in the ``fairmicro`` block;
:func:`mask_classes` reads it back.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fairmicro.catalog.masks import NO_MASK, ClassMap, MaskRef, full_label_map
from fairmicro.errors import DatasetBuildError

if TYPE_CHECKING:
    from fairmicro.builders.build import BuildConfig
    from fairmicro.builders.info import BuildInfo
    from fairmicro.builders.plan import Plan
    from fairmicro.builders.tiling import TilingSpec
    from fairmicro.catalog.store import Catalog

TASK = "segmentation"
MASK_COLUMN = "mask"
FILE_NAME_COLUMN = "file_name"
SIZE_COLUMNS = ("image_height_px", "image_width_px")
IGNORE_INDEX = NO_MASK
DESCRIPTION_KEY = "fairmicro"


def mask_classes(dataset: Any) -> list[str]:
    """Class names by mask value of a segmentation dataset built by fairmicro.

    Parameters
    ----------
    dataset
        A ``datasets.Dataset`` or ``DatasetDict`` (loaded from a build folder or the
        Hub), or the build folder itself.

    Raises
    ------
    DatasetBuildError
        If the dataset records no class map (not a fairmicro segmentation build).
    """
    classes = class_map_entries(dataset)
    return [entry["name"] for entry in sorted(classes, key=lambda e: e["value"])]


def class_map_entries(dataset: Any) -> list[dict[str, Any]]:
    """``[{"value", "name", "colour"}, ...]`` of a segmentation dataset (see :func:`mask_classes`)."""
    if isinstance(dataset, (str, Path)):
        from fairmicro.builders.model_input import card_metadata

        found = card_metadata(Path(dataset)).get("mask_classes")
    else:
        found = _from_description(dataset)
    if not isinstance(found, list) or not found:
        raise DatasetBuildError(
            f"{_name(dataset)}: records no mask class map; build it with `fairmicro build ... --task segmentation`"
        )
    return found


def _from_description(dataset: Any) -> Any:
    splits = list(dataset.values()) if hasattr(dataset, "values") and not hasattr(dataset, "info") else [dataset]
    for split in splits:
        try:
            block = json.loads(split.info.description or "")
        except (AttributeError, TypeError, ValueError):
            continue
        if isinstance(block, dict) and isinstance(block.get(DESCRIPTION_KEY), dict):
            return block[DESCRIPTION_KEY].get("mask_classes")
    return None


def _name(dataset: Any) -> str:
    return str(dataset) if isinstance(dataset, (str, Path)) else type(dataset).__name__


def description_json(class_map: list[dict[str, Any]]) -> str:
    """The ``dataset_info.description`` text that carries the class map."""
    block = {DESCRIPTION_KEY: {"task": TASK, "mask_classes": class_map, "ignore_index": IGNORE_INDEX}}
    return json.dumps(block, sort_keys=True, ensure_ascii=False)


def hf_features(class_names: list[str]) -> Any:
    """``datasets.Features``: image, mask (label map), file name, image size, schema-typed metadata."""
    from fairmicro.builders.columns import HF_DTYPES, IMAGE_COLUMN, dataset_columns
    from fairmicro.builders.deps import require

    datasets = require("datasets")
    features = {
        IMAGE_COLUMN: datasets.Image(),
        MASK_COLUMN: datasets.Image(),
        FILE_NAME_COLUMN: datasets.Value("string"),
        **{name: datasets.Value("int64") for name in SIZE_COLUMNS},
    }
    for column in dataset_columns():
        features[column.name] = datasets.Value(HF_DTYPES[column.sql_type])
    return datasets.Features(features)


def check_config(config: BuildConfig) -> None:
    """Refuse options that make no sense for segmentation.

    Raises
    ------
    DatasetBuildError
        For mask-guided tiling or a mask folder (masks come from ``ingest --masks``).
    """
    if config.tiling.mask_guided or config.tiling.mask_classes:
        raise DatasetBuildError("--task segmentation keeps every tile with its mask: drop --mask-guided/--mask-class")
    if config.mask_dir is not None:
        raise DatasetBuildError(
            "--task segmentation reads the masks paired at ingest: run `fairmicro ingest IMAGES --masks DIR` "
            "instead of --mask-dir"
        )


def segmentation_rows(catalog: Catalog, row: dict[str, Any], tiling: TilingSpec, ref: MaskRef) -> Any:
    """(image tile, mask tile, dataset row) of one image: same crop, same tiles (row-major)."""
    from fairmicro.builders import pixels
    from fairmicro.builders.model_input import input_rows
    from fairmicro.builders.tiling import TilingSpec as Spec
    from fairmicro.builders.tiling import tiles

    label_map = full_label_map(ref.read(), int(row["height_px"]))
    bar = tiling.bottom_rows(row.get("data_bar_height_px"))
    label_map = label_map[: label_map.shape[0] - bar] if bar else label_map
    plain = Spec(tile=tiling.tile, stride=tiling.stride)
    name = Path(row["path"]).name
    sha = row["sha256"]
    mask_tiles = tiles(label_map, plain)
    for tile, out in input_rows(catalog, row, tiling):
        mask_tile = next(mask_tiles)
        if mask_tile.pixels.shape != tile.pixels.shape[:2]:
            raise DatasetBuildError(f"mask {ref.mask_path} does not fit image {name} after cropping")
        out[MASK_COLUMN] = {
            "bytes": pixels.encode_png(mask_tile.pixels),
            "path": f"{sha[:16]}_y{tile.y}_x{tile.x}_mask.png",
        }
        out[FILE_NAME_COLUMN] = name
        out[SIZE_COLUMNS[0]], out[SIZE_COLUMNS[1]] = label_map.shape
        yield tile, mask_tile.pixels, out


def pixel_counts(mask: np.ndarray, class_names: list[str]) -> Counter[str]:
    """Pixels per class name in one mask tile (255, no mask, not counted)."""
    counts = np.bincount(mask.ravel(), minlength=256)
    return Counter({name: int(counts[value]) for value, name in enumerate(class_names) if counts[value]})


def class_map_of(refs: dict[str, MaskRef]) -> ClassMap:
    """The one class map of the selected masks.

    Raises
    ------
    DatasetBuildError
        If the masks use different class maps (ingested with different --mask-classes/--mask-colors).
    """
    maps = {ref.class_map.id: ref.class_map for ref in refs.values()}
    if len(maps) > 1:
        names = sorted({", ".join(m.names) for m in maps.values()})
        raise DatasetBuildError(
            f"the selected masks use {len(maps)} different class maps ({' | '.join(names)}); "
            "select images of one class map with --where, or re-ingest the masks with one --mask-classes"
        )
    return next(iter(maps.values()))


def fractions_table(info: BuildInfo) -> str:
    """Markdown: per split, each class's share of the split's masked pixels."""
    lines = ["| class | value | colour | " + " | ".join(s.name for s in info.splits) + " |"]
    lines.append("|" + " --- |" * (3 + len(info.splits)))
    for entry in info.mask_class_map:
        cells = []
        for split in info.splits:
            total = sum(split.classes.values())
            share = 100 * split.classes[entry["name"]] / total if total else 0.0
            cells.append(f"{share:.2f}%")
        lines.append(f"| {entry['name']} | {entry['value']} | {entry['colour'] or ''} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plan_segmentation(catalog: Catalog, config: BuildConfig) -> tuple[Plan, dict[str, MaskRef]]:
    """The pre-pass of a segmentation build (see :mod:`fairmicro.builders.segmentation_plan`)."""
    from fairmicro.builders.segmentation_plan import plan_segmentation as plan

    return plan(catalog, config)

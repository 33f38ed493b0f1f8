"""The writing side of a segmentation build: split writers, per-class pixel counts, card and Croissant parts."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fairmicro.builders import hf
from fairmicro.builders.build import _Collector
from fairmicro.builders.segmentation import (
    FILE_NAME_COLUMN,
    IGNORE_INDEX,
    MASK_COLUMN,
    SIZE_COLUMNS,
    description_json,
    fractions_table,
    hf_features,
    pixel_counts,
    segmentation_rows,
)

if TYPE_CHECKING:
    from fairmicro.builders.build import BuildConfig
    from fairmicro.builders.info import BuildInfo
    from fairmicro.builders.plan import Plan
    from fairmicro.builders.tiling import TilingSpec
    from fairmicro.catalog.masks import MaskRef
    from fairmicro.catalog.store import Catalog


class SegmentationSink(_Collector):
    """Per-split writers of image + mask rows; split stats count masked pixels per class."""

    def __init__(self, folder: Path, plan: Plan, config: BuildConfig, refs: dict[str, MaskRef]) -> None:
        super().__init__(folder, plan, config)
        self.refs = refs
        self.class_names = plan.class_names
        self.features = hf_features(plan.class_names)
        schema = self.features.arrow_schema
        self.writers = {
            name: hf.SplitWriter(
                folder, stats, schema, rows_per_group=config.rows_per_group, max_shard_bytes=config.max_shard_bytes
            )
            for name, stats in self.stats.items()
        }

    def write_image(self, catalog: Catalog, row: dict[str, Any], plan: Plan, tiling: TilingSpec) -> int:
        """Write the rows of one image and its mask; returns how many."""
        split = plan.images[row["sha256"]].split
        written = 0
        for _tile, mask, out in segmentation_rows(catalog, row, tiling, self.refs[row["sha256"]]):
            self.writers[split].add(out)
            self.stats[split].classes.update(pixel_counts(mask, self.class_names))
            self.coverage.update(k for k, v in out.items() if v is not None)
            written += 1
        return written


def card_header_changes(info: BuildInfo) -> dict[str, Any]:
    """What a segmentation card's YAML header says differently (task, class map in the description)."""
    return {
        "task_categories": ["image-segmentation"],
        "task_ids": ["semantic-segmentation"],
        "description": description_json(info.mask_class_map),
        "mask_classes": info.settings.get("mask_classes"),
    }


def card_body(info: BuildInfo) -> str:
    """The card section on masks: class map and per-split class pixel fractions."""
    return f"""## Masks

`mask` is an 8-bit label map (PNG, mode `L`) cut exactly like `image`: each pixel holds its class
value below. Value {IGNORE_INDEX} marks pixels no mask covers (a mask shorter than its image covers its
top rows); leave them out of training and scoring (e.g. `ignore_index={IGNORE_INDEX}`). `file_name` is the
source image's file name, `image_height_px` x `image_width_px` the size of the image the tiles come from.
The class map is in this card's header (`fairmicro.mask_classes`) and, as JSON, in
`dataset_info.description`; `fairmicro.builders.segmentation.mask_classes(dataset)` reads it.

Share of each split's masked pixels per class:

{fractions_table(info)}
"""


def croissant_fields(mlc: Any, source: Any) -> list[Any]:
    """Croissant fields of the mask, file name and image size columns (instead of a label)."""
    int_type = mlc.DataType.INTEGER
    return [
        mlc.Field(
            id=f"default/{MASK_COLUMN}",
            name=MASK_COLUMN,
            description=f"8-bit label map of class values (PNG), tiled like the image; {IGNORE_INDEX} = no mask.",
            data_types=[mlc.DataType.IMAGE_OBJECT],
            source=source(mlc, MASK_COLUMN, "bytes"),
        ),
        mlc.Field(
            id=f"default/{FILE_NAME_COLUMN}",
            name=FILE_NAME_COLUMN,
            description="File name of the source image.",
            data_types=[mlc.DataType.TEXT],
            source=source(mlc, FILE_NAME_COLUMN),
        ),
        *(
            mlc.Field(
                id=f"default/{name}",
                name=name,
                description=f"{name.split('_')[1].capitalize()} of the source image (after data-bar cropping) [px].",
                data_types=[int_type],
                source=source(mlc, name),
            )
            for name in SIZE_COLUMNS
        ),
    ]


def mask_thumbnail(mask: np.ndarray) -> np.ndarray:
    """A grey preview of a label map (classes spread over 0..254, no mask white)."""
    top = max(int(mask[mask != IGNORE_INDEX].max(initial=0)), 1)
    return np.where(mask == IGNORE_INDEX, 255, mask.astype(np.uint16) * 200 // top).astype(np.uint8)

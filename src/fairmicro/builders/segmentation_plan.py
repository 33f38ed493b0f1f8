"""The light pre-pass of a segmentation build: which images have masks, their groups and splits."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fairmicro.builders.columns import source_columns
from fairmicro.builders.fingerprint import RowDigest, fingerprint
from fairmicro.builders.plan import STORABLE_BITS, Plan, PlannedImage
from fairmicro.builders.segmentation import TASK, class_map_of
from fairmicro.builders.splits import Item, assign_groups
from fairmicro.builders.tiling import tile_count
from fairmicro.catalog.masks import MaskRef, image_masks
from fairmicro.catalog.selection import iter_rows, resolve_columns
from fairmicro.errors import DatasetBuildError

if TYPE_CHECKING:
    from fairmicro.builders.build import BuildConfig
    from fairmicro.catalog.store import Catalog

log = logging.getLogger(__name__)
LABEL = "mask"  # every image's stratum: segmentation images have no class label


def plan_segmentation(catalog: Catalog, config: BuildConfig) -> tuple[Plan, dict[str, MaskRef]]:
    """Select images with a manual mask, group and split them, fingerprint the build.

    Raises
    ------
    DatasetBuildError
        If nothing selected has a mask, the masks use several class maps, or an image cannot be stored.
    """
    splits, tiling = config.splits, config.tiling
    metadata = list(source_columns())
    attributes = resolve_columns(catalog, splits.columns)
    needed = list(dict.fromkeys([*metadata, "sha256", "path", "height_px", "width_px", *splits.columns]))
    rows = list(iter_rows(catalog, config.selection, needed, attributes))
    if not rows:
        raise DatasetBuildError(f"--where {config.selection.where!r} selects no images; try it with `fairmicro query`")
    refs = image_masks(catalog, [row["sha256"] for row in rows])
    digest, items, notes = RowDigest(), [], Counter[str]()
    unplaced: list[str] = []  # published splits: images in no split folder
    for row in rows:
        ref = refs.get(row["sha256"])
        if ref is None:
            notes["maskless"] += 1
            continue
        _refuse_unstorable(row)
        digest.add([row[c] for c in metadata])
        group = splits.group_of(row)
        if group is None and splits.published:
            unplaced.append(str(row["path"]))
            continue
        notes["ungrouped"] += group is None
        bar = tiling.bottom_rows(row["data_bar_height_px"])
        weight = tile_count(int(row["height_px"]) - bar, int(row["width_px"]), tiling)
        notes["tileless"] += weight == 0
        items.append(Item(row["sha256"], LABEL, f"image:{row['sha256']}" if group is None else group, weight))
    if unplaced:
        raise splits.unplaced_error(len(unplaced), unplaced[0])
    if not items:
        raise DatasetBuildError(
            f"none of the {len(rows)} selected image(s) has a mask; pair masks with "
            "`fairmicro ingest IMAGES --masks DIR --mask-classes ...` first"
        )
    refs = {item.key: refs[item.key] for item in items}
    class_map = class_map_of(refs)
    assignment = assign_groups(items, config.splits)
    settings: dict[str, Any] = {
        "task": TASK,
        "label_column": None,
        "class_names": class_map.names,
        **tiling.to_dict(),
        **config.splits.to_dict(),
        "mask_classes": class_map.to_list(),  # replaces mask-guided tiling's (always empty here)
    }
    fp = fingerprint(
        ((i.key, i.label, i.group) for i in items),
        settings,
        digest.hexdigest(),
        {sha: ref.mask_sha256 for sha, ref in refs.items()},
    )
    images = {i.key: PlannedImage(i.label, i.group, assignment[i.group]) for i in items}
    expected: dict[str, Counter[str]] = {name: Counter() for name in config.splits.split_names}
    warnings = _warnings(notes, splits.split_by) + splits.published_notes(items)
    for note in warnings:
        log.debug(note)  # returned in the plan; the caller shows it (a log line too would print it twice)
    plan = Plan(images, class_map.names, expected, {s: r.mask_path for s, r in refs.items()}, fp, settings, warnings)
    return plan, refs


def _refuse_unstorable(row: dict[str, Any]) -> None:
    if row["bit_depth"] not in STORABLE_BITS:
        raise DatasetBuildError(
            f"{Path(row['path']).name} ({row['bit_depth']}-bit) has samples PNG cannot hold losslessly; "
            'exclude it with --where "... AND bit_depth <= 16"'
        )


def _warnings(notes: Counter[str], split_by: str) -> list[str]:
    out = []
    if notes["maskless"]:
        out.append(f"{notes['maskless']} selected image(s) have no mask and are left out (segmentation)")
    if notes["ungrouped"]:
        out.append(f"{notes['ungrouped']} image(s) have no {split_by}; each is its own group")
    if notes["tileless"]:
        out.append(f"{notes['tileless']} image(s) are smaller than one tile and give no rows")
    return out

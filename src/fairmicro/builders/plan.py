"""The first, light pass of a build: who is in it, with which label, in which split.

It streams the selection once without touching pixels: collects each image's
label and group, counts the tiles each image will give, finds masks, digests
the metadata that will be copied, assigns groups to splits, checks every split
has every class, and computes the fingerprint. Only a few strings per image are
kept; rows are never all in memory.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fairmicro.builders.columns import source_columns
from fairmicro.builders.fingerprint import RowDigest, fingerprint
from fairmicro.builders.splits import Item, SplitSpec, assign_groups, check_classes, class_counts
from fairmicro.builders.tiling import TilingSpec, tile_count
from fairmicro.catalog.selection import Selection, iter_rows, resolve_columns
from fairmicro.catalog.store import Catalog
from fairmicro.errors import DatasetBuildError
from fairmicro.hashing import sha256_file

log = logging.getLogger(__name__)

NO_LABEL = "(unlabelled)"
MASK_SUFFIXES = (".png", ".tif", ".tiff")
STORABLE_BITS = (1, 8, 16)  # PNG holds these exactly


@dataclass(frozen=True)
class PlannedImage:
    """One selected image: its label, group and split."""

    label: str
    group: str
    split: str


@dataclass
class Plan:
    """Everything decided before pixels are read."""

    images: dict[str, PlannedImage]
    class_names: list[str]
    expected: dict[str, Counter[str]]
    masks: dict[str, str]
    fingerprint: str
    settings: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def _mask_paths(catalog: Catalog) -> dict[str, str]:
    """Newest mask annotation per image, from the catalog."""
    return catalog.newest_mask_paths()


def _mask_in_dir(mask_dir: Path | None, image_path: str) -> str | None:
    if mask_dir is None:
        return None
    stem = Path(image_path).stem
    return next((str(p) for s in MASK_SUFFIXES if (p := mask_dir / f"{stem}{s}").is_file()), None)


def _file_sha(path: str) -> str:
    try:
        return sha256_file(Path(path))
    except OSError as exc:
        raise DatasetBuildError(f"mask {path}: cannot be read ({exc.strerror or exc})") from exc


def _label_text(value: Any, spec: TilingSpec) -> str | None:
    if value is None:
        return NO_LABEL if spec.mask_classes else None
    return str(value)


class _Scan:
    """Accumulates the pre-pass over the selected rows."""

    def __init__(
        self,
        label: str,
        tiling: TilingSpec,
        splits: SplitSpec,
        mask_dir: Path | None,
        catalog_masks: dict[str, str],
    ) -> None:
        self.label, self.tiling, self.splits = label, tiling, splits
        self.unplaced: list[str] = []  # published splits: images in no split folder
        self.mask_dir, self.catalog_masks = mask_dir, catalog_masks
        self.items: list[Item] = []
        self.masks: dict[str, str] = {}
        self.digest = RowDigest()
        self.unlabelled = self.ungrouped = self.tileless = self.maskless = 0
        self.deep: list[str] = []
        self.overcropped: list[str] = []

    def add(self, row: dict[str, Any], metadata: list[str]) -> None:
        sha = row["sha256"]
        self.digest.add([row[c] for c in metadata])
        if row["bit_depth"] not in STORABLE_BITS:
            self.deep.append(f"{Path(row['path']).name} ({row['bit_depth']}-bit)")
        label = _label_text(row[self.label], self.tiling)
        if label is None:
            self.unlabelled += 1
            return
        group = self.splits.group_of(row)
        if group is None and self.splits.published:
            self.unplaced.append(str(row["path"]))
            return
        if group is None:
            self.ungrouped += 1
        group_key = f"image:{sha}" if group is None else group
        bar = self.tiling.bottom_rows(row["data_bar_height_px"])
        if row["height_px"] is not None and bar >= row["height_px"]:
            self.overcropped.append(f"{Path(row['path']).name}: {bar} of its {row['height_px']} rows")
            return
        weight = tile_count((row["height_px"] or 0) - bar, row["width_px"] or 0, self.tiling)
        self.tileless += weight == 0
        if self.tiling.mask_guided:
            mask = self.catalog_masks.get(sha) or _mask_in_dir(self.mask_dir, row["path"])
            if mask is None:
                self.maskless += 1
                weight = 0
            else:
                self.masks[sha] = mask
        self.items.append(Item(sha, label, group_key, weight))

    def refuse_problems(self, selection: Selection) -> None:
        """Raise for what makes a build impossible: deep samples, missing labels, nothing selected."""
        if self.overcropped:
            raise DatasetBuildError(
                f"the bottom crop (data bar or --crop-bottom) leaves nothing of "
                f"{len(self.overcropped)} selected image(s), e.g. {self.overcropped[0]}; "
                "lower --crop-bottom or leave them out with --where"
            )
        if self.deep:
            raise DatasetBuildError(
                f"{len(self.deep)} selected image(s) have samples PNG cannot hold losslessly, "
                f'e.g. {self.deep[0]}; exclude them with --where "... AND bit_depth <= 16"'
            )
        if self.unlabelled:
            raise DatasetBuildError(
                f"{self.unlabelled} selected image(s) have no value in {self.label!r}; label them, "
                f"or leave them out with --where (e.g. `... AND {self.label} IS NOT NULL`)"
            )
        if self.unplaced:
            raise self.splits.unplaced_error(len(self.unplaced), self.unplaced[0])
        if not self.items:
            raise DatasetBuildError(f"--where {selection.where!r} selects no images; try it with `fairmicro query`")

    def warnings(self) -> list[str]:
        notes = []
        if self.ungrouped:
            notes.append(f"{self.ungrouped} image(s) have no {self.splits.split_by}; each is its own group")
        if self.tileless:
            notes.append(f"{self.tileless} image(s) are smaller than one tile and give no rows")
        if self.maskless:
            notes.append(f"{self.maskless} image(s) have no mask and give no rows (mask-guided tiling)")
        return notes


def plan_build(
    catalog: Catalog,
    selection: Selection,
    label: str,
    tiling: TilingSpec,
    splits: SplitSpec,
    mask_dir: Path | None = None,
) -> Plan:
    """Run the pre-pass and decide labels, groups, splits and the fingerprint.

    Raises
    ------
    DatasetBuildError
        If nothing is selected, labels are missing, or (via
        :class:`~fairmicro.errors.EmptyClassError`) a split would lack a class.
    """
    metadata = list(source_columns())
    attributes = resolve_columns(catalog, [label, *splits.columns])
    needed = list(dict.fromkeys([*metadata, "sha256", "path", label, *splits.columns]))
    scan = _Scan(label, tiling, splits, mask_dir, _mask_paths(catalog) if tiling.mask_guided else {})
    for row in iter_rows(catalog, selection, needed, attributes):
        scan.add(row, metadata)
    scan.refuse_problems(selection)
    if tiling.mask_classes:
        class_names = sorted(set(tiling.mask_classes.values()))
    else:
        class_names = sorted({item.label for item in scan.items})
    assignment = assign_groups(scan.items, splits)
    expected = class_counts(scan.items, assignment, splits.split_names)
    if not tiling.mask_classes:
        check_classes(expected, class_names, splits, unit="tiles")
    settings = {
        "label_column": label,
        "class_names": class_names,
        **tiling.to_dict(),
        **splits.to_dict(),
    }
    mask_digests = {sha: _file_sha(path) for sha, path in sorted(scan.masks.items())}
    images = {item.key: PlannedImage(item.label, item.group, assignment[item.group]) for item in scan.items}
    fp = fingerprint(
        ((i.key, i.label, i.group) for i in scan.items),
        settings,
        scan.digest.hexdigest(),
        mask_digests,
    )
    warnings = scan.warnings() + splits.published_notes(scan.items)
    for note in warnings:
        log.debug(note)  # returned in the plan; the caller shows it (a log line too would print it twice)
    return Plan(images, class_names, expected, scan.masks, fp, settings, warnings)

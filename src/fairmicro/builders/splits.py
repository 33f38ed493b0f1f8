"""Leakage-free splits: whole groups (specimens) per split, stratified by label.

Every image of a group goes to one split, so tiles of one specimen never sit
in both train and test. Groups are placed greedily, largest first (ties in a
seeded random order), each into a split still lacking its classes if there is
one, else the split furthest below its per-class quota. The result depends
only on the items and the seed.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath

from fairmicro.errors import DatasetBuildError, EmptyClassError

DEFAULT_NAMES = {1: ("train",), 2: ("train", "test"), 3: ("train", "validation", "test")}
PUBLISHED = "folders"  # --splits folders: each image's split is the train/validation/test folder it lies in
PUBLISHED_SPLIT_BY = "split folder"  # what the card and settings name as the grouping of published splits
FOLDER_SPLITS = {
    "train": "train",
    "training": "train",
    "val": "validation",
    "valid": "validation",
    "validation": "validation",
    "dev": "validation",
    "test": "test",
    "testing": "test",
}


def published_split(path: str) -> str | None:
    """The split an image's path names: its nearest folder called train, val(idation), test, ... (any case).

    ``None`` when no folder of the path names a split.
    """
    for folder in reversed(PurePath(path).parts[:-1]):
        split = FOLDER_SPLITS.get(folder.lower())
        if split is not None:
            return split
    return None


def names_published(splits: object) -> bool:
    """Whether a ``--splits`` value asks for the published splits (``folders``, in any case)."""
    return isinstance(splits, str) and splits.strip().lower() == PUBLISHED


@dataclass(frozen=True)
class SplitSpec:
    """How rows are divided.

    Parameters
    ----------
    fractions
        Share of rows per split, summing to 1 (e.g. ``(0.7, 0.15, 0.15)``).
    split_by
        ``image_metadata`` column whose value keeps images together (a group).
    seed
        Seed of the tie-breaking order; the same seed gives the same splits.
    names
        Split names; by default train / validation / test for three fractions.
    allow_empty_class
        Accept a split that lacks a class instead of refusing the build.
    published
        Keep the splits the images were published in (:func:`published_split` of each path) instead of
        assigning groups by ``fractions``.
    """

    fractions: tuple[float, ...] = (0.7, 0.15, 0.15)
    split_by: str = "specimen_id"
    seed: int = 0
    names: tuple[str, ...] | None = None
    allow_empty_class: bool = False
    published: bool = False

    @classmethod
    def from_folders(cls, allow_empty_class: bool = False) -> SplitSpec:
        """The published splits: train / validation / test as the folders of the image paths name them."""
        thirds = (1 / 3, 1 / 3, 1 / 3)  # unused for assignment: they only name the three splits a folder may name
        return cls(thirds, PUBLISHED_SPLIT_BY, 0, allow_empty_class=allow_empty_class, published=True)

    def described(self) -> str:
        """``split by `specimen_id``` or ``split as published (...)``, for the card."""
        if self.published:
            return "split as published (each image's train/validation/test folder)"
        return f"split by `{self.split_by}`"

    @property
    def columns(self) -> list[str]:
        """The ``image_metadata`` columns the grouping reads (published splits read only ``path``)."""
        return [] if self.published else [self.split_by]

    def group_of(self, row: Mapping[str, object]) -> str | None:
        """An image row's group: its published split, or its ``split_by`` value (None: no group)."""
        if self.published:
            return published_split(str(row["path"]))
        group = row[self.split_by]
        return None if group is None else str(group)

    def published_notes(self, items: Sequence[Item]) -> list[str]:
        """A warning when published splits put every image in one split (a split-named folder above the data?)."""
        found = {item.group for item in items}
        if not self.published or len(found) != 1:
            return []
        note = (
            f"--splits {PUBLISHED}: all {len(items)} image(s) lie in {found.pop()} folders; check that this "
            "folder names their split and is not a folder above the data"
        )
        return [note]

    def unplaced_error(self, count: int, example: str) -> DatasetBuildError:
        """The error for images no published split folder holds."""
        return DatasetBuildError(
            f"--splits {PUBLISHED}: {count} selected image(s) lie in no train/validation/test folder, e.g. "
            f"{example}; leave them out with --where, or split by fractions"
        )

    def __post_init__(self) -> None:
        if not self.fractions or any(f < 0 for f in self.fractions):
            raise DatasetBuildError(f"--splits {self._text()}: fractions must be non-negative")
        if abs(sum(self.fractions) - 1) > 1e-6:
            raise DatasetBuildError(f"--splits {self._text()}: fractions must sum to 1")
        if self.names is None and len(self.fractions) not in DEFAULT_NAMES:
            raise DatasetBuildError(f"--splits {self._text()}: give 1 to 3 fractions")
        if self.names is not None and len(self.names) != len(self.fractions):
            raise DatasetBuildError("one split name is needed per fraction")

    def _text(self) -> str:
        return ",".join(f"{f:g}" for f in self.fractions)

    @property
    def split_names(self) -> tuple[str, ...]:
        """Names of the splits, in order."""
        return self.names or DEFAULT_NAMES[len(self.fractions)]

    @property
    def active(self) -> dict[str, float]:
        """Splits with a non-zero fraction, by name."""
        return {n: f for n, f in zip(self.split_names, self.fractions, strict=True) if f > 0}

    def to_dict(self) -> dict[str, object]:
        """JSON-ready settings that decide the rows (fingerprint, card, catalog)."""
        if self.published:
            return {"published": True, "names": list(self.split_names), "split_by": self.split_by}
        return {
            "fractions": list(self.fractions),
            "names": list(self.split_names),
            "split_by": self.split_by,
            "seed": self.seed,
        }


@dataclass(frozen=True)
class Item:
    """One image as the splitter sees it: key, label, group and expected rows."""

    key: str
    label: str
    group: str
    weight: int = 1


def _groups(items: Iterable[Item]) -> dict[str, Counter[str]]:
    groups: dict[str, Counter[str]] = defaultdict(Counter)
    for item in items:
        groups[item.group][item.label] += item.weight
    return groups


def _placement_order(groups: Mapping[str, Counter[str]], seed: int) -> list[str]:
    names = sorted(groups)
    random.Random(seed).shuffle(names)
    return sorted(names, key=lambda g: -sum(groups[g].values()))  # stable: seeded ties


def assign_groups(items: Sequence[Item], spec: SplitSpec) -> dict[str, str]:
    """Map every group to a split name (only splits with a non-zero fraction get groups).

    Published splits map each group (a split folder) to itself.
    """
    groups = _groups(items)
    if spec.published:
        return {group: group for group in groups}
    totals: Counter[str] = Counter()
    for composition in groups.values():
        totals.update(composition)
    active = spec.active
    filled: dict[str, Counter[str]] = {name: Counter() for name in active}
    assignment = {}
    for group in _placement_order(groups, spec.seed):
        composition = groups[group]
        size = sum(composition.values()) or 1

        def need(split: str, composition: Counter[str] = composition, size: int = size) -> tuple[int, float, float]:
            missing = sum(1 for label in composition if not filled[split][label])
            deficit = sum(
                w * (active[split] * totals[label] - filled[split][label]) for label, w in composition.items()
            )
            return missing, deficit / size, active[split]

        best = max(active, key=need)  # ties: larger fraction, then earlier split
        filled[best].update(composition)
        assignment[group] = best
    return assignment


def class_counts(
    items: Iterable[Item], assignment: Mapping[str, str], splits: Sequence[str]
) -> dict[str, Counter[str]]:
    """Weighted label counts per split."""
    counts: dict[str, Counter[str]] = {name: Counter() for name in splits}
    for item in items:
        counts[assignment[item.group]][item.label] += item.weight
    return counts


def check_classes(
    counts: Mapping[str, Counter[str]], classes: Sequence[str], spec: SplitSpec, unit: str = "rows"
) -> list[str]:
    """Empty (split, class) cells; raises unless ``spec.allow_empty_class``.

    Raises
    ------
    EmptyClassError
        Naming the first split and class left empty and what to do about it.
    """
    splits = [split for split in spec.active if not spec.published or counts[split].total()]  # published: as found
    empty = [f"{split}/{label}" for split in splits for label in classes if not counts[split][label]]
    if empty and not spec.allow_empty_class:
        split, label = empty[0].split("/", 1)
        raise EmptyClassError(
            f"split {split!r} would have no {label!r} {unit} when grouping by {spec.split_by} "
            f"({len(empty)} empty split/class cell(s): {', '.join(empty[:5])}); add images of more "
            "groups for that class, change --splits or --seed, or pass --allow-empty-class"
        )
    return empty

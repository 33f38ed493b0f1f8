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

from fairmicro.errors import DatasetBuildError, EmptyClassError

DEFAULT_NAMES = {1: ("train",), 2: ("train", "test"), 3: ("train", "validation", "test")}


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
    """

    fractions: tuple[float, ...] = (0.7, 0.15, 0.15)
    split_by: str = "specimen_id"
    seed: int = 0
    names: tuple[str, ...] | None = None
    allow_empty_class: bool = False

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
    """Map every group to a split name (only splits with a non-zero fraction get groups)."""
    groups = _groups(items)
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
    empty = [f"{split}/{label}" for split in spec.active for label in classes if not counts[split][label]]
    if empty and not spec.allow_empty_class:
        split, label = empty[0].split("/", 1)
        raise EmptyClassError(
            f"split {split!r} would have no {label!r} {unit} when grouping by {spec.split_by} "
            f"({len(empty)} empty split/class cell(s): {', '.join(empty[:5])}); add images of more "
            "groups for that class, change --splits or --seed, or pass --allow-empty-class"
        )
    return empty

"""Splits: groups never span splits, classes stratified, seeded, empty classes refused."""

from __future__ import annotations

from collections import Counter

import pytest

from fairmicro.builders.splits import Item, SplitSpec, assign_groups, check_classes, class_counts
from fairmicro.errors import DatasetBuildError, EmptyClassError


def _items(groups_per_class: dict[str, int], images: int = 3, weight: int = 1) -> list[Item]:
    items = []
    for label, groups in groups_per_class.items():
        for g in range(groups):
            items += [Item(f"{label}-{g}-{i}", label, f"{label}-spec{g}", weight) for i in range(images)]
    return items


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("fractions", [(0.7, 0.15, 0.15), (0.8, 0.2), (0.5, 0.25, 0.25)])
def test_groups_never_span_splits(seed: int, fractions: tuple[float, ...]) -> None:
    items = _items({"a": 9, "b": 6, "c": 12})
    spec = SplitSpec(fractions, seed=seed)
    assignment = assign_groups(items, spec)
    splits_of_group: dict[str, set[str]] = {}
    for item in items:
        splits_of_group.setdefault(item.group, set()).add(assignment[item.group])
    assert all(len(s) == 1 for s in splits_of_group.values())
    assert set(assignment.values()) == set(spec.split_names)


@pytest.mark.parametrize("seed", range(3))
def test_each_class_is_stratified_close_to_the_fractions(seed: int) -> None:
    items = _items({"a": 20, "b": 40, "c": 20})
    spec = SplitSpec((0.6, 0.2, 0.2), seed=seed)
    counts = class_counts(items, assign_groups(items, spec), spec.split_names)
    for label, groups in {"a": 20, "b": 40, "c": 20}.items():
        total = groups * 3
        for split, fraction in spec.active.items():
            assert abs(counts[split][label] / total - fraction) <= 0.06, (split, label, counts)


def test_same_seed_same_splits_other_seed_other_splits() -> None:
    items = _items({"a": 10, "b": 10})
    first = assign_groups(items, SplitSpec(seed=1))
    assert assign_groups(list(reversed(items)), SplitSpec(seed=1)) == first
    assert any(assign_groups(items, SplitSpec(seed=s)) != first for s in range(2, 6))


def test_mixed_label_groups_stay_whole() -> None:
    items = [Item(f"{g}-{i}", "ab"[i % 2], f"g{g}") for g in range(12) for i in range(4)]
    assignment = assign_groups(items, SplitSpec((0.5, 0.5)))
    counts = class_counts(items, assignment, ("train", "test"))
    assert counts["train"] == Counter({"a": 12, "b": 12})


def test_larger_groups_are_weighed_by_their_rows() -> None:
    items = [Item("big", "a", "g-big", weight=70)] + [Item(f"s{i}", "a", f"g{i}", weight=10) for i in range(3)]
    counts = class_counts(items, assign_groups(items, SplitSpec()), SplitSpec().split_names)
    assert counts["train"]["a"] == 70


def test_empty_class_is_refused_with_a_clear_message() -> None:
    items = _items({"a": 6, "rare": 2})
    spec = SplitSpec()
    counts = class_counts(items, assign_groups(items, spec), spec.split_names)
    with pytest.raises(EmptyClassError, match=r"would have no 'rare'.*--allow-empty-class"):
        check_classes(counts, ["a", "rare"], spec)


def test_empty_class_allowed_on_request_and_reported() -> None:
    items = _items({"a": 6, "rare": 2})
    spec = SplitSpec(allow_empty_class=True)
    counts = class_counts(items, assign_groups(items, spec), spec.split_names)
    assert check_classes(counts, ["a", "rare"], spec) == ["test/rare"]


def test_zero_fraction_split_gets_nothing_and_is_not_checked() -> None:
    items = _items({"a": 4, "b": 4})
    spec = SplitSpec((0.75, 0.25, 0.0))
    assignment = assign_groups(items, spec)
    assert "test" not in assignment.values()
    assert check_classes(class_counts(items, assignment, spec.split_names), ["a", "b"], spec) == []


@pytest.mark.parametrize(
    ("fractions", "message"),
    [
        ((0.7, 0.2), "sum to 1"),
        ((1.2, -0.2), "non-negative"),
        ((0.25,) * 4, "1 to 3"),
        ((), "non-negative"),
    ],
)
def test_bad_fractions_are_refused(fractions: tuple[float, ...], message: str) -> None:
    with pytest.raises(DatasetBuildError, match=message):
        SplitSpec(fractions)

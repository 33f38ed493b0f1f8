"""Which training images are the labelled ones, and the class names of a segmentation dataset."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from fairmicro.errors import ModelError
from fairmicro.models.pscl.data import IGNORE, MASK

SHA = "image_sha256"


@dataclass(frozen=True)
class LabelledChoice:
    """The labelled source images chosen (sha256, sorted) and every dataset row (tile) of them."""

    sha256: list[str]
    rows: list[int]


def mask_class_names(data: Any) -> list[str]:
    """Class names of the dataset's masks (index = label value).

    Taken from the build (``fairmicro.builders.segmentation.mask_classes``);
    a dataset without a recorded class map gets ``class_0 .. class_N`` up to
    the highest label in the split.
    """
    from fairmicro.builders.segmentation import mask_classes
    from fairmicro.errors import FairmicroError

    try:
        return list(mask_classes(data))
    except FairmicroError:
        pass
    highest = max((int(m[m != IGNORE].max(initial=0)) for m in _masks(data)), default=0)
    return [f"class_{i}" for i in range(max(highest + 1, 2))]


def _masks(data: Any) -> list[np.ndarray]:
    from fairmicro.models.pscl.data import rows_masks

    return rows_masks(data, range(len(data)))


def _labelled_images(data: Any) -> dict[str, list[int]]:
    """Rows per source image, for images with at least one labelled pixel."""
    if MASK not in data.column_names:
        raise ModelError(f"the train split has no {MASK!r} column; build it with `fairmicro build --task segmentation`")
    shas = data[SHA] if SHA in data.column_names else [str(i) for i in range(len(data))]
    found: dict[str, list[int]] = {}
    for row, (sha, mask) in enumerate(zip(shas, _masks(data), strict=True)):
        found.setdefault(sha, [])
        if bool((mask != IGNORE).any()):
            found[sha].append(row)
    return {sha: rows for sha, rows in found.items() if rows}


def labelled_rows(data: Any, count: int, seed: int, quiet: bool = False) -> LabelledChoice:
    """``count`` labelled source images drawn with ``seed`` (all their tiles), deterministically.

    Raises
    ------
    ModelError
        When ``count`` < 1 or the split has fewer labelled images (unless ``quiet``: then what there is).
    """
    if count < 1:
        raise ModelError(f"--labelled {count}: at least one labelled image is needed")
    images = _labelled_images(data)
    if count > len(images) and not quiet:
        raise ModelError(f"--labelled {count}: the train split has only {len(images)} image(s) with a mask")
    order = np.random.default_rng(seed).permutation(sorted(images))
    chosen = sorted(str(s) for s in order[:count])
    return LabelledChoice(chosen, sorted(row for sha in chosen for row in images[sha]))

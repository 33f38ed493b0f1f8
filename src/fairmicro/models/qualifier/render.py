"""``--render-masks``: score an image's stored segmentation mask drawn in its class colours (Safdar et al.).

Each scored and calibration image is replaced by its stored mask (the manual
one, else the newest predicted one; ``mask_source`` narrows that), drawn as an
RGB picture: every class in its class map colour, a class without a colour in
the :data:`DEFAULT_PALETTE` colour of its turn (classes in value order, colours
the map already uses skipped), pixels of no class black. The picture covers the
rows the mask covers (its top rows when the mask is shorter than the image).

An image without a stored mask is skipped (listed and counted, the run goes
on); a run in which no scored image has one is refused. Reference images that
are catalogued with a mask are drawn the same way; other reference images
(files, or catalog images without a mask) are used as they are, so references
can be pictures already drawn in the class colours.

Masks are read (and checked against their sha256) only when an embedding has
to be computed. The embedding cache keys a drawn mask by a recipe naming the
mask's sha256, its class map and the palette (:func:`recipe`), never by the raw
image's recipe, so a cached embedding of the grey image is never reused for its
mask, and a re-paired mask is embedded again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from fairmicro.errors import ModelError

if TYPE_CHECKING:
    from fairmicro.catalog import Catalog
    from fairmicro.catalog.masks import ClassMap, MaskRef
    from fairmicro.models.qualifier.images import ImageRef
    from fairmicro.models.qualifier.selection import Plan

# matplotlib's tab10 then the light tab20 shades: distinct, printable, documented in docs/qualify.md
DEFAULT_PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#aec7e8",
    "#ffbb78",
    "#98df8a",
    "#ff9896",
    "#c5b0d5",
    "#c49c94",
    "#f7b6d2",
    "#c7c7c7",
    "#dbdb8d",
    "#9edae5",
)
UNCLASSIFIED = (0, 0, 0)  # a value no class has (e.g. 255, rows no mask covers)
RENDER_PREPROCESSING = "stored mask drawn in class colours (palette v1), rows the mask covers"
MASK_SOURCES = {"any": None, "manual": "manual", "predicted": "predicted"}


@dataclass(frozen=True)
class Skipped:
    """An image left out of a run: the path shown and why."""

    path: str
    reason: str


def class_colours(class_map: ClassMap) -> dict[int, tuple[int, int, int]]:
    """Class value -> the (R, G, B) it is drawn in: its own colour, else the next unused palette colour."""
    used = {c.colour.lower() for c in class_map.classes if c.colour}
    spare = [colour for colour in DEFAULT_PALETTE if colour not in used] or list(DEFAULT_PALETTE)
    colours, turn = {}, 0
    for cls in class_map.classes:
        if cls.colour:
            colours[cls.value] = cls.rgb() or UNCLASSIFIED
        else:
            code = spare[turn % len(spare)]
            colours[cls.value] = (int(code[1:3], 16), int(code[3:5], 16), int(code[5:7], 16))
            turn += 1
    return colours


def draw(label_map: np.ndarray, class_map: ClassMap) -> np.ndarray:
    """A ``(rows, cols)`` label map as a ``(rows, cols, 3)`` uint8 picture in class colours."""
    table = np.zeros((256, 3), np.uint8)
    table[:] = UNCLASSIFIED
    for value, rgb in class_colours(class_map).items():
        table[value] = rgb
    return np.ascontiguousarray(table[np.asarray(label_map, dtype=np.uint8)])


def picture(mask: MaskRef) -> Any:
    """The stored mask drawn in class colours, as a PIL RGB image.

    Raises
    ------
    ModelError
        If the mask file is gone, changed since it was paired, or no longer decodes.
    """
    from PIL import Image

    from fairmicro.catalog.masks import MaskError

    try:
        label_map = mask.read()
    except MaskError as exc:
        raise ModelError(f"--render-masks: {exc}") from None
    return Image.fromarray(draw(label_map, mask.class_map), "RGB")


def recipe(mask: MaskRef) -> str:
    """The embedding cache's preprocessing text of a drawn mask (changes with the mask and its classes)."""
    return (
        f"{RENDER_PREPROCESSING}; mask sha256 {mask.mask_sha256}; class map {mask.class_map.id} "
        f"({mask.class_map.encoding}); rows {mask.height_px}"
    )


def check_source(mask_source: str) -> str | None:
    """The ``image_masks`` source of a ``--mask-source`` value.

    Raises
    ------
    ModelError
        For a value other than any, manual, predicted.
    """
    if mask_source not in MASK_SOURCES:
        raise ModelError(f"--mask-source {mask_source!r}: choose one of {', '.join(MASK_SOURCES)}")
    return MASK_SOURCES[mask_source]


def with_masks(catalog: Catalog, images: Plan, mask_source: str = "any") -> tuple[Plan, list[Skipped]]:
    """The run's images with their stored masks; images to score without one are skipped.

    Raises
    ------
    ModelError
        If no scored image (or no calibration image) has a stored mask.
    """
    from fairmicro.catalog.masks import image_masks

    catalogued = sorted(sha for sha, ref in images.all_images().items() if ref.row is not None)
    masks = image_masks(catalog, catalogued, source=check_source(mask_source))
    scored, skipped = _keep(images.scored, masks, "--where")
    calibration = None
    if images.calibration is not None:
        calibration, more = _keep(images.calibration, masks, "--calibration")
        skipped += [s for s in more if s not in skipped]
    return replace(images, scored=scored, calibration=calibration, masks=masks), skipped


def _keep(refs: list[ImageRef], masks: dict[str, MaskRef], option: str) -> tuple[list[ImageRef], list[Skipped]]:
    kept = [ref for ref in refs if ref.sha256 in masks]
    skipped = [Skipped(ref.path, "no stored mask") for ref in refs if ref.sha256 not in masks]
    if not kept:
        raise ModelError(
            f"--render-masks: none of the {len(refs)} image(s) {option} selects has a stored mask (e.g. "
            f"{refs[0].path}); pair masks with `fairmicro ingest DIR --masks MASKS --mask-classes ...` or "
            "`--mask-colors ...`, or score the images themselves without --render-masks"
        )
    return kept, skipped

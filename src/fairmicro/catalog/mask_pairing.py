"""``fairmicro ingest IMAGES --masks DIR``: find each image's mask, check it, store it.

A mask pairs with an image by the same file name in ``DIR`` (or the same stem
with another extension), or by ``--mask-pattern '{stem}_mask'`` (the mask's
stem, or its whole name when the pattern ends in an image extension). Mask
files are never ingested as images, even when they sit among them. Each mask
is decoded and fitted to its image (:mod:`fairmicro.catalog.masks`); a bad one
is reported in one line and not stored, the others are.
"""

from __future__ import annotations

import functools
import os
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from fairmicro.catalog.masks import (
    MAX_CLASSES,
    ClassMap,
    MaskError,
    MaskRecord,
    add_masks,
    check_mask,
    image_sizes,
)
from fairmicro.catalog.walk import FileSet, collect_files, display
from fairmicro.extractors.source import IMAGE_SUFFIXES

if TYPE_CHECKING:
    from fairmicro.catalog.store import Catalog

STEM = "{stem}"


@dataclass(frozen=True)
class MaskOptions:
    """Where masks are and how they encode classes.

    Parameters
    ----------
    folder
        The folder holding the masks (searched recursively); ``None``: the masks are among the
        image files found (``pattern`` tells them apart).
    pattern
        ``None``: a mask has its image's file name (or stem); else a name with ``{stem}``.
    class_map
        The classes; ``None``: label maps whose classes are named by value (``class_0``, ...).
    """

    folder: Path | None
    pattern: str | None = None
    class_map: ClassMap | None = None

    def __post_init__(self) -> None:
        if self.pattern is not None and self.pattern.count(STEM) != 1:
            raise MaskError(f"--mask-pattern {self.pattern!r}: must contain {STEM} once, e.g. '{{stem}}_mask'")
        if self.folder is None:
            if self.pattern is None or self.pattern == STEM:
                raise MaskError(
                    "masks beside the images need a --mask-pattern that tells them from the images "
                    "(e.g. '{stem}_mask'), else give --masks DIR"
                )
        elif not self.folder.is_dir():
            raise MaskError(f"--masks {display(self.folder)}: is not a folder")

    def image_stem(self, mask: Path) -> str | None:
        """The image stem ``--mask-pattern`` reads from ``mask``'s name (or stem, when the pattern has no
        extension); ``None`` when the name does not fit the pattern, or without a pattern."""
        if self.pattern is None:
            return None
        found = _pattern_regex(self.pattern).fullmatch(mask.name if self._whole_name() else mask.stem)
        return found.group("stem") if found else None

    def _whole_name(self) -> bool:
        """Whether the pattern names the mask's extension too."""
        return self.pattern is not None and Path(self.pattern).suffix.lower() in IMAGE_SUFFIXES


@functools.lru_cache(maxsize=8)
def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """``--mask-pattern`` as a regex capturing the image stem."""
    before, _, after = pattern.partition(STEM)
    return re.compile(re.escape(before) + "(?P<stem>.+)" + re.escape(after))


@dataclass
class MaskSummary:
    """What pairing did: counts, and one line per rejected mask and per mask without image."""

    paired: int = 0
    unchanged: int = 0
    without_mask: int = 0
    rejected: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The human summary lines."""
        head = f"masks: {self.paired} paired, {self.without_mask} images without mask"
        head += f", {self.unchanged} already stored" if self.unchanged else ""
        head += f", {len(self.rejected)} rejected" if self.rejected else ""
        head += f", {len(self.orphans)} mask files without image" if self.orphans else ""
        out = [head]
        out += [f"  mask rejected: {display(line)}" for line in self.rejected]
        out += [f"  mask without image: {display(path)}" for path in self.orphans]
        out += [f"  warning: {display(line)}" for line in self.warnings]
        return out

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form for ``--json``."""
        return {
            "paired": self.paired,
            "already_stored": self.unchanged,
            "images_without_mask": self.without_mask,
            "rejected": list(self.rejected),
            "masks_without_image": list(self.orphans),
            "warnings": list(self.warnings),
        }


def _real(path: Path) -> str:
    return os.path.realpath(path)


def split_files(found: FileSet, roots: Sequence[Path], options: MaskOptions) -> tuple[FileSet, list[Path]]:
    """The image files without the mask files, and the mask files.

    Raises
    ------
    MaskError
        If ``--masks`` is (or holds) one of the image folders and no ``--mask-pattern`` tells masks from images.
    """
    skipped = list(found.skipped)
    if options.folder is None:  # masks beside the images (MaskOptions requires a pattern): told apart by it
        masks = [path for path in found.files if options.image_stem(path) is not None]
    else:
        _refuse_image_folder(roots, options)
        in_masks = collect_files([options.folder])
        masks = [path for path in in_masks.files if options.pattern is None or options.image_stem(path) is not None]
        skipped += [entry for entry in in_masks.skipped if entry not in skipped]  # FIFOs, loops, ... among the masks
    excluded = {_real(path) for path in masks}
    images = [path for path in found.files if _real(path) not in excluded]
    return FileSet(images, skipped), masks


def _refuse_image_folder(roots: Sequence[Path], options: MaskOptions) -> None:
    """Refuse ``--masks`` that is (or holds) an image folder when no pattern tells masks from images."""
    assert options.folder is not None
    folder = _real(options.folder)
    inside = [root for root in roots if _real(root) == folder or _real(root).startswith(folder.rstrip(os.sep) + os.sep)]
    if options.pattern is None and inside:
        where = "is" if _real(inside[0]) == folder else f"holds {display(inside[0])},"
        raise MaskError(
            f"--masks {display(options.folder)} {where} the image folder: give --mask-pattern (e.g. '{{stem}}_mask') "
            "to tell masks from images, or name the folder of the masks alone"
        )


def pair(
    images: Sequence[tuple[Path, str]], masks: Sequence[Path], options: MaskOptions
) -> tuple[list[tuple[Path, str, Path]], int, list[str], list[Path]]:
    """(image, sha256, mask) pairs, images without mask, ambiguity lines, and masks without image."""
    by_key: dict[str, list[Path]] = defaultdict(list)
    by_stem: dict[str, list[Path]] = defaultdict(list)
    for mask in masks:
        if options.pattern is None:
            by_key[mask.name].append(mask)
            by_stem[mask.stem].append(mask)
        elif (stem := options.image_stem(mask)) is not None:
            by_stem[stem].append(mask)
    pairs, problems, used = [], [], set()
    without = 0
    for image, sha in images:
        candidates = _nearest(image, by_key.get(image.name) or by_stem.get(image.stem, []))
        if len(candidates) > 1:
            names = ", ".join(str(c) for c in candidates[:3])
            problems.append(f"{image}: several masks match ({names}); keep one")
            used.update(candidates)
            continue
        if not candidates:
            without += 1
            continue
        pairs.append((image, sha, candidates[0]))
        used.add(candidates[0])
    return pairs, without, problems, [m for m in masks if m not in used]


def _nearest(image: Path, candidates: list[Path]) -> list[Path]:
    """Of several masks named like ``image``, those whose folders end like the image's folders the most.

    Mirrored trees pair: ``images/test/001.png`` takes ``masks/test/001.png``, not ``masks/train/001.png``.
    A tie keeps them all (the caller reports the ambiguity).
    """
    if len(candidates) < 2:
        return candidates
    folders = image.parent.parts[::-1]

    def shared(mask: Path) -> int:
        count = 0
        for ours, theirs in zip(folders, mask.parent.parts[::-1], strict=False):
            if ours != theirs:
                break
            count += 1
        return count

    best = max(shared(mask) for mask in candidates)
    return [mask for mask in candidates if shared(mask) == best]


def ingest_masks(
    catalog: Catalog, images: Sequence[tuple[Path, str]], masks: Sequence[Path], options: MaskOptions
) -> MaskSummary:
    """Pair ``images`` (path, sha256: this ingest's images) with ``masks``, check and store them.

    Returns
    -------
    MaskSummary
        Counts; a mask that cannot be read, holds a value with no class or does not
        fit its image is listed (one line naming it and the problem) and not stored.
    """
    pairs, without, problems, orphans = pair(images, masks, options)
    summary = MaskSummary(without_mask=without, rejected=problems, orphans=[str(m) for m in orphans])
    if options.class_map is None:
        kept = _drop_unchanged(catalog, pairs)
        summary.unchanged, pairs = len(pairs) - len(kept), kept
    class_map = options.class_map or ClassMap.from_names([f"class_{i}" for i in range(MAX_CLASSES)])
    sizes = image_sizes(catalog, sorted({sha for _, sha, _ in pairs}))
    records: list[MaskRecord] = []
    for image, sha, mask in pairs:
        try:
            records.append(check_mask(mask, sha, sizes.get(sha, (str(image), 0, 0)), class_map))
        except MaskError as exc:
            summary.rejected.append(str(exc))
    if options.class_map is None and records:
        class_map = _named_by_value(records)
    summary.paired = add_masks(catalog, records, class_map) if records else 0
    if class_map.encoding == "colour_map" and records:
        summary.warnings += unmatched_colours(records, class_map)
    summary.warnings += masks_catalogued_as_images(catalog, masks)
    return summary


def masks_catalogued_as_images(catalog: Catalog, masks: Sequence[Path]) -> list[str]:
    """One line when mask files are catalogued as images too (an earlier ingest of the folder without --masks)."""
    if not masks:
        return []
    rows = catalog.query(
        "SELECT path FROM image_files WHERE path IN (SELECT unnest(?::VARCHAR[])) ORDER BY path",
        [[str(mask) for mask in masks]],
    ).rows
    if not rows:
        return []
    line = (
        f"{len(rows)} mask file(s) are also catalogued as images (an earlier ingest without --masks), e.g. "
        f"{rows[0][0]}; they stay images in every selection: leave them out with --where"
    )
    return [line]


def unmatched_colours(records: Sequence[MaskRecord], class_map: ClassMap) -> list[str]:
    """One line per class colour that no pixel of any of these colour masks matched (a mistyped colour?)."""
    from fairmicro.catalog.mask_decode import common_colours

    totals = [sum(r.class_pixels[c.value] for r in records if len(r.class_pixels) > c.value) for c in class_map.classes]
    missing = [c for c in class_map.classes if c.value and c.colour and not totals[c.value]]
    if not missing:
        return []
    first = records[0].mask_path
    try:
        seen = common_colours(Path(first).read_bytes(), Path(first).name)
    except (OSError, MaskError):
        seen = []
    hint = f"; the most common other colours of {Path(first).name}: {', '.join(seen)}" if seen else ""
    return [
        f"class {c.name} ({c.colour}): no pixel of any of the {len(records)} mask(s) has this colour, "
        f"so it is stored as background; check --mask-colors{hint}"
        for c in missing
    ]


def _drop_unchanged(catalog: Catalog, pairs: list[tuple[Path, str, Path]]) -> list[tuple[Path, str, Path]]:
    """Pairs whose mask is already stored for the image with the same content are left as they are.

    Without --mask-classes/--mask-colors a rerun must not replace the class map the
    masks were first stored with (names, colours) by provisional ``class_N`` names.
    """
    import hashlib

    from fairmicro.catalog.masks import image_masks

    stored = image_masks(catalog, sorted({sha for _, sha, _ in pairs}))
    kept = []
    for image, sha, mask in pairs:
        ref = stored.get(sha)
        if ref is not None:
            try:
                if hashlib.sha256(mask.read_bytes()).hexdigest() == ref.mask_sha256:
                    continue
            except OSError:
                pass  # unreadable: check_mask names the problem
        kept.append((image, sha, mask))
    return kept


def _named_by_value(records: Sequence[MaskRecord]) -> ClassMap:
    """Classes ``class_0`` .. ``class_N`` for the largest value in the masks (no --mask-classes given)."""
    import hashlib

    from fairmicro.catalog.masks import decode_mask

    provisional = ClassMap.from_names([f"class_{i}" for i in range(MAX_CLASSES)])
    top = 1
    for record in records:
        data = Path(record.mask_path).read_bytes()
        if hashlib.sha256(data).hexdigest() == record.mask_sha256:
            top = max(top, int(decode_mask(data, provisional, Path(record.mask_path).name).max()))
    return ClassMap.from_names([f"class_{i}" for i in range(top + 1)])

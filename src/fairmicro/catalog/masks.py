"""Segmentation masks as catalog annotations: class maps, decoding, and the catalog verbs.

A mask is a file beside its image. Its annotation row records the file's path
and sha256, whether a person drew it (``manual``) or a model run predicted it
(``predicted``, with the run id), how its pixels encode classes (``label_map``:
class values; ``colour_map``: class colours, any other colour is class 0), the
image rows it covers from the top (``mask_height_px``) and its class map
(``mask_classes`` rows, content-addressed by ``class_map_id``).

:func:`decode_mask` turns a mask file into the one form everything downstream
uses: an 8-bit label map of the rows it covers. Pairing masks with images at
ingest lives in :mod:`fairmicro.catalog.mask_pairing`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fairmicro.catalog.mask_decode import MaskError, decode_mask, read_mask_pixels

if TYPE_CHECKING:
    from fairmicro.catalog.store import Catalog

NO_MASK = 255  # label-map value of a pixel no mask covers: left out of training and scoring
MAX_CLASSES = 255
_COLOUR = re.compile(r"#?([0-9a-fA-F]{6})")
__all__ = [
    "NO_MASK",
    "ClassMap",
    "MaskClass",
    "MaskError",
    "MaskRecord",
    "MaskRef",
    "add_masks",
    "add_predicted_masks",
    "check_mask",
    "decode_mask",
    "fit_rows",
    "full_label_map",
    "image_masks",
    "parse_mask_classes",
    "parse_mask_colors",
    "read_mask_pixels",
]


@dataclass(frozen=True)
class MaskClass:
    """One class: its value in the decoded label map, its name and its colour (``#rrggbb`` or None)."""

    value: int
    name: str
    colour: str | None = None

    def rgb(self) -> tuple[int, int, int] | None:
        """The colour as an (R, G, B) tuple."""
        if self.colour is None:
            return None
        return (int(self.colour[1:3], 16), int(self.colour[3:5], 16), int(self.colour[5:7], 16))


@dataclass(frozen=True)
class ClassMap:
    """The classes of a set of masks, by value (0, 1, ...), and how mask files encode them."""

    classes: tuple[MaskClass, ...]
    encoding: str = "label_map"  # or "colour_map"

    @property
    def names(self) -> list[str]:
        """Class names by value."""
        return [c.name for c in self.classes]

    @property
    def id(self) -> str:
        """Content id: the same values, names and colours give the same id."""
        text = json.dumps(self.to_list(), sort_keys=True, separators=(",", ":"))
        return "cm-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]

    def to_list(self) -> list[dict[str, Any]]:
        """JSON-ready ``[{"value", "name", "colour"}, ...]``."""
        return [{"value": c.value, "name": c.name, "colour": c.colour} for c in self.classes]

    @classmethod
    def from_names(cls, names: Sequence[str], colours: Sequence[str | None] | None = None) -> ClassMap:
        """A label-map class map: value i is ``names[i]``.

        Raises
        ------
        MaskError
            If a name is empty or repeated, or there are more than 255 classes.
        """
        _check_names(names)
        colours = colours or [None] * len(names)
        return cls(tuple(MaskClass(i, n, c) for i, (n, c) in enumerate(zip(names, colours, strict=True))))


def _check_names(names: Sequence[str]) -> None:
    if not names:
        raise MaskError("a mask class map needs at least one class")
    if len(names) > MAX_CLASSES:
        raise MaskError(f"{len(names)} mask classes: at most {MAX_CLASSES} fit an 8-bit label map")
    for name in names:
        if not name or name != name.strip() or any(ord(ch) < 32 for ch in name):
            raise MaskError(f"mask class name {name!r} is empty or has surrounding spaces or control characters")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise MaskError(f"mask class {repeated[0]!r} is named twice")


def parse_mask_classes(text: str) -> ClassMap:
    """``background,oxide,crack``: label maps whose value i is the i-th name.

    Raises
    ------
    MaskError
        If a name is empty or repeated.
    """
    return ClassMap.from_names([part.strip() for part in text.split(",")])


def parse_mask_colors(text: str) -> ClassMap:
    """``gamma_prime=#0000ff,carbide=#ff0000``: colour maps; a pixel of no class colour is class 0.

    Class 0 is ``background`` (with no colour) unless a class named
    ``background`` is listed, which then takes value 0 with its colour.

    Raises
    ------
    MaskError
        If an entry is not ``NAME=#RRGGBB``, or a name or colour is repeated.
    """
    entries: list[tuple[str, str]] = []
    for part in text.split(","):
        name, sep, colour = part.strip().rpartition("=")
        match = _COLOUR.fullmatch(colour.strip())
        if not sep or not match or not name.strip():
            raise MaskError(f"--mask-colors entry {part.strip()!r}: expected NAME=#RRGGBB, e.g. oxide=#ff0000")
        entries.append((name.strip(), "#" + match.group(1).lower()))
    colours = [c for _, c in entries]
    twice = sorted({c for c in colours if colours.count(c) > 1})
    if twice:
        raise MaskError(f"--mask-colors: colour {twice[0]} is given to two classes")
    background = [e for e in entries if e[0].lower() == "background"]
    ordered = background[:1] + [e for e in entries if e not in background[:1]]
    names: list[str] = [n for n, _ in ordered]
    palette: list[str | None] = [c for _, c in ordered]
    if not background:
        names, palette = ["background", *names], [None, *palette]
    return ClassMap(ClassMap.from_names(names, palette).classes, "colour_map")


def fit_rows(mask_shape: tuple[int, ...], image_size: tuple[int, int], mask_name: str, image_name: str) -> int:
    """Image rows a mask covers: all of them, or (same width, fewer rows) the top ones.

    Parameters
    ----------
    image_size
        The image's (width, height) in pixels.

    Raises
    ------
    MaskError
        For any other shape: one line naming both files.
    """
    rows, cols = mask_shape[:2]
    width, height = image_size
    if cols == width and 0 < rows <= height:
        return rows
    raise MaskError(
        f"mask {mask_name} ({cols}x{rows} px) does not fit image {image_name} ({width}x{height} px): "
        "a mask must have the image's width and at most its height (shorter masks cover the top rows)"
    )


def full_label_map(label_map: np.ndarray, height: int) -> np.ndarray:
    """``label_map`` extended to ``height`` rows; rows it does not cover are :data:`NO_MASK` (255)."""
    if label_map.shape[0] >= height:
        return label_map[:height]
    out = np.full((height, label_map.shape[1]), NO_MASK, np.uint8)
    out[: label_map.shape[0]] = label_map
    return out


@dataclass(frozen=True)
class MaskRef:
    """One mask annotation as the catalog records it."""

    annotation_id: str
    image_sha256: str
    mask_path: str
    mask_sha256: str
    source: str  # "manual" | "predicted"
    height_px: int  # image rows covered, from the top
    class_map: ClassMap
    model_run_id: str | None = None

    def read(self) -> np.ndarray:
        """The mask as a uint8 label map of the rows it covers, checked against its sha256.

        Raises
        ------
        MaskError
            If the file is gone, changed since it was paired, or no longer decodes.
        """
        try:
            data = Path(self.mask_path).read_bytes()
        except OSError as exc:
            raise MaskError(f"mask {self.mask_path}: cannot be read ({exc.strerror or exc})") from exc
        if hashlib.sha256(data).hexdigest() != self.mask_sha256:
            raise MaskError(
                f"mask {self.mask_path}: content changed since it was paired; rerun `fairmicro ingest ... --masks`"
            )
        return decode_mask(data, self.class_map, Path(self.mask_path).name)[: self.height_px]


@dataclass(frozen=True)
class MaskRecord:
    """A checked mask, ready to be stored."""

    image_sha256: str
    mask_path: str
    mask_sha256: str
    height_px: int
    class_pixels: tuple[int, ...] = ()  # pixels per class value (0, 1, ...), of the rows that fit the image


def annotation_id(image_sha: str, mask_sha: str, class_map_id: str, source: str, run_id: str | None) -> str:
    """Deterministic id: pairing the same mask again gives the same annotation."""
    key = "\t".join([image_sha, mask_sha, class_map_id, source, run_id or ""])
    return "mask-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def add_masks(
    catalog: Catalog,
    records: Iterable[MaskRecord],
    class_map: ClassMap,
    *,
    source: str = "manual",
    model_run_id: str | None = None,
    created_by: str | None = None,
) -> int:
    """Store mask annotations and their class map in one transaction; returns the rows added or updated.

    Idempotent: the same image, mask content, class map and source give the same
    annotation (its path is refreshed). An image keeps one mask per source and
    run: a new mask for it replaces the earlier one.
    """
    from fairmicro.catalog.mask_rows import annotation_rows, class_rows

    rows = annotation_rows(records, class_map, source, model_run_id, created_by)
    if not rows:
        return 0
    with catalog.transaction():
        catalog.insert("mask_classes", class_rows(class_map))
        for row in rows:
            catalog.execute(
                "DELETE FROM annotations WHERE annotation_kind = 'mask' AND image_sha256 = ? "
                "AND mask_source = ? AND coalesce(model_run_id, '') = ? AND annotation_id <> ?",
                [row.image_sha256, source, model_run_id or "", row.annotation_id],
            )
        catalog.insert("annotations", rows, conflict="(annotation_id) DO UPDATE SET mask_path = excluded.mask_path")
    return len(rows)


def add_predicted_masks(
    catalog: Catalog,
    run_id: str,
    masks: Mapping[str, str | Path],
    class_names: Sequence[str] | ClassMap,
    *,
    created_by: str | None = None,
) -> int:
    """Store a model run's predicted masks (8-bit PNG/TIFF label maps) as ``predicted`` annotations.

    Parameters
    ----------
    run_id
        The model run that predicted them.
    masks
        Image sha256 -> path of its predicted label map (whole image, or its top rows).
    class_names
        Class names by value (or a :class:`ClassMap`).

    Raises
    ------
    MaskError
        If a file cannot be read, does not fit its image or holds a value with no class;
        nothing is stored then.
    """
    class_map = class_names if isinstance(class_names, ClassMap) else ClassMap.from_names(list(class_names))
    sizes = image_sizes(catalog, list(masks))
    records = []
    for sha, path in masks.items():
        if sha not in sizes:
            raise MaskError(f"predicted mask {path}: image {sha[:12]} is not in the catalog")
        records.append(check_mask(Path(path), sha, sizes[sha], class_map))
    return add_masks(
        catalog, records, class_map, source="predicted", model_run_id=run_id, created_by=created_by or run_id
    )


def check_mask(path: Path, image_sha: str, image: tuple[str, int, int], class_map: ClassMap) -> MaskRecord:
    """Read, hash, decode and fit one mask file to its image ``(path, width, height)``.

    Raises
    ------
    MaskError
        If it cannot be read or decoded, holds a bad value, or does not fit.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MaskError(f"mask {path}: cannot be read ({exc.strerror or exc})") from exc
    label_map = decode_mask(data, class_map, path.name)
    rows = fit_rows(label_map.shape, (image[1], image[2]), path.name, Path(image[0]).name)
    counts = np.bincount(label_map[:rows].ravel(), minlength=len(class_map.classes))
    return MaskRecord(
        image_sha, str(path.absolute()), hashlib.sha256(data).hexdigest(), rows, tuple(int(c) for c in counts)
    )


def image_sizes(catalog: Catalog, shas: Sequence[str]) -> dict[str, tuple[str, int, int]]:
    """Image sha256 -> (path, width_px, height_px) of the catalogued ones among ``shas``."""
    if not shas:
        return {}
    rows = catalog.query(
        "SELECT sha256, path, width_px, height_px FROM images WHERE sha256 IN (SELECT unnest(?::VARCHAR[]))",
        [list(shas)],
    ).rows
    return {sha: (path, width, height) for sha, path, width, height in rows}


def stored_mask_paths(catalog: Catalog, paths: Sequence[str]) -> set[str]:
    """Those of ``paths`` that a mask annotation (drawn or accepted from a prediction) records as its file."""
    if not paths:
        return set()
    rows = catalog.query(
        "SELECT DISTINCT mask_path FROM annotations WHERE annotation_kind = 'mask' "
        "AND mask_path IN (SELECT unnest(?::VARCHAR[]))",
        [list(paths)],
    ).rows
    return {row[0] for row in rows}


def image_masks(
    catalog: Catalog, shas: Sequence[str] | None = None, *, source: str | None = "manual", run_id: str | None = None
) -> dict[str, MaskRef]:
    """Image sha256 -> its mask (newest first when several), for ``shas`` (None: every image with one).

    Parameters
    ----------
    source
        ``manual`` (default), ``predicted`` or None for either (manual preferred).
    run_id
        Only the predicted masks of this model run.
    """
    from fairmicro.catalog.mask_rows import class_maps, mask_refs

    where = ["annotation_kind = 'mask'", "mask_sha256 IS NOT NULL"]
    params: list[object] = []
    if shas is not None:
        where.append("image_sha256 IN (SELECT unnest(?::VARCHAR[]))")
        params.append(list(shas))
    if source is not None:
        where.append("mask_source = ?")
        params.append(source)
    if run_id is not None:
        where.append("model_run_id = ?")
        params.append(run_id)
    rows = catalog.query(
        "SELECT annotation_id, image_sha256, mask_path, mask_sha256, mask_source, mask_height_px, class_map_id, "
        "mask_encoding, model_run_id FROM annotations WHERE "
        + " AND ".join(where)
        + " ORDER BY image_sha256, mask_source = 'predicted', created_at DESC NULLS LAST, annotation_id",
        params,
    ).rows
    maps = class_maps(catalog, {row[6] for row in rows})
    return mask_refs(rows, maps)

"""Catalog rows of masks and class maps (``annotations``, ``mask_classes``) and back."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from fairmicro.catalog.masks import ClassMap, MaskClass, MaskRecord, MaskRef, annotation_id
from fairmicro.catalog.store import utcnow

if TYPE_CHECKING:
    from fairmicro.catalog.store import Catalog
    from fairmicro.schema import models


def class_rows(class_map: ClassMap) -> list[models.MaskClass]:
    """The ``mask_classes`` rows of one class map."""
    from fairmicro.schema import models

    return [
        models.MaskClass(class_map_id=class_map.id, class_value=c.value, class_name=c.name, class_colour=c.colour)
        for c in class_map.classes
    ]


def annotation_rows(
    records: Iterable[MaskRecord],
    class_map: ClassMap,
    source: str,
    model_run_id: str | None,
    created_by: str | None,
) -> list[models.Annotation]:
    """One ``annotations`` row per mask (one per image: the last record of an image wins)."""
    from fairmicro.schema import models

    now = utcnow()
    by_image = {record.image_sha256: record for record in records}
    return [
        models.Annotation(
            annotation_id=annotation_id(r.image_sha256, r.mask_sha256, class_map.id, source, model_run_id),
            image_sha256=r.image_sha256,
            annotation_kind="mask",
            mask_path=r.mask_path,
            mask_sha256=r.mask_sha256,
            mask_source=source,
            mask_encoding=class_map.encoding,
            mask_height_px=r.height_px,
            class_map_id=class_map.id,
            model_run_id=model_run_id,
            created_at=now,
            created_by=created_by,
        )
        for r in by_image.values()
    ]


def class_maps(catalog: Catalog, ids: Iterable[str | None]) -> dict[str, ClassMap]:
    """Class map id -> its classes (label-map encoding; the annotation says which)."""
    wanted = sorted(i for i in set(ids) if i)
    if not wanted:
        return {}
    rows = catalog.query(
        "SELECT class_map_id, class_value, class_name, class_colour FROM mask_classes "
        "WHERE class_map_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY class_map_id, class_value",
        [wanted],
    ).rows
    classes: dict[str, list[MaskClass]] = {}
    for map_id, value, name, colour in rows:
        classes.setdefault(map_id, []).append(MaskClass(int(value), name, colour))
    return {map_id: ClassMap(tuple(found)) for map_id, found in classes.items()}


def mask_refs(rows: Sequence[tuple[Any, ...]], maps: dict[str, ClassMap]) -> dict[str, MaskRef]:
    """The first row per image (rows come ordered by preference) as :class:`MaskRef`."""
    refs: dict[str, MaskRef] = {}
    for ann_id, sha, path, mask_sha, source, height, map_id, encoding, run_id in rows:
        if sha in refs or map_id not in maps:
            continue
        class_map = replace(maps[map_id], encoding=encoding or "label_map")
        refs[sha] = MaskRef(ann_id, sha, path, mask_sha, source, int(height), class_map, run_id)
    return refs

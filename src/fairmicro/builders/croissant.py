"""Croissant (``croissant.json``): the Parquet record set described for ML tools.

Built with ``mlcroissant``'s own node classes, so the JSON-LD context and
structure are the library's, and checked by loading it back with
``mlcroissant.Dataset``. Field types come from the schema columns, like the
Hugging Face features.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, time
from pathlib import Path
from typing import Any

from fairmicro.builders.columns import (
    CROISSANT_TYPES,
    IMAGE_COLUMN,
    LABEL_COLUMN,
    dataset_columns,
    unit_label,
)
from fairmicro.builders.deps import require
from fairmicro.builders.hf import DATA_DIR
from fairmicro.builders.info import BuildInfo, spdx_url
from fairmicro.hashing import sha256_file

log = logging.getLogger(__name__)

CROISSANT_FILE = "croissant.json"
FILE_SET = "parquet-files"
RECORDS = "default"
SPLITS = "splits"
CLASSES = "classes"
MASK_CLASSES = "mask_classes"
LOCAL_URL = "./"  # relative: the folder holding croissant.json, wherever it is published


def _source(mlc: Any, column: str, json_path: str | None = None) -> Any:
    transforms = [mlc.Transform(json_path=json_path)] if json_path else []
    return mlc.Source(file_set=FILE_SET, extract=mlc.Extract(column=column), transforms=transforms)


def croissant_fields(mlc: Any, info: BuildInfo) -> list[Any]:
    """Split, image, label and one field per schema column."""
    names = [s.name for s in info.splits if s.rows]
    pattern = rf"^(?:.*/)?{DATA_DIR}/({'|'.join(names)})-\d{{5}}-of-\d{{5}}\.parquet$"
    # No `references` to the split record set: mlcroissant 1.1 re-applies the regex on the
    # joined value and logs a warning per row.
    split = mlc.Field(
        id=f"{RECORDS}/split",
        name="split",
        description="Split the row belongs to.",
        data_types=[mlc.DataType.TEXT],
        source=mlc.Source(
            file_set=FILE_SET,
            extract=mlc.Extract(file_property=mlc.FileProperty.fullpath),
            transforms=[mlc.Transform(regex=pattern)],
        ),
    )
    classes = "; ".join(f"{i}: {name}" for i, name in enumerate(info.class_names))
    fields = [
        split,
        mlc.Field(
            id=f"{RECORDS}/{IMAGE_COLUMN}",
            name=IMAGE_COLUMN,
            description="The tile, a lossless PNG.",
            data_types=[mlc.DataType.IMAGE_OBJECT],
            source=_source(mlc, IMAGE_COLUMN, "bytes"),
        ),
        mlc.Field(
            id=f"{RECORDS}/{LABEL_COLUMN}",
            name=LABEL_COLUMN,
            description=f"Class index from column {info.label_column!r}: {classes}",
            data_types=[mlc.DataType.INTEGER],
            source=_source(mlc, LABEL_COLUMN),
        ),
    ]
    if info.settings.get("task") == "segmentation":  # a mask, file name and image size instead of a label
        from fairmicro.builders.segmentation_sink import croissant_fields as mask_fields

        fields[2:3] = mask_fields(mlc, _source)
    for column in dataset_columns():
        unit = f" [{unit_label(column)}]" if unit_label(column) else ""
        fields.append(
            mlc.Field(
                id=f"{RECORDS}/{column.name}",
                name=column.name,
                description=column.description + unit,
                data_types=[getattr(mlc.DataType, CROISSANT_TYPES[column.sql_type])],
                source=_source(mlc, column.name),
            )
        )
    return fields


def class_record_set(mlc: Any, info: BuildInfo) -> Any:
    """The class names as data: ``classes`` (index, name), or a segmentation build's ``mask_classes``."""
    columns: tuple[tuple[str, Any], ...]
    if info.settings.get("task") == "segmentation":
        entries = info.mask_class_map
        columns = (("value", mlc.DataType.INTEGER), ("name", mlc.DataType.TEXT), ("colour", mlc.DataType.TEXT))
        data = [
            {f"{MASK_CLASSES}/{k}": (e.get(k) if k != "colour" else e.get(k) or "") for k, _ in columns}
            for e in entries
        ]
        return _inline_set(mlc, MASK_CLASSES, "Mask class map: the class of each mask value.", columns, data)
    columns = (("index", mlc.DataType.INTEGER), ("name", mlc.DataType.TEXT))
    data = [{f"{CLASSES}/index": i, f"{CLASSES}/name": name} for i, name in enumerate(info.class_names)]
    return _inline_set(mlc, CLASSES, f"Class names of `label` (from column {info.label_column!r}).", columns, data)


def _inline_set(mlc: Any, name: str, description: str, columns: Any, data: list[dict[str, Any]]) -> Any:
    return mlc.RecordSet(
        id=name,
        name=name,
        description=description,
        key=[f"{name}/{columns[0][0]}"],
        fields=[mlc.Field(id=f"{name}/{c}", name=c, data_types=[t]) for c, t in columns],
        data=data,
    )


def shard_objects(mlc: Any, folder: Path, info: BuildInfo) -> list[Any]:
    """One ``FileObject`` per Parquet shard, with its size and sha256."""
    return [
        mlc.FileObject(
            id=f"shard-{Path(shard).stem}",
            name=Path(shard).name,
            description=f"Parquet shard of split {shard.split('/')[-1].split('-')[0]}.",
            content_url=shard,
            content_size=f"{(folder / shard).stat().st_size} B",
            encoding_formats=["application/x-parquet"],
            sha256=sha256_file(folder / shard),
        )
        for shard in info.shard_files
    ]


def dataset_url(info: BuildInfo) -> str:
    """Croissant's required ``url``: the dataset's page when known, else ``./`` (the folder holding the file)."""
    return info.url or LOCAL_URL


def croissant_metadata(info: BuildInfo, folder: Path | None = None) -> dict[str, Any]:
    """The Croissant JSON-LD of a build (with shard checksums when ``folder`` holds the shards)."""
    mlc = require("mlcroissant")
    names = [s.name for s in info.splits if s.rows]
    files = mlc.FileSet(
        id=FILE_SET,
        name=FILE_SET,
        description="Parquet shards, one set per split.",
        encoding_formats=["application/x-parquet"],
        includes=[f"{DATA_DIR}/*.parquet"],
    )
    splits = mlc.RecordSet(
        id=SPLITS,
        name=SPLITS,
        description="The dataset's splits.",
        data_types=[mlc.DataType.SPLIT],
        key=[f"{SPLITS}/split_name"],
        fields=[mlc.Field(id=f"{SPLITS}/split_name", name="split_name", data_types=[mlc.DataType.TEXT])],
        data=[{f"{SPLITS}/split_name": name} for name in names],
    )
    records = mlc.RecordSet(
        id=RECORDS,
        name=RECORDS,
        description="One row per tile.",
        fields=croissant_fields(mlc, info),
    )
    metadata = mlc.Metadata(
        name=info.name,
        description=info.description,
        license=[licence if (licence := spdx_url(info.license)).startswith("http") else info.license],
        version="1.0.0",
        creators=[mlc.Person(name=c.name, url=c.orcid) for c in info.creators],
        keywords=list(info.keywords),
        date_published=datetime.combine(info.built_on, time()),
        cite_as=info.bibtex(),
        url=dataset_url(info),
        distribution=[files, *(shard_objects(mlc, folder, info) if folder else [])],
        record_sets=[splits, class_record_set(mlc, info), records],
    )
    return metadata.to_json()


def write_croissant(folder: Path, info: BuildInfo) -> Path:
    """Write ``croissant.json`` into ``folder``."""
    path = folder / CROISSANT_FILE
    path.write_text(
        json.dumps(croissant_metadata(info, folder), indent=2, ensure_ascii=False, default=str) + "\n",
        encoding="utf-8",
    )
    return path


def validate_croissant(path: Path) -> list[str]:
    """Load ``path`` with ``mlcroissant``; returns its errors (warnings are logged)."""
    mlc = require("mlcroissant")
    try:
        dataset = mlc.Dataset(jsonld=path)
    except mlc.ValidationError as exc:
        return [line for line in str(exc).splitlines() if line.strip()]
    for warning in sorted(dataset.metadata.issues.warnings):
        log.info("croissant: %s", warning)
    return sorted(dataset.metadata.issues.errors)

"""The dataset card (``README.md``): YAML header the Hub reads, and a body people read.

The header carries ``license``, ``task_categories``, ``configs`` (so
``datasets.load_dataset(DIR)`` finds the shards) and ``dataset_info`` with the
features and split sizes. The body has the description, class histogram per
split, a sample grid, the metadata coverage table (derived from the schema
columns), the build command and the citation. No timestamps: the same build
gives the same card.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import yaml

from fairmicro.builders.columns import HF_DTYPES, dataset_columns, unit_label
from fairmicro.builders.hf import DATA_DIR
from fairmicro.builders.info import BuildInfo, hub_license

GRID_FILE = "assets/sample_grid.png"
GRID_PER_CLASS = 4
_SIZES = (
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
)


def size_category(rows: int) -> str:
    """The Hub's size bucket for a row count."""
    return next((label for limit, label in _SIZES if rows < limit), "n>10M")


def card_header(info: BuildInfo, features: Any) -> dict[str, Any]:
    """The YAML header as a dict (features in the Hub's YAML form)."""
    splits = [s for s in info.splits if s.rows]
    return {
        **hub_license(info.license),
        "task_categories": ["image-classification"],
        "task_ids": ["multi-class-image-classification"],
        "pretty_name": info.name,
        "tags": sorted(set(info.keywords)),
        "size_categories": [size_category(info.rows)],
        "configs": [
            {
                "config_name": "default",
                "data_files": [{"split": s.name, "path": f"{DATA_DIR}/{s.name}-*"} for s in splits],
            }
        ],
        "dataset_info": {
            "features": features._to_yaml_list(),
            "splits": [
                {"name": s.name, "num_bytes": s.num_bytes, "num_examples": s.rows} for s in splits
            ],
            "download_size": sum(s.file_bytes for s in splits),
            "dataset_size": sum(s.num_bytes for s in splits),
        },
        "fairmicro": {"fingerprint": info.fingerprint, "model_input": info.model_input},
    }


def _segmentation_header(header: dict[str, Any], info: BuildInfo) -> dict[str, Any]:
    """A segmentation build's header: its task, and its class map (description JSON and fairmicro block)."""
    from fairmicro.builders.segmentation_sink import card_header_changes

    changes = card_header_changes(info)
    header.update(task_categories=changes["task_categories"], task_ids=changes["task_ids"])
    header["dataset_info"] = {"description": changes["description"], **header["dataset_info"]}
    header["fairmicro"]["mask_classes"] = changes["mask_classes"]
    header["fairmicro"]["task"] = "segmentation"
    return header


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += [
        "| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in rows
    ]
    return "\n".join(lines)


def histogram_table(info: BuildInfo) -> str:
    """Rows per class and split, with each class's share of its split."""
    names = [s.name for s in info.splits]
    rows = []
    for label in info.class_names:
        cells = []
        for split in info.splits:
            count = split.classes[label]
            share = 100 * count / split.rows if split.rows else 0
            cells.append(f"{count} ({share:.0f}%)")
        rows.append([label, *cells])
    rows.append(["**total rows**", *(s.rows for s in info.splits)])
    rows.append(["**source images**", *(s.images for s in info.splits)])
    return _table(["class", *names], rows)


def coverage_table(coverage: Mapping[str, int], rows: int) -> str:
    """Every metadata column with type, unit, description (a lab column: its source) and % non-null.

    Schema columns have UCUM units; a lab column's unit is as its header wrote it.
    """
    lines = []
    for column in dataset_columns():
        share = 100 * coverage.get(column.name, 0) / rows if rows else 0
        lines.append(
            [
                f"`{column.name}`",
                HF_DTYPES[column.sql_type],
                unit_label(column),
                _one_line(column.description),
                f"{share:.0f}%",
            ]
        )
    return _table(["column", "type", "unit", "description", "non-null"], lines)


def _one_line(text: str) -> str:
    """Text safe in one Markdown table cell (no line breaks, no code spans or HTML)."""
    return " ".join(text.split()).replace("`", "'").replace("<", "&lt;")


def render_card(info: BuildInfo, features: Any) -> str:
    """The full ``README.md`` text."""
    segmentation = info.settings.get("task") == "segmentation"
    fields = card_header(info, features)
    header = yaml.safe_dump(
        _segmentation_header(fields, info) if segmentation else fields, sort_keys=False, allow_unicode=True, width=1000
    )
    settings = yaml.safe_dump(info.settings, sort_keys=True, allow_unicode=True, width=1000).strip()
    grid = ""
    if info.grid_file:
        grid = (
            f"\n## Sample tiles\n\n![Sample tiles, one row per class]({info.grid_file})\n\n"
            f"Rows, top to bottom: {', '.join(info.class_names)} (up to {GRID_PER_CLASS} "
            "tiles each from the first split, contrast-stretched for display).\n"
        )
    split_rows = [[s.name, s.rows, s.images, len(s.shards)] for s in info.splits]
    return f"""---
{header}---

# {info.name}

{info.description}

- **Rows:** {info.rows} tiles from {info.images} images; label column `{info.label_column}`,
  {len(info.class_names)} classes.
- **Licence:** {info.license}. **Creators:** {", ".join(c.name for c in info.creators) or "not stated"}.
- **Fingerprint:** `{info.fingerprint}` (same inputs and settings give the same fingerprint and
  byte-identical shards).

## Usage

```python
from datasets import load_dataset

dataset = load_dataset("path/to/this/folder")  # or the Hub repository id
image = dataset["train"][0]["image"]  # PIL image; 16-bit micrographs stay 16-bit (mode "I;16")
```

## Splits and class histogram

Splits are grouped by `{info.settings.get("split_by")}`: all images of one group are in one split,
so no group leaks between train and test.

{_table(["split", "rows", "source images", "shards"], split_rows)}

{_masks_section(info) if segmentation else histogram_table(info)}
{grid}
## Fields and metadata coverage

`image` holds the tile as a lossless PNG; `label` is a class index into the names above. The other
columns come from the fairmicro schema (units in the column names) and, where the description
names a specimen table, from the lab's own specimen table (numbers as float64, the rest as strings).

{coverage_table(info.coverage, info.rows)}

## How it was built

```
{info.command}
```

Selection over the catalog's `image_metadata` view: `{info.where}`. Settings:

```yaml
{settings}
```

Built with fairmicro {info.version}. `ro-crate-metadata.json` (RO-Crate) lists every file with its
sha256 and records the build; `croissant.json` describes the record set for ML tools.

## Citation

```bibtex
{info.bibtex()}
```
"""


def _masks_section(info: BuildInfo) -> str:
    from fairmicro.builders.segmentation_sink import card_body

    return card_body(info)


def sample_grid(
    thumbnails: Mapping[str, Sequence[np.ndarray]], class_names: Sequence[str]
) -> bytes | None:
    """A PNG with one row of thumbnails per class (None when there are none)."""
    from PIL import Image, ImageDraw

    filled = [name for name in class_names if thumbnails.get(name)]
    if not filled:
        return None
    size = next(iter(thumbnails[filled[0]])).shape[0]
    pad, label_width = 4, 120
    width = label_width + GRID_PER_CLASS * (size + pad) + pad
    height = len(filled) * (size + pad) + pad
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    for row, name in enumerate(filled):
        top = pad + row * (size + pad)
        draw.text((pad, top + size // 2 - 6), name[:18], fill="black")
        for col, thumb in enumerate(thumbnails[name][:GRID_PER_CLASS]):
            canvas.paste(
                Image.fromarray(thumb).convert("RGB"), (label_width + pad + col * (size + pad), top)
            )
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    return buffer.getvalue()

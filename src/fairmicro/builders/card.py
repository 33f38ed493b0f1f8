"""The dataset card (``README.md``), built with ``huggingface_hub``'s ``DatasetCard``/``DatasetCardData``.

The header carries ``license``, ``task_categories``, ``configs`` (so
``datasets.load_dataset(DIR)`` finds the shards), ``dataset_info`` with the
features and split sizes, and the ``fairmicro`` block (fingerprint, model input,
a segmentation build's class map). The body follows the Hub's dataset-card
template section by section (:mod:`fairmicro.builders.card_sections`), filled
from the build and its source images; a sample grid shows one tile per class
with a scale bar (:mod:`fairmicro.builders.card_grid`). No timestamps: the same
build gives the same card.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from fairmicro.builders.card_grid import GridPicker, grid_caption, render_grid
from fairmicro.builders.columns import HF_DTYPES, dataset_columns, unit_label
from fairmicro.builders.deps import require
from fairmicro.builders.hf import DATA_DIR
from fairmicro.builders.info import BuildInfo, hub_license

GRID_FILE = "assets/sample_grid.png"
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
            "splits": [{"name": s.name, "num_bytes": s.num_bytes, "num_examples": s.rows} for s in splits],
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
    from fairmicro.builders.card_sections import table

    return table(header, rows)


def histogram_table(info: BuildInfo) -> str:
    """Rows per class and split, with each class's share of its split."""
    names = [s.name for s in info.splits]
    rows: list[list[object]] = []
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


def card_data(info: BuildInfo, features: Any) -> Any:
    """The header as ``huggingface_hub.DatasetCardData`` (a segmentation build's task and class map included)."""
    hub = require("huggingface_hub")
    fields = card_header(info, features)
    if info.settings.get("task") == "segmentation":
        fields = _segmentation_header(fields, info)
    sources = info.sources.label_sources()
    fields["annotations_creators"] = sorted(
        {"machine-generated" if s == "predicted" else "expert-generated" for s in sources} or {"expert-generated"}
    )
    fields["source_datasets"] = ["original"]
    return hub.DatasetCardData(**fields)


def render_card(info: BuildInfo, features: Any) -> str:
    """The full ``README.md`` text: the Hub template's sections, filled from the build."""
    from fairmicro.builders import card_sections as sec

    hub = require("huggingface_hub")
    segmentation = info.settings.get("task") == "segmentation"
    settings = yaml.safe_dump(info.settings, sort_keys=True, allow_unicode=True, width=1000).strip()
    grid = ""
    if info.grid_file:
        grid = (
            f"\n### Sample tiles\n\n![One representative tile per class, with a scale bar]({info.grid_file})\n\n"
            "One tile per class (the class's most typical tile by intensity statistics, contrast-stretched "
            f"for display), top to bottom:\n\n{info.grid_caption}\n"
        )
    histogram = _masks_section(info) if segmentation else histogram_table(info)
    body = f"""
# Dataset Card for {info.name}

{info.description}

## Dataset Details

### Dataset Description

{sec.description_details(info)}

### Dataset Sources

{sec.sources_links(info)}

## Uses

### Direct Use

{sec.direct_use(info)}

### Out-of-Scope Use

{sec.out_of_scope(info)}

## Dataset Structure

{sec.structure(info, coverage_table(info.coverage, info.rows), histogram, grid)}

## Dataset Creation

### Curation Rationale

{sec.curation(info, settings)}

### Source Data

#### Data Collection and Processing

{sec.collection(info)}

#### Who are the source data producers?

{sec.producers(info)}

### Annotations

#### Annotation process

{sec.annotation(info)}

#### Who are the annotators?

{sec.annotators(info)}

#### Personal and Sensitive Information

Micrographs of material specimens: no personal data. Operator names and local file paths are not
published; instrument serial numbers are (they identify the microscope, not a person).

## Bias, Risks, and Limitations

{sec.limitations(info)}

### Recommendations

{sec.recommendations()}

## Citation

**BibTeX:**

```bibtex
{info.bibtex()}
```

**APA:**

{sec.apa(info)}

## Glossary

- **tile**: a square cut of a micrograph (`tile_x_px`, `tile_y_px` give its corner), or the whole image.
- **data bar**: the vendor's information strip below a micrograph; cropped before tiling.
- **fingerprint**: sha256 over the selected images, labels, splits and settings; names the exact rows.
- **label source**: how an image got its label (see Annotation process).

## More Information

Built with fairmicro {info.version}. `ro-crate-metadata.json` (RO-Crate) lists every file with its sha256,
the source images, the instruments and the build; `croissant.json` (MLCommons Croissant) describes the
records, the class names and the shard checksums for ML tools.

## Dataset Card Authors

Generated by fairmicro {info.version} from the catalog{f"; for {sec.people(info)}" if info.creators else ""}.

## Dataset Card Contact

{sec.contact(info)}
"""
    return str(hub.DatasetCard(f"---\n{card_data(info, features).to_yaml()}\n---\n{body}"))


def _masks_section(info: BuildInfo) -> str:
    from fairmicro.builders.segmentation_sink import card_body

    return card_body(info)


def write_grid(path: Path, picker: GridPicker, class_names: Sequence[str]) -> str:
    """Write the sample grid PNG to ``path``; returns the card's caption for it."""
    picks = picker.picks(class_names)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(render_grid(picks) or b"")
    return grid_caption(picks)

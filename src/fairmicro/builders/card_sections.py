"""The sections of the Hub's dataset-card template, filled from the build and its source images.

Each function returns the Markdown of one section body. What the catalog does
not know (funding, motivation, a contact without an ORCID iD) is said as a
task for the data steward, never left as an empty heading.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from fairmicro.builders.card_sources import (
    LABEL_SOURCE_TEXT,
    MASK_SOURCE_TEXT,
    SourceFacts,
    label_origin,
)
from fairmicro.builders.info import BuildInfo

STEWARD = "*To add (not recorded in the catalog):*"


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table; ``|`` in cells escaped."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _length(nm: float) -> str:
    return f"{nm / 1000:g} µm" if nm >= 1000 else f"{nm:g} nm"


def instruments_text(facts: SourceFacts) -> str:
    """``"Zeiss Sigma (12 images), FEI Quanta 650 FEG (12 images)"``."""
    return ", ".join(f"{i.name} ({n} images)" for i, n in facts.instruments()) or "no recorded instrument"


def date_text(facts: SourceFacts) -> str:
    """The acquisition period in words."""
    dates = facts.date_range()
    if not dates:
        return "No image records its acquisition time."
    undated = f" ({facts.undated()} image(s) record no acquisition time)" if facts.undated() else ""
    return f"Acquired between {dates[0]} and {dates[1]} (instrument local time){undated}."


def pixel_text(facts: SourceFacts) -> str:
    """The pixel sizes covered, in words."""
    sizes = facts.pixel_sizes()
    if not sizes:
        return "no image records its pixel size"
    return (
        f"pixel size {_length(sizes[0])}"
        if sizes[0] == sizes[1]
        else f"pixel sizes {_length(sizes[0])} to {_length(sizes[1])}"
    )


def people(info: BuildInfo) -> str:
    """The creators, linked to their ORCID iD when known."""
    return ", ".join(f"[{c.name}]({c.orcid})" if c.orcid else c.name for c in info.creators)


def description_details(info: BuildInfo) -> str:
    """Dataset Description: counts, instruments, dates and who curated it."""
    facts = info.sources
    curated = people(info) or f"{STEWARD} the people who curated it (`fairmicro build --creator 'Name <ORCID iD>'`)."
    return f"""{info.rows} rows from {info.images} source images in {len(info.class_names)} classes
({", ".join(info.class_names)}), imaged on {instruments_text(facts)}; {pixel_text(facts)}.
{date_text(facts)}

- **Curated by:** {curated}
- **Funded by:** {STEWARD} the funder and grant number.
- **Shared by:** {people(info) or f"{STEWARD} the lab or facility sharing it."}
- **License:** {info.license}
- **Fingerprint:** `{info.fingerprint}` (same inputs and settings give the same fingerprint and byte-identical shards)"""


def sources_links(info: BuildInfo) -> str:
    """Dataset Sources: repository and paper."""
    repository = info.url or f"{STEWARD} the Hub repository URL once published (`fairmicro publish`)."
    return f"""- **Repository:** {repository}
- **Paper:** {STEWARD} the article that describes the specimens or uses this dataset, if any."""


def direct_use(info: BuildInfo) -> str:
    """Direct Use: what the dataset is for, in the terms of its labels and instruments."""
    task = "segmenting" if info.settings.get("task") == "segmentation" else "classifying"
    return f"""Training and evaluating models {task} micrographs by `{info.label_column}`
({", ".join(info.class_names)}), for images like these: {instruments_text(info.sources)}, {pixel_text(info.sources)}.
The metadata columns (instrument settings, specimen preparation) allow metadata-aware models and checks of
what a model relies on. Load it with:

```python
from datasets import load_dataset

dataset = load_dataset("path/to/this/folder")  # or the Hub repository id
image = dataset["train"][0]["image"]  # PIL image; 16-bit micrographs stay 16-bit (mode "I;16")
```"""


def out_of_scope(info: BuildInfo) -> str:
    """Out-of-Scope Use: where results from this dataset do not carry over."""
    return f"""- Images from other instruments, detectors or magnifications than those listed under Source Data
  ({pixel_text(info.sources)}): a model trained here is not validated on them.
- Classes other than {", ".join(info.class_names)}, and materials not in the selection.
- Decisions on safety, certification or quality of parts without validation on the lab's own data.
- Splitting rows at random: rows of one `{info.settings.get("split_by")}` are correlated; use the given splits."""


def _grouping(settings: dict) -> str:
    if settings.get("published"):
        return (
            "Splits are the published ones: each image is in the split its train/validation/test folder names\n"
            "(`--splits folders`); whether groups leak between them is up to the publisher."
        )
    return (
        f"Splits are grouped by `{settings.get('split_by')}`: all images of one group are in one split,\n"
        "so no group leaks between train and test."
    )


def structure(info: BuildInfo, fields_table: str, histogram: str, grid: str) -> str:
    """Dataset Structure: fields, splits, counts, sample tiles."""
    split_rows = [[s.name, s.rows, s.images, len(s.shards)] for s in info.splits]
    return f"""Parquet shards in `data/<split>-NNNNN-of-NNNNN.parquet`. `image` holds the tile as a lossless PNG;
`label` is a class index into the class names of the header (`ClassLabel`). The other columns come from the
fairmicro schema (units in the column names) and, where the description names a specimen table, from the
lab's own specimen table (numbers as float64, the rest as strings).

### Splits and class histogram

{_grouping(info.settings)}

{table(["split", "rows", "source images", "shards"], split_rows)}

{histogram}
{grid}
### Fields and metadata coverage

{fields_table}"""


def curation(info: BuildInfo, settings: str) -> str:
    """Curation Rationale: the recorded selection and settings, and what the steward should add."""
    return f"""Selected from the catalog's `image_metadata` view with `{info.where}`, built by

```
{info.command}
```

with these settings:

```yaml
{settings}
```

{STEWARD} why these images were collected and selected (the scientific question, what was left out and why)."""


def collection(info: BuildInfo) -> str:
    """Data Collection and Processing: instruments with image counts and dates, and the processing."""
    rows = []
    for instrument, count in info.sources.instruments():
        dates = info.sources.instrument_dates(instrument)
        rows.append(
            [
                instrument.vendor or "not recorded",
                instrument.model or "not recorded",
                instrument.serial or "not recorded",
                count,
                dates[0] if dates else "not recorded",
                dates[1] if dates else "not recorded",
            ]
        )
    tiles = f"cut into {info.settings.get('tile')} px tiles" if info.settings.get("tile") else "kept as whole images"
    return f"""{date_text(info.sources)} Instruments, as the files' vendor metadata names them:

{table(["vendor", "model", "serial", "images", "first acquired", "last acquired"], rows)}

Each image was read back from disk and checked against the sha256 recorded at ingest, its vendor data bar
cropped, and {tiles}; pixel values are kept exactly (8- and 16-bit, grey or RGB). The source images
are listed with their sha256 in `ro-crate-metadata.json`."""


def producers(info: BuildInfo) -> str:
    """Who are the source data producers."""
    return f"""Micrographs acquired on {instruments_text(info.sources)}. Instrument operator names are not
published (the catalog's `operator` column is not a dataset column). {STEWARD} the lab or facility that
prepared the specimens and acquired the images."""


def annotation(info: BuildInfo) -> str:
    """Annotation process: where every label (or mask) came from, with counts per class."""
    facts = info.sources
    if facts.task == "segmentation":
        counts = facts.label_sources()
        lines = [f"- {MASK_SOURCE_TEXT.get(s, s)}: {n} image(s)" for s, n in sorted(counts.items())]
        return "Masks are label maps, one per image; the class map is given under Dataset Structure.\n\n" + "\n".join(
            lines
        )
    origin = label_origin(info.label_column, tuple(c.name for c in _lab_columns()))
    if origin != "image":
        where = "the specimen table given at ingest" if origin == "specimen" else "the catalog"
        return (
            f"Labels are the values of `{info.label_column}` from {where}, one per image "
            f"({info.images} images), so all images of a specimen share its label."
        )
    by_class = facts.label_sources_by_class()
    sources = sorted(facts.label_sources())
    rows = [[label, *(by_class.get(label, Counter())[s] for s in sources)] for label in info.class_names]
    rows.append(["**all**", *(facts.label_sources()[s] for s in sources)])
    legend = "\n".join(f"- `{s}`: {LABEL_SOURCE_TEXT.get(s, 'not recorded')}" for s in sources)
    return f"""Image labels (`label`), counted in source images per class and label source:

{table(["class", *sources], rows)}

{legend}"""


def _lab_columns() -> tuple:
    from fairmicro.builders.columns import build_lab_columns

    return build_lab_columns()


def annotators(info: BuildInfo) -> str:
    """Who are the annotators."""
    counts = info.sources.label_sources()
    parts = []
    if counts.get("predicted"):
        parts.append(f"{counts['predicted']} label(s) come from model runs recorded in the catalog (`model_runs`).")
    if counts.get("manual"):
        parts.append(f"{counts['manual']} label(s) were confirmed or corrected by a person in `fairmicro review`.")
    return " ".join([*parts, f"{STEWARD} who sorted, labelled and reviewed the images, and with what expertise."])


def limitations(info: BuildInfo) -> str:
    """Bias, Risks, and Limitations: class balance, specimens per class, instruments per class."""
    facts = info.sources
    images, specimens = facts.images_per_class(), facts.specimens_per_class()
    rows_per_class = {name: sum(s.classes.get(name, 0) for s in info.splits) for name in info.class_names}
    total = sum(rows_per_class.values()) or 1
    rows = [
        [n, images.get(n, 0), specimens.get(n, 0), rows_per_class[n], f"{100 * rows_per_class[n] / total:.0f}%"]
        for n in info.class_names
    ]
    notes = [_balance_note(rows_per_class), *_confounds(facts, info.class_names)]
    few = [n for n in info.class_names if specimens.get(n, 0) < 5]
    if few:
        notes.append(
            f"Fewer than 5 specimens in {', '.join(few)}: scores on these classes rest on few independent samples."
        )
    return (
        table(["class", "source images", "specimens", "rows", "share of rows"], rows)
        + "\n\n"
        + "\n".join(f"- {n}" for n in notes if n)
    )


def _balance_note(rows: dict[str, int]) -> str:
    filled = [n for n in rows.values() if n]
    if not filled:
        return ""
    ratio = max(filled) / min(filled)
    return f"Class imbalance: the largest class has {ratio:.1f} times the rows of the smallest."


def _confounds(facts: SourceFacts, class_names: Sequence[str]) -> list[str]:
    """A note per class imaged on one instrument only, when the dataset has several."""
    instruments = facts.instruments()
    if len(instruments) < 2:
        return [f"All images come from one instrument ({instruments_text(facts)}): results may not transfer to others."]
    notes = []
    for name in class_names:
        used = {i.instrument.name for i in facts.images if i.label == name}
        if len(used) == 1:
            notes.append(f"`{name}` was imaged only on {used.pop()}: a model may learn the instrument, not the class.")
    return notes


def recommendations() -> str:
    """Recommendations."""
    return """Report scores per class and per instrument, keep the given specimen-grouped splits, and check a
model on images from a session or instrument it has not seen before relying on it."""


def apa(info: BuildInfo) -> str:
    """An APA-style reference."""
    names = ", ".join(c.name for c in info.creators) or "fairmicro"
    url = f" {info.url}" if info.url else ""
    return f"{names} ({info.built_on.year}). *{info.name}* (Version {info.fingerprint[:12]}) [Data set].{url}"


def contact(info: BuildInfo) -> str:
    """Dataset Card Contact: creators with an ORCID iD, else what to add."""
    reachable = [c for c in info.creators if c.orcid]
    if reachable:
        return ", ".join(f"{c.name} ({c.orcid})" for c in reachable)
    return f"{STEWARD} a contact: rebuild with `--creator 'Name <ORCID iD>'` or write an e-mail address here."

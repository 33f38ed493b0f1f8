"""Cards and crates a steward can cite: built through the CLI with default parameters, checked against the catalog."""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

from fairmicro.builders.card_grid import (
    CELL_PX,
    LABEL_WIDTH,
    PAD,
    GridPicker,
    nice_length,
    render_grid,
)
from tests.builders.conftest import CLASSES, write_collection
from tests.conftest import Cli

PATTERN = r"(?P<specimen_id>S\d{3})_"
CARBERRY = "Josiah Carberry <0000-0002-1825-0097>"
ORCID = "https://orcid.org/0000-0002-1825-0097"
TEMPLATE_HEADINGS = (
    "## Dataset Details",
    "### Dataset Description",
    "### Dataset Sources",
    "## Uses",
    "### Direct Use",
    "### Out-of-Scope Use",
    "## Dataset Structure",
    "## Dataset Creation",
    "### Curation Rationale",
    "### Source Data",
    "#### Data Collection and Processing",
    "#### Who are the source data producers?",
    "### Annotations",
    "#### Annotation process",
    "#### Who are the annotators?",
    "#### Personal and Sensitive Information",
    "## Bias, Risks, and Limitations",
    "### Recommendations",
    "## Citation",
    "## Dataset Card Contact",
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Cli, Path, str]:
    """Ingest a 3-class collection, mark 3 labels as reviewed, build with defaults (validation on)."""
    root = tmp_path_factory.mktemp("cards")
    table = write_collection(root / "images", specimens_per_class=3)
    cli = Cli(root / "catalog.duckdb", root)
    cli("ingest", str(root / "images"), "--specimens", str(table), "--specimen-pattern", PATTERN, "--label-from-folder")
    cli(
        "query",
        "--write",
        "UPDATE images SET label_source = 'manual' WHERE sha256 IN (SELECT sha256 FROM images ORDER BY sha256 LIMIT 3)",
    )
    result = cli("build", "cards", "--license", "CC-BY-4.0", "--creator", CARBERRY, "--out", "out")
    return cli, root / "out", result.stdout + result.stderr


def _card(out: Path) -> str:
    return (out / "README.md").read_text(encoding="utf-8")


def _sections(text: str) -> dict[str, str]:
    body = text.split("\n---\n", 1)[1]
    parts = re.split(r"^(#{2,4} .+)$", body, flags=re.MULTILINE)
    return {parts[i].strip(): parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}


def _graph(out: Path) -> dict[str, dict]:
    crate = json.loads((out / "ro-crate-metadata.json").read_text(encoding="utf-8"))
    return {entity["@id"]: entity for entity in crate["@graph"]}


# ------------------------------------------------------------------------ card


def test_card_is_a_hub_dataset_card_with_every_template_section_filled(built) -> None:
    import huggingface_hub

    _, out, _ = built
    card = huggingface_hub.DatasetCard.load(out / "README.md")
    assert card.data.license == "cc-by-4.0" and card.data.pretty_name == "cards"
    assert card.data.annotations_creators == ["expert-generated"]
    sections = _sections(_card(out))
    for heading in TEMPLATE_HEADINGS:
        assert heading in sections, heading
    for heading, body in sections.items():  # a parent heading may hold only sub-headings
        if heading not in (
            "## Dataset Details",
            "## Uses",
            "## Dataset Creation",
            "### Source Data",
            "### Annotations",
        ):
            assert body, f"{heading} is empty"
    assert "More Information Needed" not in _card(out)
    assert "To add (not recorded in the catalog)" in sections["### Curation Rationale"]  # steward's task


def test_card_states_instruments_dates_and_annotation_counts_of_the_catalog(built) -> None:
    cli, out, _ = built
    sections = _sections(_card(out))
    instruments = cli.rows(
        "SELECT vendor, instrument_model AS model, instrument_serial AS serial, count(*) AS n, "
        "strftime(min(acquired_at), '%Y-%m-%dT%H:%M:%S') AS first FROM image_metadata GROUP BY ALL"
    )
    assert len(instruments) == 2
    collection = sections["#### Data Collection and Processing"]
    for row in instruments:
        assert f"| {row['vendor']} | {row['model']} | {row['serial']} | {row['n']} | {row['first']} |" in collection
    (dates,) = cli.rows(
        "SELECT strftime(min(acquired_at), '%Y-%m-%dT%H:%M:%S') AS lo, "
        "strftime(max(acquired_at), '%Y-%m-%dT%H:%M:%S') AS hi FROM image_metadata"
    )
    assert f"Acquired between {dates['lo']} and {dates['hi']}" in sections["### Dataset Description"]
    counts = cli.rows(
        "SELECT label, count(*) FILTER (label_source = 'folder') AS folder, "
        "count(*) FILTER (label_source = 'manual') AS manual FROM image_metadata GROUP BY 1 ORDER BY 1"
    )
    annotation = sections["#### Annotation process"]
    assert sum(r["manual"] for r in counts) == 3
    for row in counts:
        assert f"| {row['label']} | {row['folder']} | {row['manual']} |" in annotation
    assert "fairmicro review" in annotation and "--label-from-folder" in annotation
    specimens = cli.rows(
        "SELECT label, count(DISTINCT specimen_id) AS s, count(*) AS n FROM image_metadata GROUP BY 1 ORDER BY 1"
    )
    limits = sections["## Bias, Risks, and Limitations"]
    for row in specimens:
        assert f"| {row['label']} | {row['n']} | {row['s']} |" in limits
    assert "Fewer than 5 specimens" in limits


def test_citation_and_contact_name_the_creator(built) -> None:
    _, out, _ = built
    sections = _sections(_card(out))
    header = json.loads(json.dumps(__import__("yaml").safe_load(_card(out).split("---\n")[1])))
    year = re.search(r"year = \{(\d{4})\}", sections["## Citation"])
    assert year and "author = {Josiah Carberry}" in sections["## Citation"]
    assert f"version = {{{header['fairmicro']['fingerprint'][:12]}}}" in sections["## Citation"]
    assert ORCID in sections["## Dataset Card Contact"]


# ------------------------------------------------------------------------ grid


def _white_runs(pixels: np.ndarray) -> set[int]:
    """Lengths of horizontal runs of pure white bounded by black, seen on BAR_ROWS consecutive rows."""
    white = (pixels == 255).all(axis=2)
    black = (pixels == 0).all(axis=2)
    lengths = set()
    for y in range(pixels.shape[0]):
        for match in re.finditer("1+", "".join("1" if v else "0" for v in white[y])):
            a, b = match.span()
            if a > 0 and b < white.shape[1] and black[y, a - 1] and black[y, b]:
                lengths.add(b - a)
    return lengths


def test_grid_shows_one_tile_per_class_with_a_scale_bar_from_the_pixel_size(built) -> None:
    from PIL import Image

    cli, out, _ = built
    grid = np.asarray(Image.open(out / "assets" / "sample_grid.png").convert("RGB"))
    tile_area = grid[:, LABEL_WIDTH + PAD : LABEL_WIDTH + PAD + CELL_PX]
    filled = (tile_area != 255).any(axis=(1, 2)).astype(int)
    assert np.count_nonzero(np.diff(filled) == 1) + filled[0] == len(CLASSES)  # one tile block per class
    assert (tile_area != 255).any(axis=(0, 2)).all(), "a blank column in the grid"
    caption = re.findall(
        r"- \*\*(\w+)\*\*: specimen `\w+`, image `([0-9a-f]{12})`; scale bar ([\d.]+) (nm|µm)", _card(out)
    )
    assert [c[0] for c in caption] == list(CLASSES)
    runs = _white_runs(grid)
    for _, sha, length, unit in caption:
        (row,) = cli.rows(
            f"SELECT pixel_size_x_nm AS p, width_px AS w, height_px AS h FROM image_metadata WHERE sha256 LIKE '{sha}%'"
        )
        preview_width = CELL_PX if row["w"] >= row["h"] else round(row["w"] * CELL_PX / row["h"])
        nm = float(length) * (1000 if unit == "µm" else 1)
        assert nm == nice_length(nm)  # a round length
        assert round(nm / (row["p"] * row["w"] / preview_width)) in runs


@pytest.mark.parametrize("kind", ["uint8", "uint16", "rgb"])
def test_grid_picks_a_typical_tile_never_a_blank_one(kind: str) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    picker = GridPicker()
    top = 65535 if kind == "uint16" else 255
    shape = (40, 40, 3) if kind == "rgb" else (40, 40)
    for i in range(6):
        tile = (rng.random(shape) * top).astype(np.uint16 if kind == "uint16" else np.uint8)
        if i == 0:
            tile[:] = top // 2  # near-blank: never the representative
        picker.offer("a", tile, {"image_sha256": f"{i:064d}", "pixel_size_x_nm": 2.5, "specimen_id": "S1"})
    (pick,) = picker.picks(["a", "absent"])
    assert pick.candidate.image_sha256 != f"{0:064d}"
    assert pick.bar_nm == 20.0  # the tile is 40 px x 2.5 nm = 100 nm wide: 30% is 30 nm, rounded down to 20 nm
    assert pick.bar_px == round(20.0 / (2.5 * 40 / CELL_PX))
    grid = np.asarray(Image.open(io.BytesIO(render_grid([pick]))).convert("RGB"))
    assert pick.bar_px in _white_runs(grid)


# ------------------------------------------------------------------- RO-Crate


def test_rocrate_names_creator_publisher_instruments_period_and_source_images(built) -> None:
    cli, out, stdout = built
    graph = _graph(out)
    root = graph["./"]
    assert root["creator"] == root["publisher"] == {"@id": ORCID}
    assert graph[graph[ORCID]["contactPoint"]["@id"]]["@type"] == "ContactPoint"
    (dates,) = cli.rows(
        "SELECT strftime(min(acquired_at), '%Y-%m-%dT%H:%M:%S') AS lo, "
        "strftime(max(acquired_at), '%Y-%m-%dT%H:%M:%S') AS hi FROM image_metadata"
    )
    assert root["temporalCoverage"] == f"{dates['lo']}/{dates['hi']}"
    instruments = {e["name"]: e for e in graph.values() if e["@type"] == "IndividualProduct"}
    catalog = cli.rows("SELECT DISTINCT vendor, instrument_model AS model FROM image_metadata")
    assert set(instruments) == {f"{r['vendor']} {r['model']}" for r in catalog}
    images = {e["sha256"]: e for e in graph.values() if e["@type"] == "ImageObject"}
    expected = cli.rows("SELECT sha256, vendor, file_format FROM image_metadata")
    assert set(images) == {r["sha256"] for r in expected}
    for row in expected:
        assert images[row["sha256"]]["encodingFormat"] == "image/tiff"
        acquisition = next(
            e
            for e in graph.values()
            if e["@type"] == "CreateAction" and {"@id": images[row["sha256"]]["@id"]} in _list(e.get("result"))
        )
        assert graph[acquisition["instrument"]["@id"]]["manufacturer"] == row["vendor"]
    assert "RECOMMENDED" not in stdout  # the build validated the crate at RECOMMENDED: nothing to advise


def _list(value: object) -> list:
    return value if isinstance(value, list) else [value]


@pytest.mark.slow
def test_rocrate_passes_the_validator_at_recommended(built) -> None:
    from fairmicro.builders.rocrate import validate_crate

    _, out, _ = built
    assert validate_crate(out, severity="RECOMMENDED") == []


# ------------------------------------------------------------------- Croissant


def test_croissant_has_url_creator_shard_checksums_and_class_names(built) -> None:
    import mlcroissant as mlc

    from fairmicro.builders.croissant import validate_croissant

    _, out, _ = built
    path = out / "croissant.json"
    assert validate_croissant(path) == []
    metadata = json.loads(path.read_text(encoding="utf-8"))
    assert metadata["url"] == "./"
    assert "Josiah Carberry" in json.dumps(metadata["creator"])
    objects = {d["contentUrl"]: d for d in metadata["distribution"] if d["@type"] == "cr:FileObject"}
    shards = sorted(p.relative_to(out).as_posix() for p in (out / "data").glob("*.parquet"))
    assert sorted(objects) == shards
    for shard in shards:
        assert objects[shard]["sha256"] == hashlib.sha256((out / shard).read_bytes()).hexdigest()
    records = list(mlc.Dataset(jsonld=path).records("classes"))
    assert [(r["classes/index"], r["classes/name"]) for r in records] == [(i, name) for i, name in enumerate(CLASSES)]


def test_a_segmentation_build_states_its_mask_class_map_and_mask_sources(cli: Cli, tmp_path: Path) -> None:
    import mlcroissant as mlc

    from fairmicro.builders.croissant import validate_croissant
    from tests.catalog.test_masks_ingest import write_set

    write_set(tmp_path, ["a", "b"])
    cli("ingest", str(tmp_path / "images"), "--masks", str(tmp_path / "masks"), "--mask-classes", "bg,ferrite,pearlite")
    cli("build", "seg", "--task", "segmentation", "--license", "MIT", "--out", "out", "--no-validate")
    out = tmp_path / "out"
    assert validate_croissant(out / "croissant.json") == []
    records = list(mlc.Dataset(jsonld=out / "croissant.json").records("mask_classes"))
    assert [(r["mask_classes/value"], r["mask_classes/name"]) for r in records] == [
        (0, "bg"),
        (1, "ferrite"),
        (2, "pearlite"),
    ]
    sections = _sections(_card(out))
    assert "| ferrite | 1 |" in sections["## Masks"]  # the class map + pixel-fraction block is kept
    assert (
        "drawn by a person" in sections["#### Annotation process"]
        and ": 2 image(s)" in sections["#### Annotation process"]
    )

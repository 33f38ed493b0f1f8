"""End-to-end builds from generated catalogs: layout, 16-bit round trip, card, crate, Croissant, catalog rows."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import datasets
import huggingface_hub
import numpy as np
import pyarrow.parquet as pq
import pytest
import tifffile
import yaml

from fairmicro.builders import BuildConfig, Creator, Selection, SplitSpec, TilingSpec, build_dataset
from fairmicro.builders.columns import dataset_columns, lab_columns, with_lab_columns
from fairmicro.builders.hf import hf_features
from fairmicro.catalog import Catalog
from tests.builders.conftest import CLASSES, ingest_collection, write_collection

BAR_ROWS = 8
CARBERRY = "Josiah Carberry <0000-0002-1825-0097>"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    """One 16-bit build with tiles and data bars, shared by the tests below.

    Validation is off here because the tests run both validators themselves;
    the CLI test covers validation during a build.
    """
    root = tmp_path_factory.mktemp("build16")
    ingest_collection(
        root / "catalog.duckdb",
        root / "images",
        write_collection(root / "images", dtype="uint16", bar_rows=BAR_ROWS),
    )
    config = BuildConfig(
        name="tiles-16bit",
        out=root / "out",
        tiling=TilingSpec(tile=32, stride=8),
        creators=(Creator.parse(CARBERRY),),
        keywords=("steel",),
        validate=False,
    )
    with Catalog.open(root / "catalog.duckdb") as catalog:
        result = build_dataset(catalog, config)
    return root, result


def _split_tables(out: Path) -> dict[str, object]:
    shards: dict[str, list[Path]] = {}
    for path in sorted((out / "data").glob("*.parquet")):
        shards.setdefault(path.name.split("-")[0], []).append(path)
    return {split: pq.ParquetDataset(paths).read() for split, paths in shards.items()}


def test_layout_is_hugging_face_shards_card_crate_and_croissant(built: tuple[Path, object]) -> None:
    root, _ = built
    names = sorted(p.relative_to(root / "out").as_posix() for p in (root / "out").rglob("*") if p.is_file())
    assert names == [
        "README.md",
        "assets/sample_grid.png",
        "croissant.json",
        "data/test-00000-of-00001.parquet",
        "data/train-00000-of-00001.parquet",
        "data/validation-00000-of-00001.parquet",
        "ro-crate-metadata.json",
    ]
    assert not list(root.glob(".out.*")), "staging folders are cleaned up"


def test_specimens_never_leak_between_splits(built: tuple[Path, object]) -> None:
    root, _ = built
    specimens = {split: set(t.column("specimen_id").to_pylist()) for split, t in _split_tables(root / "out").items()}
    assert set(specimens) == {"train", "validation", "test"}
    assert not specimens["train"] & specimens["validation"]
    assert not specimens["train"] & specimens["test"]
    assert not specimens["validation"] & specimens["test"]


def test_16_bit_tiles_survive_load_dataset_exactly(built: tuple[Path, object], tmp_path: Path) -> None:
    root, _ = built
    loaded = datasets.load_dataset(str(root / "out"), cache_dir=str(tmp_path / "hf-cache"))
    row = loaded["train"][5]
    image = np.array(row["image"])
    assert image.dtype == np.uint16 and image.max() > 255
    with Catalog.open(root / "catalog.duckdb", read_only=True) as catalog:
        (path,) = catalog.query("SELECT path FROM images WHERE sha256 = ?", [row["image_sha256"]]).rows[0]
    source = tifffile.imread(path)
    y, x = row["tile_y_px"], row["tile_x_px"]
    np.testing.assert_array_equal(image, source[y : y + 32, x : x + 32])
    assert loaded["train"].features == _built_features(root)[0]


def _built_features(root: Path) -> tuple[datasets.Features, list[str]]:
    """Features and metadata column names a build of this catalog writes (schema's, then lab columns)."""
    with Catalog.open(root / "catalog.duckdb", read_only=True) as catalog:
        lab = lab_columns(catalog)
    assert [c.name for c in lab] == ["batch", "primary_microconstituent"]
    with with_lab_columns(lab):
        return hf_features(CLASSES), [c.name for c in dataset_columns()]


def test_card_yaml_parses_and_matches_features_and_counts(built: tuple[Path, object]) -> None:
    root, result = built
    text = (root / "out" / "README.md").read_text(encoding="utf-8")
    header = yaml.safe_load(text.split("---\n")[1])
    assert header["license"] == "cc-by-4.0"
    assert header["task_categories"] == ["image-classification"]
    features = datasets.Features._from_yaml_list(header["dataset_info"]["features"])
    expected, names = _built_features(root)
    assert features == expected
    assert list(features)[2:] == names
    tables = _split_tables(root / "out")
    assert {s["name"]: s["num_examples"] for s in header["dataset_info"]["splits"]} == {
        name: t.num_rows for name, t in tables.items()
    }
    assert [f["split"] for f in header["configs"][0]["data_files"]] == [
        "train",
        "validation",
        "test",
    ]
    shard_bytes = sum(p.stat().st_size for p in (root / "out" / "data").glob("*.parquet"))
    assert header["dataset_info"]["download_size"] == shard_bytes
    card = huggingface_hub.DatasetCard.load(root / "out" / "README.md")
    assert card.data.license == "cc-by-4.0" and card.data.pretty_name == "tiles-16bit"
    for needle in (
        result.fingerprint,
        "## Citation",
        "fairmicro build tiles-16bit",
        "assets/sample_grid.png",
        "| `accelerating_voltage_kv` | float64 | kV |",
    ):
        assert needle in text


def test_class_histogram_in_card_matches_the_shards(built: tuple[Path, object]) -> None:
    root, result = built
    tables = _split_tables(root / "out")
    for stats in result.info.splits:
        labels = tables[stats.name].column("label").to_pylist()
        assert dict(stats.classes) == {CLASSES[i]: labels.count(i) for i in set(labels)}
        assert stats.rows == len(labels)
    text = (root / "out" / "README.md").read_text(encoding="utf-8")
    train = result.info.splits[0]
    assert f"| ferrite | {train.classes['ferrite']} (33%) |" in text


def test_data_bar_is_cropped_before_tiling(built: tuple[Path, object]) -> None:
    root, _ = built
    table = pq.ParquetDataset(sorted((root / "out" / "data").glob("*.parquet"))).read()
    assert set(table.column("data_bar_height_px").to_pylist()) == {0, BAR_ROWS}
    assert max(table.column("tile_y_px").to_pylist()) + 32 <= 48, "no tile reaches into the data bar"


def test_rocrate_lists_every_file_with_its_checksum_and_the_build(
    built: tuple[Path, object],
) -> None:
    root, result = built
    graph = {e["@id"]: e for e in json.loads((root / "out" / "ro-crate-metadata.json").read_text())["@graph"]}
    files = [p for p in (root / "out").rglob("*") if p.is_file() and p.name != "ro-crate-metadata.json"]
    for path in files:
        entity = graph[path.relative_to(root / "out").as_posix()]
        assert entity["@type"] == "File"
        assert entity["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert entity["contentSize"] == str(path.stat().st_size)
    root_entity = graph["./"]
    assert root_entity["creator"] == {"@id": "https://orcid.org/0000-0002-1825-0097"}
    assert "steel" in root_entity["keywords"]
    mentions = root_entity["mentions"] if isinstance(root_entity["mentions"], list) else [root_entity["mentions"]]
    action = graph[mentions[0]["@id"]]  # the build; acquisitions on each instrument follow
    assert action["@type"] == "CreateAction"
    assert graph[action["instrument"]["@id"]]["version"] == result.info.version
    assert graph[action["object"][0]["@id"]]["text"] == "TRUE"


def test_rocrate_passes_the_real_validator_offline(built: tuple[Path, object]) -> None:
    from fairmicro.builders.rocrate import validate_crate

    root, _ = built
    assert validate_crate(root / "out", severity="REQUIRED") == []


def test_croissant_validates_and_yields_every_row(built: tuple[Path, object]) -> None:
    import mlcroissant as mlc

    from fairmicro.builders.croissant import validate_croissant

    root, result = built
    assert validate_croissant(root / "out" / "croissant.json") == []
    records = list(mlc.Dataset(jsonld=root / "out" / "croissant.json").records("default"))
    assert len(records) == result.info.rows
    assert {r["default/split"] for r in records} == {b"train", b"validation", b"test"}
    assert np.array(records[0]["default/image"]).dtype == np.uint16


def test_build_is_recorded_in_the_catalog(built: tuple[Path, object]) -> None:
    root, result = built
    with Catalog.open(root / "catalog.duckdb", read_only=True) as catalog:
        (row,) = catalog.query(
            "SELECT name, fingerprint, selection_sql, counts, output_path FROM datasets WHERE dataset_id = ?",
            [result.dataset_id],
        ).rows
        members = catalog.query(
            "SELECT split, count(*), sum(tile_count) FROM dataset_images WHERE dataset_id = ? GROUP BY split",
            [result.dataset_id],
        ).rows
    assert row[:3] == ("tiles-16bit", result.fingerprint, "TRUE")
    assert json.loads(row[3])["train"]["rows"] == result.info.splits[0].rows
    assert row[4] == str((root / "out").resolve())
    assert {split: (images, tiles) for split, images, tiles in members} == {
        s.name: (s.images, s.rows) for s in result.info.splits
    }


def test_sample_grid_is_a_png(built: tuple[Path, object]) -> None:
    from PIL import Image

    root, _ = built
    with Image.open(io.BytesIO((root / "out" / "assets" / "sample_grid.png").read_bytes())) as grid:
        assert grid.format == "PNG" and grid.height >= 3 * 96


def test_selection_with_bound_parameter(make_catalog, tmp_path: Path) -> None:
    catalog_path = make_catalog(specimens_per_class=6)
    config = BuildConfig(
        name="hcci",
        out=tmp_path / "hcci",
        selection=Selection("material = ?", ("HCCI",)),
        validate=False,
    )
    with Catalog.open(catalog_path) as catalog:
        result = build_dataset(catalog, config)
    table = pq.ParquetDataset(sorted((tmp_path / "hcci" / "data").glob("*.parquet"))).read()
    assert set(table.column("material").to_pylist()) == {"HCCI"}
    assert result.info.images == 3 * 3 * 2  # 3 HCCI specimens per class, 2 images each
    assert set(table.column("tile_height_px").to_pylist()) == {48}  # whole images


def test_split_by_any_column(make_catalog, tmp_path: Path) -> None:
    catalog_path = make_catalog(specimens_per_class=4)
    config = BuildConfig(
        name="by-temp",
        out=tmp_path / "t",
        splits=SplitSpec((0.5, 0.5), "heat_treatment_temperature_c"),
        validate=False,
    )
    with Catalog.open(catalog_path) as catalog:
        build_dataset(catalog, config)
    tables = _split_tables(tmp_path / "t")
    temps = {name: set(t.column("heat_treatment_temperature_c").to_pylist()) for name, t in tables.items()}
    assert temps["train"] and temps["test"] and not temps["train"] & temps["test"]


def test_label_and_groups_from_extra_specimen_table_columns(make_catalog, tmp_path: Path) -> None:
    catalog_path = make_catalog(specimens_per_class=4)
    config = BuildConfig(
        name="attrs",
        out=tmp_path / "a",
        label="Primary microconstituent",
        splits=SplitSpec((0.5, 0.5), "batch"),
        validate=False,
    )
    with Catalog.open(catalog_path) as catalog:
        result = build_dataset(catalog, config)
    assert result.info.class_names == list(CLASSES)
    tables = _split_tables(tmp_path / "a")
    batches = {name: {s[-1] for s in t.column("specimen_id").to_pylist()} for name, t in tables.items()}
    # batch = specimen number mod 4, and the specimen id ends in that number
    assert batches["train"] and batches["test"] and not batches["train"] & batches["test"]
    for table in tables.values():  # the attribute label agrees with the folder the file came from
        assert [CLASSES[i] for i in table.column("label").to_pylist()] == [
            CLASSES[int(s[1])] for s in table.column("specimen_id").to_pylist()
        ]


def test_rocrate_validator_catches_a_broken_crate(built: tuple[Path, object], tmp_path: Path) -> None:
    import shutil

    from fairmicro.builders.rocrate import validate_crate

    root, _ = built
    broken = tmp_path / "broken"
    shutil.copytree(root / "out", broken)
    crate = json.loads((broken / "ro-crate-metadata.json").read_text())
    next(e for e in crate["@graph"] if e["@id"] == "./").pop("datePublished")
    (broken / "ro-crate-metadata.json").write_text(json.dumps(crate))
    issues = validate_crate(broken)
    assert any("datePublished" in issue for issue in issues), issues


def test_croissant_validation_catches_a_broken_file(built: tuple[Path, object], tmp_path: Path) -> None:
    from fairmicro.builders.croissant import validate_croissant

    root, _ = built
    metadata = json.loads((root / "out" / "croissant.json").read_text())
    metadata["recordSet"][1]["field"][1]["dataType"] = "sc:NoSuchType"
    (tmp_path / "croissant.json").write_text(json.dumps(metadata))
    assert validate_croissant(tmp_path / "croissant.json")


def test_shards_roll_over_and_load_as_one_split(make_catalog, tmp_path: Path) -> None:
    catalog_path = make_catalog(specimens_per_class=4)
    config = BuildConfig(
        name="sharded",
        out=tmp_path / "s",
        tiling=TilingSpec(tile=16),
        rows_per_group=40,
        max_shard_bytes=1,  # every row group closes its shard
        validate=False,
    )
    with Catalog.open(catalog_path) as catalog:
        result = build_dataset(catalog, config)
    train = result.info.splits[0]
    expected = -(-train.rows // 40)
    assert len(train.shards) == expected > 1
    assert train.shards == [f"data/train-{i:05d}-of-{expected:05d}.parquet" for i in range(expected)]
    loaded = datasets.load_dataset(str(tmp_path / "s"), cache_dir=str(tmp_path / "hf-cache"))
    assert loaded["train"].num_rows == train.rows
    first = pq.ParquetFile(tmp_path / "s" / train.shards[0]).metadata
    assert (first.num_row_groups, first.row_group(0).num_rows) == (1, 40)

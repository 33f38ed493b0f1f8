"""Fingerprints and byte-identical rebuilds; failed builds leave nothing behind."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from fairmicro.builders import BuildConfig, Selection, SplitSpec, TilingSpec, build_dataset
from fairmicro.builders.plan import plan_build
from fairmicro.catalog import Catalog
from fairmicro.errors import DatasetBuildError, EmptyClassError

BASE = BuildConfig(name="v", out=Path("unused"), tiling=TilingSpec(tile=24), validate=False)


def _fingerprint(catalog_path: Path, config: BuildConfig) -> str:
    with Catalog.open(catalog_path) as catalog:
        return plan_build(catalog, config.selection, config.label, config.tiling, config.splits).fingerprint


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def catalog_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.builders.conftest import ingest_collection, write_collection

    root = tmp_path_factory.mktemp("versioning")
    ingest_collection(root / "c.duckdb", root / "images", write_collection(root / "images", specimens_per_class=5))
    return root / "c.duckdb"


def test_rebuild_gives_byte_identical_shards_and_card(catalog_path: Path, tmp_path: Path) -> None:
    builds = []
    for name in ("a", "b"):
        config = dataclasses.replace(BASE, out=tmp_path / name)
        with Catalog.open(catalog_path) as catalog:
            builds.append(build_dataset(catalog, config))
    first, second = _files(tmp_path / "a"), _files(tmp_path / "b")
    shards = [name for name in first if name.endswith(".parquet")]
    assert shards and all(first[n] == second[n] for n in shards)
    assert first["assets/sample_grid.png"] == second["assets/sample_grid.png"]
    assert first["README.md"].replace(b"--out a", b"--out b") == second["README.md"]
    assert builds[0].fingerprint == builds[1].fingerprint
    assert builds[0].dataset_id != builds[1].dataset_id


def test_rebuild_into_the_same_folder_replaces_it(catalog_path: Path, tmp_path: Path) -> None:
    config = dataclasses.replace(BASE, out=tmp_path / "same")
    with Catalog.open(catalog_path) as catalog:
        build_dataset(catalog, config)
        before = _files(tmp_path / "same")
        build_dataset(catalog, dataclasses.replace(config, tiling=TilingSpec(tile=16)))
    after = _files(tmp_path / "same")
    assert before["data/train-00000-of-00001.parquet"] != after["data/train-00000-of-00001.parquet"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["same"]


@pytest.mark.parametrize(
    ("change", "same"),
    [
        ({}, True),
        (
            {"description": "other words", "creators": ()},
            True,
        ),  # documentation does not change rows
        ({"splits": SplitSpec(allow_empty_class=True)}, True),
        ({"tiling": TilingSpec(tile=16)}, False),
        ({"tiling": TilingSpec(tile=24, stride=12)}, False),
        ({"tiling": TilingSpec(tile=24, crop_data_bar=False)}, False),
        ({"splits": SplitSpec(seed=7)}, False),
        ({"splits": SplitSpec((0.8, 0.2))}, False),
        ({"splits": SplitSpec(split_by="sha256")}, False),
        ({"selection": Selection("material = 'HCCI'")}, False),
        ({"label": "cooling_method", "splits": SplitSpec(allow_empty_class=True)}, False),
    ],
)
def test_fingerprint_follows_the_inputs(catalog_path: Path, change: dict, same: bool) -> None:
    base = _fingerprint(catalog_path, BASE)
    assert (_fingerprint(catalog_path, dataclasses.replace(BASE, **change)) == base) is same


def test_fingerprint_changes_when_a_label_changes(catalog_path: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy.duckdb"
    shutil.copy(catalog_path, copy)
    before = _fingerprint(copy, BASE)
    with Catalog.open(copy) as catalog:
        catalog.con.execute("UPDATE images SET label = 'pearlite' WHERE specimen_id = 'S000'")
    assert _fingerprint(copy, BASE) != before


def test_empty_class_refused_before_anything_is_written(make_catalog, tmp_path: Path) -> None:
    catalog_path = make_catalog(specimens_per_class=2)
    config = dataclasses.replace(BASE, out=tmp_path / "out")
    with (
        Catalog.open(catalog_path) as catalog,
        pytest.raises(EmptyClassError, match="--allow-empty-class"),
    ):
        build_dataset(catalog, config)
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out*"))
    with Catalog.open(catalog_path, read_only=True) as catalog:
        assert catalog.query("SELECT count(*) FROM datasets").rows == [(0,)]


def test_empty_class_allowed_builds_and_warns(make_catalog, tmp_path: Path) -> None:
    catalog_path = make_catalog(specimens_per_class=2)
    config = dataclasses.replace(BASE, out=tmp_path / "out", splits=SplitSpec(allow_empty_class=True))
    with Catalog.open(catalog_path) as catalog:
        result = build_dataset(catalog, config)
    assert any("without rows" in w for w in result.warnings)
    assert {s.name for s in result.info.splits if s.rows} == {"train", "validation"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"selection": Selection("material = 'nothing'")}, "selects no images"),
        (
            {"selection": Selection("1 = 1; DELETE FROM images")},
            re.escape(
                "--where '1 = 1; DELETE FROM images' must be one boolean expression over "
                "image_metadata; it does not parse: "
            ),
        ),
        (  # parses, but as three statements: the predicate is closed early
            {"selection": Selection("TRUE); DELETE FROM images; SELECT (1")},
            re.escape(
                "--where 'TRUE); DELETE FROM images; SELECT (1' must be one boolean expression "
                "over image_metadata, not further statements"
            ),
        ),
        ({"selection": Selection("material = ?")}, "failed"),  # parameter missing
        ({"label": "no_such_column"}, "neither a column of image_metadata"),
        ({"label": "alloy"}, "have no value in 'alloy'"),
    ],
)
def test_bad_requests_fail_with_a_message_and_leave_nothing(
    catalog_path: Path, tmp_path: Path, kwargs: dict, message: str
) -> None:
    config = dataclasses.replace(BASE, out=tmp_path / "out", **kwargs)
    with Catalog.open(catalog_path) as catalog, pytest.raises(DatasetBuildError, match=message):
        build_dataset(catalog, config)
    assert not (tmp_path / "out").exists()
    assert not list(tmp_path.glob(".out*"))
    with Catalog.open(catalog_path) as catalog:  # nothing ran: the images are all still there
        assert catalog.query("SELECT count(*) FROM images").rows[0][0] > 0


def test_refuses_to_overwrite_a_folder_that_is_not_a_build(catalog_path: Path, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "thesis.tex").write_text("precious")
    with (
        Catalog.open(catalog_path) as catalog,
        pytest.raises(DatasetBuildError, match="not a fairmicro build"),
    ):
        build_dataset(catalog, dataclasses.replace(BASE, out=tmp_path / "out"))
    assert (tmp_path / "out" / "thesis.tex").read_text() == "precious"


def test_changed_image_file_is_detected(make_catalog, tmp_path: Path) -> None:
    catalog_path = make_catalog(specimens_per_class=3)
    with Catalog.open(catalog_path) as catalog:
        (path,) = catalog.query("SELECT path FROM images ORDER BY sha256 LIMIT 1").rows[0]
    Path(path).write_bytes(Path(path).read_bytes() + b"\0")
    with (
        Catalog.open(catalog_path) as catalog,
        pytest.raises(DatasetBuildError, match="content changed since ingest"),
    ):
        build_dataset(catalog, dataclasses.replace(BASE, out=tmp_path / "out"))


def test_a_moved_image_is_read_from_another_catalogued_path(make_catalog, tmp_path: Path) -> None:
    from fairmicro.catalog.ingest import ingest

    catalog_path = make_catalog(specimens_per_class=3)
    with Catalog.open(catalog_path) as catalog:
        (path,) = catalog.query("SELECT path FROM images ORDER BY sha256 LIMIT 1").rows[0]
        copy = tmp_path / "backup" / Path(path).name
        copy.parent.mkdir()
        copy.write_bytes(Path(path).read_bytes())
        ingest(catalog, [copy])  # the catalog now knows a second path for the same image
    Path(path).unlink()
    with Catalog.open(catalog_path) as catalog:
        result = build_dataset(catalog, dataclasses.replace(BASE, out=tmp_path / "out"))
    assert result.info.images == 3 * 3 * 2


def test_float_images_are_refused_before_writing(make_catalog, tmp_path: Path) -> None:
    import numpy as np
    import tifffile

    from fairmicro.catalog.ingest import ingest

    catalog_path = make_catalog(specimens_per_class=3)
    (tmp_path / "extra").mkdir()
    tifffile.imwrite(tmp_path / "extra" / "S001_float.tif", np.ones((48, 64), np.float32))
    with Catalog.open(catalog_path) as catalog:
        ingest(catalog, [tmp_path / "extra"])
        catalog.con.execute("UPDATE images SET label = 'ferrite' WHERE bit_depth = 32")
        with pytest.raises(DatasetBuildError, match=r"S001_float.tif \(32-bit\).*bit_depth <= 16"):
            build_dataset(catalog, dataclasses.replace(BASE, out=tmp_path / "out"))
        result = build_dataset(
            catalog,
            dataclasses.replace(BASE, out=tmp_path / "out", selection=Selection("bit_depth <= 16")),
        )
    assert result.info.images == 3 * 3 * 2

"""Small built datasets for model tests: ingested and built with the real CLI, once per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fairmicro.testing.samples import write_demo_collection
from tests.conftest import Cli

PATTERN = r"(?P<specimen_id>HC\d+)_"


def _built(root: Path, image_signal: bool) -> tuple[Path, Path]:
    catalog = root / "catalog.duckdb"
    cli = Cli(catalog, root)
    table = write_demo_collection(
        root / "lab", images_per_specimen=2, shape=(64, 64), specimens_per_class=4, image_signal=image_signal
    )
    cli("ingest", str(root / "lab"), "--specimens", str(table), "--specimen-pattern", PATTERN, "--label-from-folder")
    cli(
        "build",
        "demo",
        "--tile",
        "32",
        "--split-by",
        "specimen_id",
        "--splits",
        "0.5,0.25,0.25",
        "--seed",
        "0",
        "--license",
        "CC-BY-4.0",
        "--out",
        str(root / "ds"),
    )
    return catalog, root / "ds"


@pytest.fixture(scope="session")
def _textured(tmp_path_factory):
    return _built(tmp_path_factory.mktemp("textured"), image_signal=True)


@pytest.fixture(scope="session")
def _metadata_only(tmp_path_factory):
    return _built(tmp_path_factory.mktemp("metadata_only"), image_signal=False)


def _private_copy(built: tuple[Path, Path], tmp_path: Path) -> tuple[Cli, Path]:
    catalog = tmp_path / "catalog.duckdb"
    shutil.copy(built[0], catalog)
    return Cli(catalog, tmp_path), built[1]


@pytest.fixture
def textured(_textured, tmp_path):
    """(cli on a private catalog copy, dataset folder): images carry the label."""
    return _private_copy(_textured, tmp_path)


@pytest.fixture
def metadata_only(_metadata_only, tmp_path):
    """(cli, dataset folder): every class has the same texture; only metadata carries the label."""
    return _private_copy(_metadata_only, tmp_path)

"""`fairmicro build` through the real console entry."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from fairmicro.builders.deps import require
from fairmicro.errors import MissingExtraError
from tests.builders.conftest import write_collection
from tests.conftest import Cli

PATTERN = r"(?P<specimen_id>S\d{3})_"


@pytest.fixture(scope="module")
def ingested_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One collection ingested with `fairmicro ingest` for the whole module."""
    root = tmp_path_factory.mktemp("cli-build")
    table = write_collection(root / "images", specimens_per_class=5)
    Cli(root / "catalog.duckdb", root)(
        "ingest",
        str(root / "images"),
        "--specimens",
        str(table),
        "--specimen-pattern",
        PATTERN,
        "--label-from-folder",
    )
    return root / "catalog.duckdb"


@pytest.fixture
def ingested(ingested_catalog: Path, catalog_path: Path) -> Path:
    """A private copy of the ingested catalog at the `cli` fixture's catalog path."""
    shutil.copy(ingested_catalog, catalog_path)
    return catalog_path


def test_issue_example_command_builds_a_validated_dataset(cli, ingested: Path, tmp_path: Path) -> None:
    result = cli(
        "build",
        "hcci-tiles",
        "--where",
        "material = 'HCCI'",
        "--label-column",
        "label",
        "--tile",
        "24",
        "--split-by",
        "specimen_id",
        "--splits",
        "0.7,0.15,0.15",
        "--seed",
        "0",
        "--license",
        "CC-BY-4.0",
        "--creator",
        "Josiah Carberry <0000-0002-1825-0097>",
        "--out",
        "datasets/hcci-tiles",
        "--json",
    )
    summary = json.loads(result.stdout)
    out = tmp_path / "datasets" / "hcci-tiles"
    assert (out / "ro-crate-metadata.json").is_file() and (out / "croissant.json").is_file()
    assert sum(s["rows"] for s in summary["splits"].values()) == summary["rows"] > 0
    rows = cli.rows("SELECT name, fingerprint FROM datasets")
    assert rows == [{"name": "hcci-tiles", "fingerprint": summary["fingerprint"]}]


def test_human_summary_shows_class_counts_per_split(cli, ingested: Path) -> None:
    result = cli("build", "d", "--tile", "24", "--license", "MIT", "--out", "out", "--no-validate")
    assert "built d:" in result.stdout
    for word in ("ferrite", "martensite", "pearlite", "train", "validation", "test", "fingerprint"):
        assert word in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--splits", "0.9,0.05,0.05", "--split-by", "material"], "would have no"),
        (["--creator", "Someone <0000-0002-1825-0098>"], "not a valid ORCID"),
        (["--splits", "0.7;0.3"], "expected fractions"),
        (["--mask-class", "graphite"], "expected VALUE=NAME"),
        (["--where", "no_such_column = 1"], "failed"),
    ],
)
def test_expected_failures_are_one_line_errors(cli, ingested: Path, args: list[str], message: str) -> None:
    result = cli("build", "d", "--license", "MIT", "--out", "out", "--no-validate", *args, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_missing_extra_is_named(cli, ingested: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "blocked"
    (blocker / "datasets").mkdir(parents=True)
    (blocker / "datasets" / "__init__.py").write_text("raise ImportError('blocked for the test')\n")
    monkeypatch.setenv("PYTHONPATH", str(blocker))
    result = cli("build", "d", "--license", "MIT", "--out", "out", check=False)
    assert result.returncode == 1
    assert "pip install 'fairmicro[hf]'" in result.stderr and "Traceback" not in result.stderr


def test_require_names_the_distribution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "rocrate_validator", None)
    with pytest.raises(MissingExtraError, match=r"'roc-validator' package.*fairmicro\[hf\]"):
        require("rocrate_validator")


@pytest.mark.parametrize("task", ["classification", "segmentation"])
def test_a_build_warning_is_printed_once(cli, tmp_path: Path, task: str) -> None:
    """Plan warnings reach the user once, in the summary, not again as a log line."""
    images = tmp_path / "images"
    write_collection(images, specimens_per_class=3)
    ingest = ["ingest", str(images), "--label-from-folder"]
    build = ["build", "no-specimens", "--license", "CC-BY-4.0", "--out", str(tmp_path / "out")]
    if task == "segmentation":
        masks = tmp_path / "masks"
        _label_maps(images, masks)
        ingest += ["--masks", str(masks), "--mask-classes", "background,phase"]
        build += ["--task", "segmentation"]
    else:
        build += ["--label-column", "label"]
    cli(*ingest)
    result = cli(*build)
    said = result.stdout + result.stderr
    assert said.count("have no specimen_id; each is its own group") == 1, said


def _label_maps(images: Path, masks: Path) -> None:
    """A two-class label map (left half 0, right half 1) for every image, under the same relative name."""
    import numpy as np
    from PIL import Image

    for image in images.rglob("*.tif"):
        with Image.open(image) as opened:
            width, height = opened.size
        mask = np.zeros((height, width), np.uint8)
        mask[:, width // 2 :] = 1
        target = masks / image.relative_to(images).with_suffix(".png")
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(mask).save(target)

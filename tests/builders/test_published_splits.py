"""`fairmicro build --splits folders`: the splits a set was published in (train/val/test folders), kept."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from fairmicro.builders.splits import published_split

LABELS = ("ferrite", "pearlite")


def _write_published_set(root: Path, folders: dict[str, int]) -> None:
    """``folders``: split folder name -> images per label, under root/<folder>/<label>/."""
    rng = np.random.default_rng(0)
    for folder, count in folders.items():
        for label in LABELS:
            (root / folder / label).mkdir(parents=True, exist_ok=True)
            for index in range(count):
                pixels = rng.integers(0, 255, (32, 40), dtype=np.uint8)
                Image.fromarray(pixels).save(root / folder / label / f"{folder}_{label}_{index}.png")


def _rows_per_split(out: Path, cli) -> dict[str, list[str]]:
    """File names of the rows of each split (names begin with the folder they came from)."""
    names = {row["sha256"]: Path(row["path"]).name for row in cli.rows("SELECT sha256, path FROM images")}
    found: dict[str, list[str]] = {}
    for shard in sorted((out / "data").glob("*.parquet")):
        split = shard.name.split("-")[0]
        found.setdefault(split, []).extend(
            names[sha] for sha in pq.read_table(shard).column("image_sha256").to_pylist()
        )
    return found


def test_published_folders_are_the_splits_and_the_card_command_rebuilds_them(cli, tmp_path):
    root = tmp_path / "set"
    _write_published_set(root, {"train": 3, "Validation": 2, "test": 1})  # any case of the folder names
    cli("ingest", str(root), "--label-from-folder")
    first = cli("build", "pub", "--splits", "folders", "--license", "MIT", "--out", str(tmp_path / "ds"), "--json")
    rows = _rows_per_split(tmp_path / "ds", cli)
    assert {split: len(paths) for split, paths in rows.items()} == {"train": 6, "validation": 4, "test": 2}
    for split, folder in (("train", "train"), ("validation", "Validation"), ("test", "test")):
        assert all(name.startswith(f"{folder}_") for name in rows[split])  # each image in the split its folder names

    card = (tmp_path / "ds" / "README.md").read_text()
    assert "split as published" in card
    command = next(line for line in card.splitlines() if line.startswith("fairmicro build "))
    args = shlex.split(command)[2:]
    assert "--splits" in args and args[args.index("--splits") + 1] == "folders" and "--split-by" not in args
    args[args.index("--out") + 1] = str(tmp_path / "again")
    again = cli("build", *args, "--json")
    assert "deprecated" not in again.stderr  # the card names today's options
    assert json.loads(again.stdout)["fingerprint"] == json.loads(first.stdout)["fingerprint"]


def test_a_set_published_without_validation_builds_train_and_test(cli, tmp_path):
    root = tmp_path / "set"
    _write_published_set(root, {"train": 2, "test": 1})
    cli("ingest", str(root), "--label-from-folder")
    cli("build", "pub", "--splits", "folders", "--license", "MIT", "--out", str(tmp_path / "ds"))
    assert {split: len(names) for split, names in _rows_per_split(tmp_path / "ds", cli).items()} == {
        "train": 4,
        "test": 2,
    }
    without = ("--where", "NOT (label = 'pearlite' AND path LIKE '%/test/%')")  # a published split lacking a class
    lacking = cli(
        "build", "pub2", *without, "--splits", "folders", "--license", "MIT", "--out", str(tmp_path / "d2"), check=False
    )
    assert lacking.returncode == 1 and "split 'test' would have no 'pearlite'" in lacking.stderr


def test_an_image_in_no_split_folder_is_one_line_and_nothing_is_built(cli, tmp_path):
    root = tmp_path / "set"
    _write_published_set(root, {"train": 2, "test": 1, "extra": 1})
    cli("ingest", str(root), "--label-from-folder")
    out = tmp_path / "ds"
    result = cli("build", "pub", "--splits", "folders", "--license", "MIT", "--out", str(out), check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and re.search(r"2 selected image\(s\) lie in no train/validation/test folder", errors[0])
    assert "extra" in errors[0] and not out.exists()
    assert cli.rows("SELECT count(*) AS n FROM datasets")[0]["n"] == 0


def test_every_image_in_one_split_folder_is_a_warning(cli, tmp_path):
    """A 'test' folder above the data (e.g. /home/lab/test/project/...) would put everything in test."""
    root = tmp_path / "test" / "project"
    _write_published_set(root, {"images": 2})
    cli("ingest", str(root), "--label-from-folder")
    result = cli(
        "build", "pub", "--splits", "folders", "--allow-empty-class", "--license", "MIT", "--out", str(tmp_path / "ds")
    )
    said = result.stdout + result.stderr
    assert said.count("all 4 image(s) lie in test folders") == 1, said  # in the summary, once


@pytest.mark.parametrize(
    ("path", "split"),
    [
        ("/data/EBC2/train/a.tif", "train"),
        ("/data/set/VAL/x/a.png", "validation"),
        ("/data/set/valid/a.png", "validation"),
        ("/data/test/run/train/a.png", "train"),  # the nearest folder decides
        ("/data/testing/a.png", "test"),
        ("/data/train_annot/a.png", None),  # names that only contain a split name are no split
        ("/data/a.png", None),
        ("train.png", None),  # the file's own name is no folder
    ],
)
def test_published_split_of_a_path(path, split):
    assert published_split(path) == split


def test_seed_and_split_by_with_published_splits_are_one_warning_and_change_nothing(cli, tmp_path):
    root = tmp_path / "set"
    _write_published_set(root, {"train": 2, "test": 1})
    cli("ingest", str(root), "--label-from-folder")
    common = ("build", "pub", "--splits", "folders", "--license", "MIT", "--json")
    plain = cli(*common, "--out", str(tmp_path / "plain"))
    seeded = cli(*common, "--seed", "7", "--split-by", "material", "--out", str(tmp_path / "seeded"))
    warned = [line for line in seeded.stderr.splitlines() if "no effect with --splits folders" in line]
    assert len(warned) == 1 and "--split-by and --seed" in warned[0]
    assert "no effect" not in plain.stderr
    assert json.loads(seeded.stdout)["fingerprint"] == json.loads(plain.stdout)["fingerprint"]

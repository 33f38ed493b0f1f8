"""A lab's own specimen-table columns reach the built dataset, its card and `--metadata auto`."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from fairmicro.builders import card, hf
from fairmicro.builders.columns import lab_columns, reserved_names, with_lab_columns
from fairmicro.catalog import Catalog
from fairmicro.catalog import lab_columns as catalog_names
from fairmicro.catalog.ingest import IngestOptions, Ingestor, iter_image_files
from fairmicro.catalog.specimens import load_specimen_table
from fairmicro.testing.samples import texture, write_demo_collection, write_png

PATTERN = r"(?P<specimen_id>HC\d+)_"
HEADER = ["Sample", "Anneal T [°C]", "Cr [wt%]", "cool method", "note"]
# The demo collection's classes, in specimen order: the lab columns carry the label, the images do not.
PROCESS = {0: (800, "air"), 1: (970, "water"), 2: (1100, "furnace")}
CHROMIUM = {0: 1.5, 1: 2.0, 2: 2.5}


def _lab_rows(specimens: int) -> list[list[object]]:
    rows = []
    for index in range(specimens):
        temperature, cooling = PROCESS[index % 3]
        chromium = round(CHROMIUM[index % 3] + 0.01 * (index // 3), 2)
        rows.append([f"HC{index + 1:02d}", temperature, chromium, cooling, f"bar {index}"])
    return rows


def _write_table(path: Path, rows: list[list[object]]) -> Path:
    if path.suffix == ".xlsx":
        import openpyxl

        book = openpyxl.Workbook()
        for row in [HEADER, *rows]:
            book.active.append(row)
        book.save(path)
    else:
        with path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows([HEADER, *rows])
    return path


def test_builder_columns_are_never_given_to_a_lab_column():
    assert reserved_names() <= catalog_names.reserved_names()


def test_lab_columns_reach_the_features_and_the_card_table(tmp_path):
    folder = tmp_path / "in"
    for number in range(3):
        write_png(folder / f"HC{number + 1:02d}_0.png", texture((32, 32), seed=number))
    table = _write_table(tmp_path / "lab.csv", _lab_rows(3))
    options = IngestOptions(specimens=load_specimen_table(table), specimen_pattern=re.compile(PATTERN))
    with Catalog.open(tmp_path / "c.duckdb") as catalog:
        Ingestor(catalog, options).run(list(iter_image_files([folder])))
        columns = lab_columns(catalog)
    assert [(c.name, c.sql_type, c.unit) for c in columns] == [
        ("anneal_t_c", "DOUBLE", "°C"),
        ("cool_method", "VARCHAR", None),
        ("cr_wt_pct", "DOUBLE", "wt%"),
        ("note", "VARCHAR", None),
    ]
    with with_lab_columns(columns):
        features = hf.hf_features(["a", "b"])
        table_text = card.coverage_table({"anneal_t_c": 3}, 3)
    assert (features["anneal_t_c"].dtype, features["cool_method"].dtype) == ("float64", "string")
    assert "| `anneal_t_c` | float64 | °C | specimen table lab.csv, column Anneal T [°C] | 100% |" in table_text
    assert "anneal_t_c" not in hf.hf_features(["a", "b"])  # only inside a build


def _ingest_and_build(cli, root: Path, suffix: str) -> Path:
    write_demo_collection(
        root / "lab", images_per_specimen=2, shape=(64, 64), specimens_per_class=4, image_signal=False
    )
    table = _write_table(root / f"process{suffix}", _lab_rows(12))
    cli("ingest", str(root / "lab"), "--specimens", str(table), "--specimen-pattern", PATTERN, "--label-from-folder")
    cli(
        "build",
        "lab",
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
    return root / "ds"


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_lab_columns_reach_parquet_load_dataset_and_card(cli, tmp_path, suffix):
    import datasets
    import pyarrow.parquet as pq

    out = _ingest_and_build(cli, tmp_path, suffix)
    shard = next((out / "data").glob("train-*.parquet"))
    schema = pq.read_schema(shard)
    assert (str(schema.field("anneal_t_c").type), str(schema.field("cr_wt_pct").type)) == ("double", "double")
    assert (str(schema.field("cool_method").type), str(schema.field("note").type)) == ("string", "string")
    loaded = datasets.load_dataset(str(out))
    train = loaded["train"]
    assert train.features["anneal_t_c"].dtype == "float64" and train.features["cool_method"].dtype == "string"
    by_specimen = {row["specimen_id"]: (row["anneal_t_c"], row["cool_method"]) for row in train}
    assert by_specimen and all(value == PROCESS[(int(s[2:]) - 1) % 3] for s, value in by_specimen.items())
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert f"| `cr_wt_pct` | float64 | wt% | specimen table process{suffix}, column Cr [wt%] |" in readme
    assert f"| `cool_method` | string |  | specimen table process{suffix}, column cool method |" in readme


@pytest.mark.slow
def test_train_metadata_mode_with_defaults_uses_the_lab_columns(cli, tmp_path):
    out = _ingest_and_build(cli, tmp_path, ".csv")
    printed = cli("train", "texture", "--dataset", str(out), "--mode", "metadata").stdout
    assert "validation accuracy" in printed
    [run] = cli.rows("SELECT parameters, metrics FROM model_runs WHERE run_kind = 'train'")
    chosen = json.loads(run["parameters"])["metadata_columns"]
    assert {"anneal_t_c", "cr_wt_pct", "cool_method"} <= set(chosen)
    assert "note" not in chosen  # a value of its own per specimen names specimens, it does not describe them
    assert json.loads(run["metrics"])["scores"]["accuracy"] >= 0.9

"""Generated, labelled collections ingested into a fresh catalog for builder tests."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from fairmicro.catalog import Catalog
from fairmicro.catalog.ingest import IngestOptions, ingest
from fairmicro.catalog.specimens import load_specimen_table
from fairmicro.testing.samples import texture, write_fei_tiff, write_zeiss_tiff

CLASSES = ("ferrite", "martensite", "pearlite")
SPECIMEN_PATTERN = re.compile(r"(?P<specimen_id>S\d{3})_")


def write_collection(
    folder: Path,
    *,
    classes: tuple[str, ...] = CLASSES,
    specimens_per_class: int = 4,
    images_per_specimen: int = 2,
    shape: tuple[int, int] = (48, 64),
    dtype: str = "uint8",
    bar_rows: int = 0,
) -> Path:
    """Class folders of Zeiss/FEI TIFFs (FEI ones with a ``bar_rows`` data bar) plus specimens.csv."""
    rows = []
    for c, label in enumerate(classes):
        for s in range(specimens_per_class):
            specimen = f"S{c * 100 + s:03d}"
            rows.append(
                [
                    specimen,
                    "UHCS" if s % 2 else "HCCI",
                    800 + 10 * s,
                    "water quench",
                    label,
                    f"B{s % 4}",
                ]
            )
            for k in range(images_per_specimen):
                data = texture(shape, kind=c, seed=c * 1000 + s * 10 + k, dtype=dtype)
                path = folder / label / f"{specimen}_{k:02d}.tif"
                if k % 2:
                    if bar_rows:
                        bar = np.full((bar_rows, shape[1]), np.iinfo(data.dtype).max, data.dtype)
                        data = np.vstack([data, bar])
                    write_fei_tiff(path, data, {"Image": {"ResolutionY": str(shape[0])}})
                else:
                    write_zeiss_tiff(path, data, store=f"{shape[1]} * {shape[0]}")
    table = folder / "specimens.csv"
    with table.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        # the last two are no schema slots: ingest keeps them in specimen_attributes
        writer.writerow(
            [
                "specimen_id",
                "material",
                "heat_treatment_temperature_c",
                "cooling_method",
                "Primary microconstituent",
                "batch",
            ]
        )
        writer.writerows(rows)
    return table


def ingest_collection(catalog_path: Path, folder: Path, table: Path) -> None:
    """Ingest ``folder`` with its specimen table, labels from the class folders."""
    options = IngestOptions(
        specimens=load_specimen_table(table, None),
        specimen_pattern=SPECIMEN_PATTERN,
        label_from_folder=True,
    )
    with Catalog.open(catalog_path) as catalog:
        summary = ingest(catalog, [folder], options)
    assert not summary.rejected, summary.rejected


@pytest.fixture
def make_catalog(tmp_path: Path) -> Callable[..., Path]:
    """Write a collection (keyword arguments of :func:`write_collection`) and ingest it; returns the catalog path."""
    counter = iter(range(1000))

    def make(**kwargs: object) -> Path:
        n = next(counter)
        folder = tmp_path / f"collection{n}"
        catalog_path = tmp_path / f"catalog{n}.duckdb"
        ingest_collection(catalog_path, folder, write_collection(folder, **kwargs))
        return catalog_path

    return make

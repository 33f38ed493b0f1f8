"""A generated lab catalog for the web tests: ingested, built, trained, predicted (a review queue) and masked.

Built once per session through the library API (``import fairmicro as fm``) with default
parameters where the test does not need others; each test gets a private copy.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from fairmicro.testing.samples import write_demo_collection, write_png

PATTERN = r"(?P<specimen_id>HC\d+)_"
FAST = {"distances": [1], "levels": 32, "select_k": ["all"], "cv_folds": 2, "mode": "texture"}


def _masks(lab: Path, masks: Path) -> None:
    """One label-map mask (left half class 1) for the first image of each class folder."""
    for folder in sorted(p for p in lab.iterdir() if p.is_dir()):
        first = min(folder.glob("*.tif"))
        label_map = np.zeros((64, 64), np.uint8)
        label_map[:, :32] = 1
        write_png(masks / folder.name / f"{first.stem}.png", label_map)


def _generate(root: Path) -> Path:
    import fairmicro as fm
    from fairmicro.models.labelling import predict_catalog

    catalog = root / "catalog.duckdb"
    lab = root / "lab"
    table = write_demo_collection(lab, images_per_specimen=2, shape=(64, 64), specimens_per_class=4, image_signal=False)
    _masks(lab, root / "masks")
    with fm.Catalog.open(catalog) as cat:
        cat.ingest(
            lab,
            specimens=table,
            specimen_pattern=PATTERN,
            label_from_folder=True,
            masks=root / "masks",
            mask_classes="background,oxide",
        )
    fm.build("demo", root / "ds", license="CC-BY-4.0", catalog=catalog, tile=32, splits="0.5,0.25,0.25")
    run = fm.train("texture", str(root / "ds"), catalog=catalog, runs_dir=root / "runs", params=FAST)
    write_demo_collection(
        root / "new", images_per_specimen=1, shape=(72, 72), specimens_per_class=1, image_signal=False
    )
    with fm.Catalog.open(catalog) as cat:
        cat.ingest(root / "new")
    predict_catalog(run.run_id, "path LIKE '%/new/%'", accept=1.0, catalog=catalog)
    return root


@pytest.fixture(scope="session")
def _web_lab(tmp_path_factory) -> Path:
    return _generate(tmp_path_factory.mktemp("web-lab"))


@pytest.fixture
def web_lab(_web_lab: Path, tmp_path: Path) -> Path:
    """A private copy of the generated lab (catalog.duckdb, lab/, masks/, ds/, runs/, new/)."""
    root = tmp_path / "lab-copy"
    shutil.copytree(_web_lab, root, symlinks=True)
    return root


@pytest.fixture
def client(web_lab: Path):
    """A Starlette TestClient on the private catalog copy, bound like the default server (127.0.0.1)."""
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from fairmicro.web.app import create_app

    with TestClient(create_app(web_lab / "catalog.duckdb"), base_url="http://127.0.0.1:8000") as test_client:
        yield test_client

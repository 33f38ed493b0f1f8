"""The real pipeline: `fairmicro ingest` -> `fairmicro build` -> `fairmicro publish` -> load by Hub id."""

from __future__ import annotations

import numpy as np
from PIL import Image

from fairmicro.builders.resolve import resolve_dataset
from tests.publish.conftest import REPO


def table(dataset) -> list[tuple]:
    rows = []
    for split, part in dataset.items():
        names = part.features["label"].names
        for row in part:
            pixels = np.asarray(row["image"])
            rows.append(
                (
                    split,
                    row["image_sha256"],
                    row["tile_x_px"],
                    row["tile_y_px"],
                    names[row["label"]],
                    str(pixels.dtype),
                    pixels.tobytes(),
                )
            )
    return sorted(rows)


def test_built_folder_and_its_publication_hold_the_same_rows(hub, hub_env, cli, tmp_path, catalog_path):
    for label in ("ferrite", "pearlite"):
        (tmp_path / "raw" / label).mkdir(parents=True)
        for index in range(5):
            seed = index + 10 * len(label)
            pixels = np.random.default_rng(seed).integers(256, 65535, (48, 48), dtype=np.uint16)
            Image.fromarray(pixels).save(tmp_path / "raw" / label / f"{label}-{index}.png")
    cli("ingest", "raw", "--label-from-folder")
    cli("build", "tiles", "--out", "built/tiles", "--license", "CC-BY-4.0", "--tile", "24")
    cli("publish", "built/tiles", "--repo", REPO, "--tag", "v1.0")

    local = resolve_dataset(tmp_path / "built" / "tiles", catalog=catalog_path, cache_dir=tmp_path / "c")
    remote = resolve_dataset(f"{REPO}@v1.0", catalog=catalog_path, cache_dir=tmp_path / "c")
    rows = table(local.dataset)
    assert rows == table(remote.dataset)
    assert len(rows) == 10 * 4 and {r[5] for r in rows} == {"uint16"}
    assert remote.provenance.revision_sha == hub.branch_commits(REPO)[0]
    assert local.provenance.fingerprint == cli.rows("SELECT fingerprint FROM publications")[0]["fingerprint"]

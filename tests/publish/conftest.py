"""Fixtures for publishing: a running test Hub, Hub environment, and built dataset folders.

``make_build`` stands in for ``fairmicro build`` until the builder lands: it
ingests generated 16-bit PNGs into the catalog and writes the builder's layout
(``README.md`` with ``configs``, ``data/<split>-NNNNN-of-NNNNN.parquet``,
``ro-crate-metadata.json``, ``croissant.json``) plus the ``datasets`` and
``dataset_images`` rows. Swap its body for the real builder when it exists.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from fairmicro.catalog import Catalog
from fairmicro.catalog.ingest import IngestOptions, Ingestor
from fairmicro.catalog.store import utcnow
from tests.hub.server import HubServer, HubUser

TOKEN = "hf_fairmicro_test_write_token_0123456789"
READ_TOKEN = "hf_fairmicro_test_read_token_0123456789"
REPO = "my-lab/hcci-tiles"
LABELS = ("ferrite", "pearlite")


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubServer]:
    """A running test Hub on 127.0.0.1 with a write token for ``tester`` (org ``my-lab``)."""
    tokens = {TOKEN: HubUser("tester", ("my-lab",)), READ_TOKEN: HubUser("reader", ("my-lab",), write=False)}
    with HubServer(tmp_path / "hub-storage", tokens) as server:
        yield server


@pytest.fixture
def hub_env(hub: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Point the real clients (this process and subprocesses) at the test Hub."""
    home = tmp_path / "hf-home"
    env = {
        "HF_ENDPOINT": hub.url,
        "HF_TOKEN": TOKEN,
        "HF_HUB_DISABLE_XET": "1",
        "HF_HOME": str(home),
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "HF_DATASETS_CACHE": str(home / "ds"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "HF_HUB_CACHE", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH"):
        monkeypatch.delenv(name, raising=False)
    # huggingface_hub reads these once at import; keep this process's copy in step.
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(home / "token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(home / "stored_tokens"))
    return env


@dataclass(frozen=True)
class Build:
    """A built dataset folder and what went into it."""

    folder: Path
    dataset_id: str
    name: str
    fingerprint: str
    images: dict[str, tuple[str, str, np.ndarray]]  # sha256 -> (label, split, pixels)


def _pixels(seed: int, index: int) -> np.ndarray:
    rng = np.random.default_rng([seed, index])
    pixels = rng.integers(0, 65535, size=(12, 16), dtype=np.uint16)
    pixels[0, 0] = 65535  # always beyond 8 bits
    return pixels


def _write_pngs(raw: Path, seed: int, count: int) -> list[Path]:
    paths = []
    for index in range(count):
        label = LABELS[index % len(LABELS)]
        path = raw / label / f"s{seed}_{index:02d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(_pixels(seed, index)).save(path)
        paths.append(path)
    return paths


def _card(name: str, splits: list[str]) -> str:
    import datasets

    features = datasets.Features(
        {
            "image": datasets.Image(),
            "label": datasets.ClassLabel(names=list(LABELS)),
            "image_sha256": datasets.Value("string"),
        }
    )
    header = {
        "license": "cc-by-4.0",
        "pretty_name": name,
        "tags": ["microscopy", "fairmicro"],
        "configs": [{"config_name": "default", "data_files": [{"split": s, "path": f"data/{s}-*"} for s in splits]}],
        "dataset_info": {"features": features._to_yaml_list()},
    }
    return f"---\n{yaml.safe_dump(header, sort_keys=False)}---\n\n# {name}\n\nBuilt by fairmicro (test fixture).\n"


def _write_folder(folder: Path, name: str, rows: list[dict], fingerprint: str) -> None:
    import datasets

    features = datasets.Features(
        {
            "image": datasets.Image(),
            "label": datasets.ClassLabel(names=list(LABELS)),
            "image_sha256": datasets.Value("string"),
        }
    )
    splits = sorted({row["split"] for row in rows}, reverse=True)
    (folder / "data").mkdir(parents=True)
    for split in splits:
        part = [r for r in rows if r["split"] == split]
        table = datasets.Dataset.from_dict(
            {
                "image": [{"bytes": r["png"], "path": r["file"]} for r in part],
                "label": [LABELS.index(r["label"]) for r in part],
                "image_sha256": [r["sha"] for r in part],
            },
            features=features,
        )
        table.to_parquet(str(folder / "data" / f"{split}-00000-of-00001.parquet"))
    (folder / "README.md").write_text(_card(name, splits), encoding="utf-8")
    crate = {
        "@context": "https://w3id.org/ro/crate/1.1/context",
        "@graph": [{"@id": "./", "@type": "Dataset", "name": name, "identifier": fingerprint}],
    }
    (folder / "ro-crate-metadata.json").write_text(json.dumps(crate, indent=2), encoding="utf-8")
    croissant = {"@context": {"@vocab": "https://schema.org/"}, "@type": "Dataset", "name": name}
    (folder / "croissant.json").write_text(json.dumps(croissant, indent=2), encoding="utf-8")


def _record(catalog: Catalog, name: str, fingerprint: str, folder: Path, rows: list[dict]) -> str:
    dataset_id = uuid.uuid4().hex
    with catalog.transaction():
        catalog.con.execute(
            "INSERT INTO datasets (dataset_id, name, fingerprint, output_path, fairmicro_version, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [dataset_id, name, fingerprint, str(folder), "test", utcnow()],
        )
        catalog.con.executemany(
            "INSERT INTO dataset_images (dataset_id, image_sha256, split, tile_count) VALUES (?, ?, ?, 1)",
            [[dataset_id, r["sha"], r["split"]] for r in rows],
        )
    return dataset_id


@pytest.fixture
def make_build(tmp_path: Path, catalog_path: Path) -> Callable[..., Build]:
    """Build a dataset folder from freshly ingested 16-bit PNGs (``seed`` varies the pixels)."""

    def make(name: str = "hcci-tiles", seed: int = 0, count: int = 6, folder: Path | None = None) -> Build:
        paths = _write_pngs(tmp_path / "raw" / f"seed{seed}", seed, count)
        with Catalog.open(catalog_path) as catalog:
            Ingestor(catalog, IngestOptions(label_from_folder=True)).run(paths)
            rows = []
            for index, path in enumerate(paths):
                data = path.read_bytes()
                sha = hashlib.sha256(data).hexdigest()
                label = catalog.query("SELECT label FROM images WHERE sha256 = ?", [sha]).rows[0][0]
                split = "test" if index % 3 == 2 else "train"
                rows.append(
                    {
                        "sha": sha,
                        "label": label,
                        "split": split,
                        "png": data,
                        "file": path.name,
                        "pixels": _pixels(seed, index),
                    }
                )
            fingerprint = hashlib.sha256("".join(sorted(r["sha"] + r["label"] for r in rows)).encode()).hexdigest()
            target = folder or tmp_path / "datasets" / f"{name}-{seed}"
            _write_folder(target, name, rows, fingerprint)
            dataset_id = _record(catalog, name, fingerprint, target, rows)
        images = {r["sha"]: (r["label"], r["split"], r["pixels"]) for r in rows}
        return Build(target, dataset_id, name, fingerprint, images)

    return make

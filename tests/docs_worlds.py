"""What a doc assumes a user already has, generated for tests/test_docs.py.

Each doc names its ingredients in ``WORLDS``; each ingredient writes files into the doc's folder
and/or adds environment variables: a demo collection, a local Hub-compatible server (tests/hub) that
also serves tiny random CLIP and FLAVA under the public ids, a Ni-WC lab catalog with class-colour
pictures, masks and expert labels, a throw-away PostgreSQL for a shared DuckLake catalog.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fairmicro.testing.samples import texture, write_demo_collection, write_fei_tiff, write_png

TOKEN = "hf_fairmicro_docs_write_token_0123456789"
HUB_MODELS = {"clip": "openai/clip-vit-base-patch32", "flava": "facebook/flava-full"}
NI_WC_ASSESSMENTS = (
    "dilution",
    "heat-affected-zone",
    "reinforcement",
    "porosity",
    "carbide-dissolution",
    "carbide-distribution",
)
NI_WC_COLOURS = np.array([[0, 160, 0], [220, 0, 0], [240, 220, 0], [0, 0, 0]], dtype=np.uint8)


@dataclass
class World:
    """A doc's folder (commands run there), a folder for support files, its environment, its cleanups."""

    folder: Path
    support: Path
    env: dict[str, str]
    stack: ExitStack
    tiny_models: Callable[[], dict[str, Path]]
    hub: Any = None
    notes: list[str] = field(default_factory=list)


def micrographs(
    world: World, height: int = 400, width: int = 600, images_per_specimen: int = 4, specimens: int = 4
) -> None:
    """The demo collection as ``micrographs/`` (docs/build.md's lab folder: 48 images of 400 x 600)."""
    write_demo_collection(world.folder / "micrographs", images_per_specimen, (height, width), specimens)


def unsorted(world: World) -> None:
    """Three unlabelled micrographs (blends of two classes' textures) already in ``./fairmicro.duckdb``:
    what ``predict --where "label IS NULL"`` suggests labels for."""
    import fairmicro as fm

    for number in range(3):
        blend = (texture((300, 400), kind=number % 3, seed=900 + number) // 2) + (
            texture((300, 400), kind=(number + 1) % 3, seed=950 + number) // 2
        )
        write_fei_tiff(world.support / "unsorted" / f"HC99_{number:04d}.tif", blend)
    with fm.Catalog.open(world.folder / "fairmicro.duckdb") as cat:
        assert cat.ingest(world.support / "unsorted").ingested == 3


def one_per_specimen(world: World) -> None:
    """The smallest demo collection that still splits by specimen: 3 per class, one 300 x 400 image each."""
    micrographs(world, height=300, width=400, images_per_specimen=1, specimens=3)


def small_micrographs(world: World) -> None:
    """A smaller demo collection (3 specimens per class, 2 images of 300 x 400): one-tile-row builds."""
    micrographs(world, height=300, width=400, images_per_specimen=2, specimens=3)


def hub(world: World) -> None:
    """A local Hub-compatible server behind ``HF_ENDPOINT`` with a write token in ``HF_TOKEN``."""
    from tests.hub.server import HubServer, HubUser

    user = HubUser("tester", ("my-lab", "openai", "facebook"))
    world.hub = world.stack.enter_context(HubServer(world.support / "hub", {TOKEN: user}))
    home = world.support / "hf-home"
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "HF_HUB_CACHE", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH"):
        world.env.pop(name, None)
    world.env.update(
        HF_ENDPOINT=world.hub.url,
        HF_TOKEN=TOKEN,
        HF_HUB_DISABLE_XET="1",
        HF_HOME=str(home),
        HF_DATASETS_CACHE=str(home / "datasets"),
        HF_HUB_DISABLE_TELEMETRY="1",
    )


def hub_models(world: World) -> None:
    """Tiny random CLIP and FLAVA on the local Hub under the public ids the qualifier defaults to."""
    if world.hub is None:
        hub(world)
    storage = world.hub.storage
    for kind, folder in world.tiny_models().items():
        repo_id = HUB_MODELS[kind]
        storage.create_repo("model", repo_id, False, "tester")
        files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
        world.hub.commit_files(repo_id, files, f"tiny random {kind} for the docs test", repo_type="model")


def local_models(world: World) -> None:
    """``models/clip``, ``models/flava`` (tiny random, saved with save_pretrained) and ``ea.yaml``."""
    import shutil

    for kind, folder in world.tiny_models().items():
        shutil.copytree(folder, world.folder / "models" / kind)
    (world.folder / "ea.yaml").write_text(EA_YAML, encoding="utf-8")


EA_YAML = """name: ea
description: The web page's own set, on the demo collection.
assessments:
  - name: spheroidized
    criterion: Carbides balled up in a ferrite matrix.
    positive_prompts: [round carbide particles in ferrite]
    negative_prompts: [needle-shaped martensite laths]
    positive_references: {where: "label = 'spheroidite'"}
    negative_references: {where: "label = 'martensite'"}
"""


def _colour_picture(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A 64 x 64 segmentation in the Ni-WC class colours and its label map (values 1..4)."""
    rng = np.random.default_rng(seed)
    labels = np.ones((64, 64), dtype=np.uint8)
    for _ in range(int(rng.integers(3, 9))):
        y, x, r = (int(v) for v in rng.integers([4, 4, 3], [60, 60, 10]))
        yy, xx = np.ogrid[:64, :64]
        labels[(yy - y) ** 2 + (xx - x) ** 2 <= r * r] = int(rng.integers(2, 5))
    return NI_WC_COLOURS[labels - 1], labels


def write_ni_wc_lab(folder: Path) -> Path:
    """``ni-wc/<label>/S1N_K.png`` (an accepted and a rejected picture per assessment, two calibration
    pictures), their label-map masks in ``ni-wc-masks/`` and ``ni-wc/specimens.csv``; returns the table."""
    labels = [f"{a}-{side}" for a in NI_WC_ASSESSMENTS for side in ("accept", "reject")] + ["calibration"] * 2
    for index, label in enumerate(labels):
        name = f"S1{index % 3 + 1}_{index:02d}.png"
        picture, mask = _colour_picture(index)
        write_png(folder / "ni-wc" / label / name, picture)
        write_png(folder / "ni-wc-masks" / name, mask)
    table = folder / "ni-wc" / "specimens.csv"
    table.write_text("specimen_id,material\nS11,Ni-WC\nS12,Ni-WC\nS13,Ni-WC\n", encoding="utf-8")
    return table


def ni_wc(world: World, catalog: str = "fairmicro.duckdb") -> None:
    """The Ni-WC lab ingested into ``catalog``: labels from folders, masks paired, material from the table."""
    import fairmicro as fm

    table = write_ni_wc_lab(world.support / "lab")
    with fm.Catalog.open(world.folder / catalog) as cat:
        report = cat.ingest(
            world.support / "lab" / "ni-wc",
            specimens=table,
            specimen_pattern=r"(?P<specimen_id>S\d+)_",
            label_from_folder=True,
            masks=world.support / "lab" / "ni-wc-masks",
            mask_classes="background,matrix,carbide,precipitate,pore",
        )
    assert report.ok and report.ingested == 14, report.to_dict()


def my_lab_yaml(world: World) -> None:
    """docs/qualify.md's own example ``my-lab.yaml`` (its yaml block, verbatim) with the files it names."""
    from tests.docs_support import fenced_blocks

    doc = Path(__file__).resolve().parents[1] / "docs" / "qualify.md"
    [text] = [b.code for b in fenced_blocks(doc) if b.language == "yaml" and "name: my-lab" in b.code]
    (world.folder / "my-lab.yaml").write_text(text, encoding="utf-8")
    for number in (1, 2):
        picture, _ = _colour_picture(100 + number)
        write_png(world.folder / "refs" / f"porous-{number}.png", picture)


def lab_catalog(world: World, name: str = "lab.duckdb") -> None:
    """``lab.duckdb``: a small demo collection, labelled by folder (what `fairmicro serve` shows)."""
    import fairmicro as fm

    table = write_demo_collection(world.support / "lab-demo", 1, shape=(96, 128), specimens_per_class=3)
    with fm.Catalog.open(world.folder / name) as cat:
        report = cat.ingest(
            world.support / "lab-demo",
            specimens=table,
            specimen_pattern=r"(?P<specimen_id>HC\d+)_",
            label_from_folder=True,
        )
    assert report.ok, report.to_dict()


def file_catalog(world: World) -> None:
    """``fairmicro.duckdb``: the lab's catalog file before it moves into a shared catalog."""
    lab_catalog(world, "fairmicro.duckdb")


def hcci_build(world: World) -> None:
    """``datasets/hcci-tiles``: a build of a small demo collection recorded in ``./fairmicro.duckdb``."""
    import fairmicro as fm

    table = write_demo_collection(world.support / "hcci", specimens_per_class=3, images_per_specimen=1, shape=(96, 128))
    with fm.Catalog.open(world.folder / "fairmicro.duckdb") as cat:
        cat.ingest(
            world.support / "hcci", specimens=table, specimen_pattern=r"(?P<specimen_id>HC\d+)_", label_from_folder=True
        )
        fm.build(
            "hcci-tiles",
            world.folder / "datasets" / "hcci-tiles",
            license="CC-BY-4.0",
            catalog=cat,
            tile=48,
            validate=False,
        )


def ebc2_like(world: World) -> None:
    """``ebc2/train`` grey TIFFs with label-map masks (0 background, 1 oxide, 2 crack) in ``ebc2/train_annot``,
    shaped like the EBC-2 release, and ``sem/`` with colour masks ``NAME_mask.png`` (crack in red)."""
    rng = np.random.default_rng(7)
    for number in range(8):
        image = texture((96, 128), kind=number % 3, seed=number)
        mask = np.zeros((80, 128), dtype=np.uint8)  # shorter than the image: the data bar has no mask
        mask[20:50, :] = 1
        mask[rng.integers(0, 80), :] = 2
        write_png(world.folder / "ebc2" / "train" / f"ebc2_{number:02d}.tif", image)
        write_png(world.folder / "ebc2" / "train_annot" / f"ebc2_{number:02d}.png", mask)
    for number in range(2):
        write_png(world.folder / "sem" / f"sem_{number}.png", texture((64, 64), seed=50 + number))
        colour = np.zeros((64, 64, 3), dtype=np.uint8)
        colour[30 + number, :] = (255, 0, 0)
        write_png(world.folder / "sem" / f"sem_{number}_mask.png", colour)


def shared_catalog(world: World) -> None:
    """``$FAIRMICRO_CATALOG``: a fresh DuckLake on a throw-away PostgreSQL (skips when there is none)."""
    from fairmicro.catalog.pg import create_database, throwaway_cluster, unavailable_reason

    reason = unavailable_reason()
    if reason:
        pytest.skip(f"no PostgreSQL for the shared-catalog doc: {reason}")
    dsn = world.stack.enter_context(throwaway_cluster())
    world.env["FAIRMICRO_CATALOG"] = f"ducklake:postgres:{create_database(dsn, f'docs{os.getpid()}')}"
    world.env["FAIRMICRO_DATA_PATH"] = str(world.support / "lake-data")


WORLDS: dict[str, tuple[Callable[[World], None], ...]] = {
    "README.md": (one_per_specimen, hub, hub_models, ni_wc, lab_catalog),
    "build.md": (micrographs, ebc2_like),
    "ingest.md": (ebc2_like,),
    "models.md": (small_micrographs, unsorted),
    "publish.md": (hub, hcci_build),
    "qualify.md": (hub, hub_models, ni_wc, my_lab_yaml),
    "shared-catalog.md": (shared_catalog, file_catalog),
    "web.md": (lab_catalog, local_models),
}


def prepare(name: str, world: World) -> None:
    """Set up everything doc ``name`` assumes."""
    for ingredient in WORLDS.get(name, ()):
        ingredient(world)


def _run_kinds(world: World, catalog: str = "fairmicro.duckdb") -> set[str]:
    import fairmicro as fm

    with fm.Catalog.open(world.folder / catalog) as cat:
        return {row[0] for row in cat.query("SELECT run_kind FROM model_runs WHERE status = 'succeeded'").rows}


def _published(world: World, repo_id: str, tag: str) -> bool:
    repo = world.hub.storage.repo("dataset", repo_id)
    return tag in repo.tags


def _models_downloaded(world: World) -> bool:
    paths = {r.path for r in world.hub.requests if r.route == "resolve" and r.status == 200}
    return all(any(f"/{repo_id}/resolve/" in p for p in paths) for repo_id in HUB_MODELS.values())


EFFECTS: dict[str, Callable[[World], None]] = {
    "README.md": lambda w: _check(
        _published(w, "my-lab/uhcs-tiles", "v1.0") and _models_downloaded(w),
        {"train", "evaluate", "predict", "qualify"} <= _run_kinds(w),
    ),
    "publish.md": lambda w: _check(_published(w, "my-lab/hcci-tiles", "v1.0")),
    "qualify.md": lambda w: _check(_models_downloaded(w), {"qualify", "evaluate"} <= _run_kinds(w)),
    "shared-catalog.md": lambda w: _check(
        (w.folder / "backup.duckdb").is_file(), (w.folder / "steel" / "README.md").is_file()
    ),
    "models.md": lambda w: _check({"train", "evaluate", "predict"} <= _run_kinds(w)),
}


def _check(*conditions: bool) -> None:
    assert all(conditions), f"a doc's commands exited 0 without their effect: {conditions}"


def check_effects(name: str, world: World) -> None:
    """What doc ``name``'s commands must have left behind (beyond exiting 0)."""
    if name in EFFECTS:
        EFFECTS[name](world)

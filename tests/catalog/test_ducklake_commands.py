"""Every command works the same on a catalog file and on a shared DuckLake catalog.

Each chain of user commands runs through the CLI (default parameters, tiny
data) once per backend; what a user sees of the result (row counts, labels,
decisions, dataset fingerprint and data bytes) is summarised, checked against
what the chain must give, and compared between the backends: the second
backend's run asserts it got exactly the first one's summary.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fairmicro.errors import FairmicroError
from fairmicro.testing.samples import write_demo_collection, write_png
from tests.catalog.ducklake_support import Lake, pg_dsn_fixture  # noqa: F401  (fixture pg_dsn)
from tests.conftest import Cli

pytestmark = pytest.mark.slow
BACKENDS = ("file", "ducklake")
PATTERN = r"(?P<specimen_id>HC\d+)_"
SUMMARIES: dict[str, dict[str, Any]] = {}  # chain -> backend -> summary


@pytest.fixture(params=BACKENDS, name="fm")
def fm_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Cli | Lake:
    """The CLI bound to a new catalog file, or to a new DuckLake catalog (its own PostgreSQL database)."""
    if request.param == "file":
        return Cli(tmp_path / "catalog.duckdb", tmp_path)
    return Lake(request.getfixturevalue("pg_dsn"), tmp_path)


def _backend(fm: Cli | Lake) -> str:
    return "ducklake" if isinstance(fm, Lake) else "file"


def _same_on_both(chain: str, fm: Cli | Lake, summary: dict[str, Any]) -> None:
    """Record this backend's summary; when the other backend ran this chain, they must be equal."""
    seen = SUMMARIES.setdefault(chain, {})
    seen[_backend(fm)] = summary
    others = [value for key, value in seen.items() if key != _backend(fm)]
    for other in others:
        assert summary == other, f"{chain}: {_backend(fm)} differs from the other backend"


def _digest(folder: Path, pattern: str) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob(pattern))}


def _read(fm: Cli | Lake, **queries: str) -> dict[str, list[dict[str, Any]]]:
    """The rows of each query, read in this process through one read-only connection (cheaper than a CLI each)."""
    from fairmicro.catalog import Catalog

    with Catalog.open(fm.catalog, read_only=True) as catalog:
        results = {name: catalog.query(sql) for name, sql in queries.items()}
    return {name: [dict(zip(r.columns, row, strict=True)) for row in r.rows] for name, r in results.items()}


# ------------------------------------------------------------ classification
@pytest.fixture
def hub_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A local Hub-compatible server; CLI subprocesses find it through the environment."""
    from tests.hub.server import HubServer, HubUser
    from tests.publish.conftest import TOKEN

    with HubServer(tmp_path / "hub-storage", {TOKEN: HubUser("tester", ("my-lab",))}) as server:
        env = {
            "HF_ENDPOINT": server.url,
            "HF_TOKEN": TOKEN,
            "HF_HUB_DISABLE_XET": "1",
            "HF_HOME": str(tmp_path / "hf-home"),
            "HF_HUB_DISABLE_TELEMETRY": "1",
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        yield


def test_ingest_build_publish_train_predict_review(fm: Cli | Lake, hub_env: None) -> None:
    table = write_demo_collection(fm.cwd / "lab", images_per_specimen=2, shape=(48, 48), specimens_per_class=3)
    fm(
        "ingest",
        "lab",
        "--specimens",
        str(table.relative_to(fm.cwd)),
        "--specimen-pattern",
        PATTERN,
        "--label-from-folder",
    )
    fm(
        "build",
        "demo",
        "--split-by",
        "specimen_id",
        "--seed",
        "0",
        "--license",
        "CC-BY-4.0",
        "--out",
        "ds",
        "--no-validate",
    )
    published = json.loads(fm("publish", "ds", "--repo", "my-lab/demo", "--tag", "v1", "--json").stdout)
    train = json.loads(fm("train", "texture", "--dataset", "ds", "--json").stdout)
    scores = json.loads(fm("evaluate", train["run_id"], "--json").stdout)
    write_demo_collection(fm.cwd / "new", images_per_specimen=1, shape=(72, 72), specimens_per_class=1)
    fm("ingest", "new")
    predicted = json.loads(
        fm("predict", train["run_id"], "--where", "path LIKE '%/new/%'", "--threshold", "1", "--json").stdout
    )
    queue = json.loads(fm("review", "--json").stdout)
    first, second = sorted(queue, key=lambda row: row["path"])[:2]
    fm("review", first["image_sha256"][:12], "--accept")
    fm("review", second["image_sha256"][:12], "--label", "martensite")
    runs = json.loads(fm("runs", "--json").stdout)

    seen = _read(
        fm,
        labels="SELECT regexp_extract(path, '(new/.*)$', 1) AS file, label, label_source FROM image_metadata "
        "WHERE path LIKE '%/new/%' ORDER BY file",
        counts="SELECT (SELECT count(*) FROM images) AS images, (SELECT count(*) FROM image_files) AS files, "
        "(SELECT count(*) FROM specimens) AS specimens, (SELECT count(*) FROM dataset_images) AS dataset_images, "
        "(SELECT count(*) FROM predictions) AS predictions",
        dataset="SELECT name, fingerprint FROM datasets",
        publications="SELECT repo_id, tag, fingerprint FROM publications",
        annotations="SELECT annotation_kind, label_source, label FROM annotations ORDER BY image_sha256",
    )
    assert predicted["predicted"] == 3 and predicted["accepted"] + predicted["queued"] == 3
    assert len(queue) == predicted["queued"] >= 2
    assert [r["label_source"] for r in seen["labels"]].count("manual") == 2
    assert [r["run_kind"] for r in runs] == ["train", "evaluate", "predict"]
    assert {r["status"] for r in runs} == {"succeeded"}
    assert seen["counts"] == [
        {"images": 21, "files": 21, "specimens": 9, "dataset_images": 18, "predictions": 15}
    ]  # evaluate stores its test split's too
    _same_on_both(
        "classification",
        fm,
        {
            **seen,
            "data_files": _digest(fm.cwd / "ds" / "data", "*.parquet"),
            "published": sorted(
                (c["path"], c["action"]) for c in published["changes"] if c["path"].startswith("data/")
            ),
            "published_fingerprint": published["fingerprint"],
            "evaluation": scores["summary"],
            "predicted": predicted | {"run_id": None},
            "queue": sorted((r["image_sha256"], r["suggested"]) for r in queue),
        },
    )


# ------------------------------------------------------------- segmentation
TINY = ("--epochs", "1", "--min-steps", "0", "--base-channels", "4", "--crop", "32", "--batch-size", "2")
TINY_SEG = ("--epochs", "1", "--steps-per-epoch", "2", "--crop", "32", "--batch-size", "2", "--repeats", "1")


def _write_masked_set(folder: Path, count: int = 6, size: int = 48) -> None:
    import tifffile

    from fairmicro.models.pscl.synthetic import micrograph

    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    for index in range(count):
        image, mask = micrograph(size, 2, seed=index)
        tifffile.imwrite(folder / "images" / f"grain #{index}.tif", image)
        tifffile.imwrite(folder / "masks" / f"grain #{index}.tif", mask)


def test_masks_pretrain_and_fine_tune_pscl(fm: Cli | Lake) -> None:
    pytest.importorskip("torch")
    _write_masked_set(fm.cwd)
    fm("ingest", "images", "--masks", "masks", "--mask-classes", "background,phase_a")
    fm(
        "build",
        "synth",
        "--task",
        "segmentation",
        "--license",
        "MIT",
        "--splits",
        "0.5,0.25,0.25",
        "--seed",
        "0",
        "--out",
        "ds",
        "--no-validate",
    )
    pretrain = json.loads(fm("pretrain", "pscl", "--dataset", "ds", *TINY, "--json").stdout)
    run = json.loads(
        fm(
            "train", "pscl-seg", "--dataset", "ds", "--labelled", "1", "--init", pretrain["run_id"], *TINY_SEG, "--json"
        ).stdout
    )
    fm("predict", run["run_id"], "--dataset", "ds", "--split", "test", "--out", "pred", "--annotate")

    seen = _read(
        fm,
        runs="SELECT run_kind, plugin, status, parent_run_id IS NOT NULL AS has_parent FROM model_runs "
        "ORDER BY started_at",
        masks="SELECT mask_source, count(*) AS n FROM image_masks GROUP BY ALL ORDER BY ALL",
        dataset="SELECT name, fingerprint FROM datasets",
    )
    assert [(r["run_kind"], r["plugin"]) for r in seen["runs"]] == [
        ("pretrain", "pscl"),
        ("train", "pscl-seg"),
        ("predict", "pscl-seg"),
    ]
    predicted = {r["mask_source"]: r["n"] for r in seen["masks"]}.get("predicted")
    assert predicted == len(list((fm.cwd / "pred").iterdir())) > 0
    _same_on_both(
        "segmentation",
        fm,
        {
            **seen,
            "data_files": _digest(fm.cwd / "ds" / "data", "*.parquet"),
            "predicted_files": sorted(p.name for p in (fm.cwd / "pred").iterdir()),
        },
    )


# ------------------------------------------------------------------ qualify
ASSESSMENTS = """\
name: lake-set
assessments:
  - name: texture
    criterion: Busy texture.
    positive_prompts: [a busy texture]
    negative_prompts: [a flat image]
    positive_references: {where: "label = 'good'"}
    negative_references: {paths: [refs/bad/b0.png, refs/bad/b1.png]}
"""


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny offline CLIP and FLAVA (random weights, built from configs; nothing downloads)."""
    pytest.importorskip("transformers")
    from fairmicro.models.qualifier.tiny import build_tiny_clip, build_tiny_flava

    root = tmp_path_factory.mktemp("tiny-models")
    return build_tiny_clip(root / "clip"), build_tiny_flava(root / "flava")


def test_qualify_scores_and_caches_the_same(fm: Cli | Lake, tiny_models: tuple[Path, Path]) -> None:
    rng = np.random.default_rng(3)
    for i in range(3):
        write_png(fm.cwd / "scan" / f"scan #{i} é.png", (rng.random((32, 40)) * 60 * (i + 1)).astype(np.uint8))
    for i in range(2):
        write_png(fm.cwd / "refs" / "good" / f"g{i}.png", (rng.random((32, 32, 3)) * 255).astype(np.uint8))
        write_png(fm.cwd / "refs" / "bad" / f"b{i}.png", np.full((32, 32), 30 + 90 * i, np.uint8))
    fm("ingest", "scan", "refs/good", "--label-from-folder")
    (fm.cwd / "ea.yaml").write_text(ASSESSMENTS, encoding="utf-8")
    args = (
        "qualify",
        "--assessments",
        "ea.yaml",
        "--where",
        "label = 'scan'",
        "--clip",
        str(tiny_models[0]),
        "--flava",
        str(tiny_models[1]),
        "--format",
        "json",
    )
    first = json.loads(fm(*args).stdout)
    again = fm(*args)
    assert "clip 0 computed/3 cached" in again.stderr
    seen = _read(
        fm,
        stored="SELECT image_sha256, decision, round(hybrid, 6) AS hybrid FROM qualifications "
        "ORDER BY image_sha256, model_run_id",
        embeddings="SELECT count(*) AS n FROM image_embeddings",
        runs="SELECT run_kind, task, status FROM model_runs ORDER BY started_at",
    )
    assert len(first) == 3 and len(seen["stored"]) == 6
    _same_on_both(
        "qualify",
        fm,
        {
            **seen,
            "decisions": sorted((r["image_sha256"], r["decision"], round(r["hybrid"], 6)) for r in first),
        },
    )


# -------------------------------------------------------------- notebook API
def test_notebook_api_opens_either_catalog(fm: Cli | Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    import fairmicro as fmapi

    if isinstance(fm, Lake):
        monkeypatch.setenv("FAIRMICRO_DATA_PATH", str(fm.data_path))
    write_demo_collection(fm.cwd / "lab", images_per_specimen=1, shape=(40, 40), specimens_per_class=1)
    monkeypatch.chdir(fm.cwd)
    with fmapi.Catalog.open(fm.catalog) as cat:
        report = cat.ingest("lab", label_from_folder=True)
        again = cat.ingest("lab", label_from_folder=True)
        frame = cat.query("SELECT label, count(*) AS n FROM image_metadata GROUP BY label ORDER BY label").df()
        with pytest.raises(FairmicroError):
            cat.query("COPY (SELECT 1 AS a) TO 'leak.csv'")
        runs = cat.runs()
    assert (report.ingested, again.ingested, again.already_present) == (3, 0, 3)
    assert not (fm.cwd / "leak.csv").exists()
    _same_on_both("api", fm, {"labels": frame.to_dict("records"), "runs": len(runs.rows)})

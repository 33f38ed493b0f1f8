"""The qualifier through its Python API with tiny CLIP and FLAVA checkpoints built offline (no downloads)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from fairmicro.catalog import Catalog
from fairmicro.catalog.ingest import IngestOptions, ingest
from fairmicro.catalog.qualifications import count_qualifications
from fairmicro.errors import FairmicroError, ModelError, SandboxError
from fairmicro.testing.samples import write_png

transformers = pytest.importorskip("transformers")
pytest.importorskip("torch")

KEYS = {
    "image_sha256",
    "path",
    "assessment",
    "delta_clip",
    "delta_flava",
    "z_clip",
    "z_flava",
    "hybrid",
    "decision",
    "top_k",
}
SIZE = (32, 32)


def _pictures(root: Path) -> None:
    rng = np.random.default_rng(7)
    for i in range(6):  # the images to score: RGB and grey, each different
        shape = (*SIZE, 3) if i % 2 else SIZE
        write_png(root / "scan" / f"image {i}.png", (rng.random(shape) * 255 * (i + 1) / 6).astype(np.uint8))
    for i in range(2):
        write_png(root / "refs" / "good" / f"g{i}.png", (rng.random((*SIZE, 3)) * 255).astype(np.uint8))
        write_png(root / "refs" / "bad" / f"b{i}.png", np.full(SIZE, 40 + 60 * i, np.uint8))
        write_png(root / "calib" / f"c{i}.png", (rng.random(SIZE) * 120 * (i + 1)).astype(np.uint8))
    write_png(root / "calib" / "c2.png", (rng.random((*SIZE, 3)) * 255).astype(np.uint8))


ASSESSMENTS = """\
name: test-set
assessments:
  - name: bright
    criterion: A bright, busy image.
    positive_prompts: [a bright image, white noise]
    negative_prompts: [a dark image, a flat grey picture, black]
    positive_references: {where: "label = 'good'"}
    negative_references: {paths: [refs/bad/b0.png, refs/bad/b1.png]}
  - name: second
    positive_prompts: [pores]
    negative_prompts: [dense]
    positive_references: {paths: [refs/good/g0.png]}
    negative_references: {where: "label = 'bad'"}
"""


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> tuple[Path, Path]:
    """(clip folder, flava folder) of tiny random checkpoints."""
    from fairmicro.models.qualifier.tiny import build_tiny_clip, build_tiny_flava

    root = tmp_path_factory.mktemp("tiny-models")
    return build_tiny_clip(root / "clip"), build_tiny_flava(root / "flava")


@pytest.fixture(scope="session")
def _lab(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("qualifier-lab")
    _pictures(root)
    (root / "ea.yaml").write_text(ASSESSMENTS, encoding="utf-8")
    with Catalog.open(root / "catalog.duckdb") as catalog:
        ingest(catalog, [root / "scan", root / "refs", root / "calib"], IngestOptions(label_from_folder=True))
    return root


@pytest.fixture
def lab(_lab, tmp_path) -> Path:
    """A private copy of the generated lab: scan/ (label scan), refs/{good,bad}, calib/ and ea.yaml."""
    root = tmp_path / "lab"
    shutil.copytree(_lab, root)
    return root


def run(lab: Path, models: tuple[Path, Path], **kwargs):
    from fairmicro.models.qualifier import qualify

    kwargs.setdefault("where", "label = 'scan'")
    kwargs.setdefault("clip", str(models[0]))
    kwargs.setdefault("flava", str(models[1]))
    return qualify(lab / "ea.yaml", catalog=lab / "catalog.duckdb", **kwargs)


# ------------------------------------------------------- independent maths
def _direct_embeddings(models: tuple[Path, Path], files: list[Path], texts: list[str]):
    """Embeddings computed straight with transformers, not through fairmicro."""
    import torch
    from PIL import Image

    clip = transformers.CLIPModel.from_pretrained(models[0]).eval()
    processor = transformers.CLIPProcessor.from_pretrained(models[0])
    flava = transformers.FlavaModel.from_pretrained(models[1]).eval()
    flava_processor = transformers.AutoImageProcessor.from_pretrained(models[1])
    out = {}
    with torch.inference_mode():
        for file in files:
            picture = Image.open(file).convert("RGB")
            pixels = processor(images=[picture], return_tensors="pt")["pixel_values"]
            out[("clip", str(file))] = clip.get_image_features(pixel_values=pixels).pooler_output[0].double().numpy()
            pixels = flava_processor(images=[picture], return_tensors="pt")["pixel_values"]
            out[("flava", str(file))] = (
                flava.get_image_features(pixel_values=pixels).pooler_output[0, 0].double().numpy()
            )
        tokens = processor.tokenizer(texts, padding=True, return_tensors="pt")
        text = clip.get_text_features(**tokens).pooler_output.double().numpy()
    return out, dict(zip(texts, text, strict=True))


def _unit(v):
    v = np.atleast_2d(v)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _cos(a, b):
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_scores_equal_an_independent_numpy_computation(lab, tiny_models):
    result = run(lab, tiny_models)
    rows = [r for r in json.loads(_json(result)) if r["assessment"] == "bright"]
    scanned = sorted((lab / "scan").iterdir())
    good, bad = sorted((lab / "refs" / "good").iterdir()), sorted((lab / "refs" / "bad").iterdir())
    positive, negative = ["a bright image", "white noise"], ["a dark image", "a flat grey picture", "black"]
    emb, text = _direct_embeddings(tiny_models, [*scanned, *good, *bad], positive + negative)

    text_pos = _unit(np.array([text[t] for t in positive])).mean(axis=0)
    text_neg = _unit(np.array([text[t] for t in negative])).mean(axis=0)
    ref_pos = _unit(np.array([emb[("flava", str(f))] for f in good])).mean(axis=0)
    ref_neg = _unit(np.array([emb[("flava", str(f))] for f in bad])).mean(axis=0)
    delta_clip = {
        f.name: _cos(emb[("clip", str(f))], text_pos) - _cos(emb[("clip", str(f))], text_neg) for f in scanned
    }
    delta_flava = {
        f.name: _cos(emb[("flava", str(f))], ref_pos) - _cos(emb[("flava", str(f))], ref_neg) for f in scanned
    }
    dc, df = np.array(list(delta_clip.values())), np.array(list(delta_flava.values()))
    assert len(rows) == len(scanned) == 6
    for row in rows:
        path = Path(row["path"]).name
        z_clip = (delta_clip[path] - dc.mean()) / np.sqrt(np.mean((dc - dc.mean()) ** 2))
        z_flava = (delta_flava[path] - df.mean()) / np.sqrt(np.mean((df - df.mean()) ** 2))
        assert row["delta_clip"] == pytest.approx(delta_clip[path], abs=1e-5)
        assert row["delta_flava"] == pytest.approx(delta_flava[path], abs=1e-5)
        assert row["z_clip"] == pytest.approx(z_clip, abs=1e-3)
        assert row["z_flava"] == pytest.approx(z_flava, abs=1e-3)
        assert row["hybrid"] == pytest.approx(z_clip + z_flava, abs=2e-3)
        assert row["hybrid"] == row["z_clip"] + row["z_flava"]
        assert row["decision"] == ("accept" if row["hybrid"] >= 0 else "reject")
        image = emb[("flava", str(lab / "scan" / path))]
        nearest = sorted([(_cos(image, emb[("flava", str(f))]), f.name) for f in [*good, *bad]], reverse=True)[:3]
        assert [Path(n["path"]).name for n in row["top_k"]] == [name for _, name in nearest]
    assert {r["decision"] for r in rows} == {"accept", "reject"}


def _json(result) -> str:
    from fairmicro.models.qualifier.run import results_as_json

    return results_as_json(result.rows)


def test_json_rows_have_exactly_the_documented_keys_and_are_stored(lab, tiny_models):
    result = run(lab, tiny_models)
    rows = json.loads(_json(result))
    assert len(rows) == 12 and all(set(row) == KEYS for row in rows)
    assert all(set(n) == {"path", "cosine"} for row in rows for n in row["top_k"])
    with Catalog.open(lab / "catalog.duckdb", read_only=True) as catalog:
        assert count_qualifications(catalog, result.run_id) == 12
        run_row = catalog.query(
            "SELECT task, run_kind, status, parameters, metrics FROM model_runs WHERE run_id = ?", [result.run_id]
        ).rows[0]
    assert run_row[:3] == ("zero-shot", "qualify", "succeeded")
    parameters, metrics = json.loads(run_row[3]), json.loads(run_row[4])
    assert parameters["clip"]["revision"].startswith("sha256:") and parameters["normalisation"] == "batch"
    assert metrics["normalisation"] == "batch" and metrics["statistics"]["bright"]["count"] == 6


def test_weighted_fusion_and_the_threshold_edge_accepts(lab, tiny_models):
    plain = {(r["path"], r["assessment"]): r for r in run(lab, tiny_models).rows}
    weighted = run(lab, tiny_models, fusion="weighted", weights="0.25,0.75")
    for row in weighted.rows:
        base = plain[(row["path"], row["assessment"])]
        assert row["hybrid"] == pytest.approx(0.25 * base["z_clip"] + 0.75 * base["z_flava"], abs=1e-12)
    edge = weighted.rows[0]
    at_edge = run(lab, tiny_models, fusion="weighted", weights=(0.25, 0.75), threshold=edge["hybrid"])
    same = next(r for r in at_edge.rows if (r["path"], r["assessment"]) == (edge["path"], edge["assessment"]))
    assert same["hybrid"] == edge["hybrid"] and same["decision"] == "accept"


def test_rescoring_computes_no_image_embedding(lab, tiny_models, monkeypatch):
    calls = {"clip": 0, "flava": 0}
    for kind, cls in (("clip", transformers.CLIPModel), ("flava", transformers.FlavaModel)):
        original = cls.get_image_features

        def counted(self, *args, _original=original, _kind=kind, **kwargs):
            calls[_kind] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, "get_image_features", counted)
    first = run(lab, tiny_models)
    assert calls["clip"] >= 1 and calls["flava"] >= 1
    assert first.metrics["embeddings"]["flava"]["computed"] == 6 + 4  # scored + references (one is shared)
    calls.update(clip=0, flava=0)
    second = run(lab, tiny_models, fusion="weighted", threshold=0.5)
    assert calls == {"clip": 0, "flava": 0}
    assert second.metrics["embeddings"]["clip"] == {"computed": 0, "cached": 6}
    assert [r["delta_flava"] for r in second.rows] == [r["delta_flava"] for r in first.rows]


def test_calibration_makes_decisions_independent_of_the_batch(lab, tiny_models):
    one = run(lab, tiny_models, where="path LIKE '%image 1.png'", calibration="label = 'calib'")
    many = run(lab, tiny_models, where="label = 'scan'", calibration="label = 'calib'")
    for row in one.rows:
        other = next(r for r in many.rows if (r["path"], r["assessment"]) == (row["path"], row["assessment"]))
        assert (other["z_clip"], other["z_flava"], other["decision"]) == (
            row["z_clip"],
            row["z_flava"],
            row["decision"],
        )
    assert one.metrics["normalisation"] == "calibration" and one.metrics["calibration"]["images"] == 3
    batch = run(lab, tiny_models, where="label = 'scan'", normalise="batch")
    assert batch.metrics["statistics"] != many.metrics["statistics"]


def _counts(lab: Path) -> tuple[int, int]:
    with Catalog.open(lab / "catalog.duckdb", read_only=True) as catalog:
        return count_qualifications(catalog), len(catalog.query("SELECT * FROM model_runs").rows)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"where": "EXISTS (SELECT * FROM read_blob('/etc/passwd'))"}, SandboxError, "outside the catalog"),
        ({"where": "length(read_blob('/etc/passwd')) > 0"}, FairmicroError, "/etc/passwd"),
        ({"where": "label = 'scan'; DROP TABLE images"}, FairmicroError, "--where"),
        ({"where": "label = 'nothing'"}, ModelError, "selects no catalog images"),
        ({"calibration": "sha256 IN (SELECT content FROM read_text('/etc/passwd'))"}, SandboxError, "--calibration"),
        ({"fusion": "max"}, ModelError, "--fusion"),
        ({"fusion": "weighted", "weights": "0.7,0.7"}, ModelError, "--fusion-weights"),
        ({"clip": "/no/such/model"}, ModelError, "--clip /no/such/model: no such model folder"),
    ],
)
def test_hostile_input_writes_nothing(lab, tiny_models, kwargs, error, message):
    with pytest.raises(error, match=message) as caught:
        run(lab, tiny_models, **kwargs)
    assert "\n" not in str(caught.value)
    assert _counts(lab) == (0, 0)


def test_a_where_reaching_files_inside_the_assessment_file_is_refused(lab, tiny_models):
    text = ASSESSMENTS.replace("label = 'good'", "EXISTS (SELECT * FROM read_blob('/etc/passwd'))")
    (lab / "ea.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(SandboxError, match=r"assessments\[0\] \(bright\)\.positive_references\.where"):
        run(lab, tiny_models)
    assert _counts(lab) == (0, 0)


def test_unknown_hub_model_offline_is_one_line(lab, tiny_models, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(ModelError, match="not in the local Hugging Face cache.*pass --flava a local folder"):
        run(lab, (tiny_models[0], Path("facebook/flava-full")))
    assert _counts(lab) == (0, 0)


def test_a_folder_without_a_model_is_one_line(lab, tiny_models, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="does not hold a FLAVA model"):
        run(lab, (tiny_models[0], tmp_path / "empty"))
    with pytest.raises(ModelError, match="holds a 'flava' model, not a CLIP model"):
        run(lab, (tiny_models[1], tiny_models[1]))
    broken = tmp_path / "broken-clip"
    shutil.copytree(tiny_models[0], broken)
    (broken / "model.safetensors").unlink()
    with pytest.raises(ModelError, match="does not hold a CLIP model"):
        run(lab, (broken, tiny_models[1]))
    assert _counts(lab) == (0, 0)


def test_a_constant_calibration_fails_the_run_without_results(lab, tiny_models):
    with pytest.raises(ModelError, match="standard deviation of 0"):
        run(lab, tiny_models, calibration="path LIKE '%c0.png'")
    with Catalog.open(lab / "catalog.duckdb", read_only=True) as catalog:
        assert count_qualifications(catalog) == 0
        assert catalog.query("SELECT status FROM model_runs").rows == [("failed",)]


def test_images_are_scored_with_the_data_bar_cropped_as_builds_crop_it(tmp_path, tiny_models):
    from fairmicro.models.qualifier import qualify
    from fairmicro.testing.samples import texture
    from fairmicro.testing.vendor_samples import write_tescan_tiff

    frame = texture((64, 80), kind=1, seed=3)
    write_tescan_tiff(tmp_path / "scan" / "with-bar.tif", frame, strip_rows=16)
    write_png(tmp_path / "scan" / "frame-only.png", frame)
    write_png(tmp_path / "scan" / "other.png", texture((64, 80), kind=2, seed=4))
    write_png(tmp_path / "refs" / "a.png", texture((32, 32), kind=0, seed=5))
    write_png(tmp_path / "refs" / "b.png", np.full((32, 32), 90, np.uint8))
    (tmp_path / "ea.yaml").write_text(
        ASSESSMENTS.split("  - name: second")[0]
        .replace("{where: \"label = 'good'\"}", "{paths: [refs/a.png]}")
        .replace("refs/bad/b0.png, refs/bad/b1.png", "refs/b.png"),
        encoding="utf-8",
    )
    with Catalog.open(tmp_path / "catalog.duckdb") as catalog:
        ingest(catalog, [tmp_path / "scan"])
        bar = catalog.query("SELECT data_bar_height_px FROM image_metadata WHERE path LIKE '%.tif'").rows
    assert bar == [(16,)]
    result = qualify(
        tmp_path / "ea.yaml", catalog=tmp_path / "catalog.duckdb", clip=str(tiny_models[0]), flava=str(tiny_models[1])
    )
    by_name = {Path(r["path"]).name: r for r in result.rows}
    for key in ("delta_clip", "delta_flava"):
        assert by_name["with-bar.tif"][key] == pytest.approx(by_name["frame-only.png"][key], abs=1e-9)
        assert by_name["with-bar.tif"][key] != pytest.approx(by_name["other.png"][key], abs=1e-6)


def test_a_hub_id_in_the_local_cache_loads_offline_with_its_commit_as_revision(lab, tiny_models, monkeypatch, tmp_path):
    commit = "0123456789abcdef0123456789abcdef01234567"
    cache = tmp_path / "hub-cache"
    for name, folder in (("tiny-clip", tiny_models[0]), ("tiny-flava", tiny_models[1])):
        repo = cache / f"models--lab--{name}"
        shutil.copytree(folder, repo / "snapshots" / commit)
        (repo / "refs").mkdir()
        (repo / "refs" / "main").write_text(commit)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))  # read at import otherwise
    from_hub = run(lab, tiny_models, clip="lab/tiny-clip", flava="lab/tiny-flava")
    assert from_hub.parameters["clip"] == {"model_id": "lab/tiny-clip", "revision": commit}
    assert from_hub.parameters["flava"] == {"model_id": "lab/tiny-flava", "revision": commit}
    from_folders = run(lab, tiny_models)
    assert [r["hybrid"] for r in from_hub.rows] == pytest.approx([r["hybrid"] for r in from_folders.rows], abs=1e-9)

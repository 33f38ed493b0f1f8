"""`fairmicro qualify` as users run it: one-line errors that write nothing, and one end-to-end run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from fairmicro.testing.samples import write_png
from tests.conftest import Cli

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

ASSESSMENTS = """\
name: cli-set
assessments:
  - name: texture
    criterion: Busy texture.
    positive_prompts: [a busy texture]
    negative_prompts: [a flat image, an empty field]
    positive_references: {where: "label = 'good'"}
    negative_references: {paths: [refs/bad/b0.png, refs/bad/b1.png]}
"""


@pytest.fixture(scope="session")
def _built_lab(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("qualify-cli")
    _make_lab(Cli(root / "catalog.duckdb", root), root)
    return root


def _lab(cli: Cli, root: Path, built: Path) -> Path:
    """The session's lab (images ingested, ea.yaml) copied beside ``cli``'s catalog."""
    for name in ("scan", "refs"):
        shutil.copytree(built / name, root / name, dirs_exist_ok=True)
    shutil.copy(built / "catalog.duckdb", cli.catalog)
    shutil.copy(built / "ea.yaml", root / "ea.yaml")
    return root / "ea.yaml"


def _make_lab(cli: Cli, root: Path) -> Path:
    rng = np.random.default_rng(3)
    for i in range(4):
        write_png(root / "scan" / f"scan #{i} é.png", (rng.random((32, 40)) * 60 * (i + 1)).astype(np.uint8))
    for i in range(2):
        write_png(root / "refs" / "good" / f"g{i}.png", (rng.random((32, 32, 3)) * 255).astype(np.uint8))
        write_png(root / "refs" / "bad" / f"b{i}.png", np.full((32, 32), 30 + 90 * i, np.uint8))
    cli("ingest", str(root / "scan"), str(root / "refs" / "good"), "--label-from-folder")
    (root / "ea.yaml").write_text(ASSESSMENTS, encoding="utf-8")
    return root / "ea.yaml"


def _nothing_written(cli: Cli) -> None:
    assert cli.rows("SELECT count(*) AS n FROM qualifications")[0]["n"] == 0
    assert cli.rows("SELECT count(*) AS n FROM model_runs")[0]["n"] == 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["--fusion", "mean"], "--fusion 'mean'"),
        (["--fusion", "weighted", "--fusion-weights", "0.5,0.6"], "summing to 1"),
        (["--fusion", "weighted", "--fusion-weights", "half,half"], "not numbers"),
        (["--fusion-weights", "0.5,0.5"], "only applies to --fusion weighted"),
        (["--where", "EXISTS (SELECT * FROM read_blob('/etc/passwd'))"], "outside the catalog"),
        (["--where", "label = 'none'"], "selects no catalog images"),
        (["--calibration", "TRUE", "--normalise", "batch"], "not both"),
        (["--format", "xml"], "--format 'xml'"),
        (["--clip", "./no-such-folder"], "no such model folder"),
    ],
)
def test_bad_options_are_one_line_and_write_nothing(cli, tmp_path, _built_lab, args, message):
    assessments = _lab(cli, tmp_path, _built_lab)
    result = cli("qualify", "--assessments", str(assessments), *args, check=False)
    assert result.returncode != 0
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    _nothing_written(cli)


@pytest.mark.parametrize(
    "text, message",
    [
        ("name: [", "not valid YAML"),
        (ASSESSMENTS.replace("[a busy texture]", "[]"), "positive_prompts: empty list"),
        (
            ASSESSMENTS.replace("refs/bad/b1.png", "refs/bad/gone.png"),
            "reference image refs/bad/gone.png does not exist",
        ),
        (ASSESSMENTS.replace("criterion:", "criterium:"), "criterium: unknown key"),
    ],
)
def test_bad_assessment_files_are_one_line_and_write_nothing(cli, tmp_path, _built_lab, text, message):
    assessments = _lab(cli, tmp_path, _built_lab)
    assessments.write_text(text, encoding="utf-8")
    result = cli("qualify", "--assessments", str(assessments), check=False)
    assert result.returncode != 0 and message in result.stderr and str(assessments) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    _nothing_written(cli)


def test_builtin_set_without_reference_images_says_what_to_supply(cli, tmp_path, _built_lab):
    _lab(cli, tmp_path, _built_lab)
    result = cli("qualify", "--assessments", "ni-wc", check=False)
    assert result.returncode != 0
    assert "ni-wc: assessments[0] (dilution).positive_references.where" in result.stderr
    assert "selects no catalog images" in result.stderr and "--label-from-folder" in result.stderr
    _nothing_written(cli)


@pytest.mark.slow
def test_qualify_end_to_end_through_the_cli(cli, tmp_path, _built_lab):
    pytest.importorskip("transformers")
    from fairmicro.models.qualifier.tiny import build_tiny_clip, build_tiny_flava

    assessments = _lab(cli, tmp_path, _built_lab)
    clip, flava = build_tiny_clip(tmp_path / "clip"), build_tiny_flava(tmp_path / "flava")
    args = (
        "qualify",
        "--assessments",
        str(assessments),
        "--where",
        "label = 'scan'",
        "--clip",
        str(clip),
        "--flava",
        str(flava),
    )
    first = cli(*args, "--format", "json")
    rows = json.loads(first.stdout)
    assert len(rows) == 4 and all(set(row) == KEYS for row in rows)
    assert {row["decision"] for row in rows} <= {"accept", "reject"}
    assert all(row["decision"] == ("accept" if row["hybrid"] >= 0 else "reject") for row in rows)
    assert all(len(row["top_k"]) == 3 and set(row["top_k"][0]) == {"path", "cosine"} for row in rows)
    assert "--normalise batch" in first.stderr and "clip 4 computed/0 cached" in first.stderr
    stored = cli.rows("SELECT image_sha256, hybrid, decision FROM qualifications")
    assert sorted((r["image_sha256"], r["hybrid"]) for r in stored) == sorted(
        (r["image_sha256"], r["hybrid"]) for r in rows
    )

    again = cli(*args, "--explain", "--calibration", "label = 'scan'")
    assert "clip 0 computed/4 cached, flava 0 computed/8 cached" in again.stdout
    assert "+ prompt: a busy texture" in again.stdout and "- reference: " in again.stdout
    assert "scan #0 é.png" in again.stdout
    runs = cli.rows(
        "SELECT task, run_kind, status, json_extract_string(metrics, '$.normalisation') AS how "
        "FROM model_runs ORDER BY started_at"
    )
    assert [(r["task"], r["run_kind"], r["status"], r["how"]) for r in runs] == [
        ("zero-shot", "qualify", "succeeded", "batch"),
        ("zero-shot", "qualify", "succeeded", "calibration"),
    ]

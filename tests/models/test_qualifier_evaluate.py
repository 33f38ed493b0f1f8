"""`fairmicro evaluate RUN_ID --labels COLUMN` on qualify runs: hand-computed metrics, artifacts, rows, bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from fairmicro.catalog import Catalog
from fairmicro.hashing import sha256_file
from fairmicro.models.qualifier.evaluation import parse_labels
from fairmicro.models.tasks.zero_shot import decision_metrics
from fairmicro.testing.samples import write_png
from tests.conftest import Cli

RUN = "qualifier-20260101T000000-abcdef"
# image folder (its label) -> porosity (hybrid, decision); every dilution decision is unlabelled
PLAN = {
    "porosity-accept/a1.png": (2.0, "accept"),  # TP
    "porosity-accept/a2.png": (0.5, "accept"),  # TP
    "porosity-accept/a3.png": (-1.0, "reject"),  # FN
    "porosity-reject/r1.png": (1.0, "accept"),  # FP
    "porosity-reject/r2.png": (-2.0, "reject"),  # TN
    "scan/u1.png": (3.0, "accept"),  # unlabelled: left out, even though it ranks first
}
# by hand: ranked labelled a1 2.0, r1 1.0, a2 0.5, a3 -1.0, r2 -2.0
POROSITY = {
    "classes": ["accept", "reject"],
    "confusion_matrix": [[2, 1], [1, 1]],
    "n": 5,
    "accuracy": 0.6,
    "precision": 2 / 3,
    "recall": 2 / 3,
    "f1": 2 / 3,
    "top_k_accuracy": {"1": 1.0, "3": 2 / 3, "5": 0.6},
    "unlabelled": 1,
    "conflicting": 0,
}


def _rounded(value):
    """Floats rounded (nested dicts and lists), so whole metric dicts compare exactly."""
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


# ------------------------------------------------------------- by hand
def test_decision_metrics_match_a_hand_computed_example():
    truth = ["accept", "accept", "accept", "reject", "reject"]
    decided = ["accept", "accept", "reject", "accept", "reject"]
    hybrid = [2.0, 0.5, -1.0, 1.0, -2.0]
    got = decision_metrics(truth, decided, hybrid, ["a1", "a2", "a3", "r1", "r2"])
    expected = {k: v for k, v in POROSITY.items() if k not in ("unlabelled", "conflicting")}
    assert _rounded(got) == _rounded(expected)


def test_decision_metrics_undefined_ratios_are_none_and_ties_rank_by_order():
    got = decision_metrics(["reject", "accept"], ["reject", "reject"], [1.0, 1.0], ["b", "a"])
    assert got["precision"] is None and got["recall"] == 0.0 and got["f1"] is None
    assert got["top_k_accuracy"] == {"1": 1.0}  # tie at 1.0: "a" (labelled accept) ranks first
    assert decision_metrics([], [], [], [])["accuracy"] is None


@pytest.mark.parametrize(
    "value, expected",
    [
        ("porosity-accept", {"porosity": {"accept"}}),
        ("Porosity-REJECT", {"porosity": {"reject"}}),
        ("accept", {"porosity": {"accept"}, "heat-affected-zone": {"accept"}}),
        ("heat-affected-zone-reject; porosity-accept", {"heat-affected-zone": {"reject"}, "porosity": {"accept"}}),
        ("porosity-accept,porosity-reject", {"porosity": {"accept", "reject"}}),  # conflicting
        ("dilution-accept", {}),
        ("scan", {}),
        ("", {}),
        (None, {}),
        (1.0, {}),
        ("porosity", {}),
    ],
)
def test_label_convention(value, expected):
    assert parse_labels(value, ["porosity", "heat-affected-zone"]) == expected


# ------------------------------------------------------- a recorded run
def _qualify_run(catalog_path: Path, shas: dict[str, str]) -> None:
    """A succeeded qualify run whose decisions are the PLAN (as `fairmicro qualify` stores them)."""
    from fairmicro.schema import models

    rows = []
    for name, (hybrid, decision) in PLAN.items():
        for assessment in ("porosity", "dilution"):
            rows.append(
                models.Qualification(
                    model_run_id=RUN,
                    image_sha256=shas[name],
                    path=name,
                    assessment=assessment,
                    delta_clip=0.0,
                    delta_flava=0.0,
                    z_clip=hybrid / 2,
                    z_flava=hybrid / 2,
                    hybrid=hybrid,
                    decision=decision,
                    top_k="[]",
                )
            )
    with Catalog.open(catalog_path) as catalog, catalog.transaction():
        catalog.insert(
            "model_runs",
            [
                models.ModelRun(
                    run_id=RUN,
                    plugin="qualifier",
                    status="succeeded",
                    run_kind="qualify",
                    task="zero-shot",
                    metrics="{}",
                )
            ],
        )
        catalog.insert("qualifications", rows)


@pytest.fixture(scope="session")
def _labelled(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("qualify-evaluate")
    rng = np.random.default_rng(11)
    for name in PLAN:
        write_png(root / "lab" / name, (rng.random((16, 16)) * 255).astype(np.uint8))
    Cli(root / "catalog.duckdb", root)("ingest", str(root / "lab"), "--label-from-folder")
    with Catalog.open(root / "catalog.duckdb", read_only=True) as catalog:
        found = dict(catalog.query("SELECT path, sha256 FROM image_metadata").rows)
    _qualify_run(root / "catalog.duckdb", {name: found[str(root / "lab" / name)] for name in PLAN})
    return root


@pytest.fixture
def labelled(_labelled, tmp_path) -> Cli:
    """A cli on a private copy of a catalog holding the PLAN's images (labelled by folder) and its qualify run."""
    shutil.copy(_labelled / "catalog.duckdb", tmp_path / "catalog.duckdb")
    return Cli(tmp_path / "catalog.duckdb", tmp_path)


def _evaluate_runs(cli: Cli) -> list[dict]:
    return cli.rows("SELECT * FROM model_runs WHERE run_kind = 'evaluate'")


def test_evaluate_labels_writes_hand_computed_metrics_artifacts_and_a_linked_run(labelled):
    cli = labelled
    result = cli("evaluate", RUN, "--labels", "label")
    assert (
        "porosity: n 5, accuracy 0.600, precision 0.667, recall 0.667; top-1 1.00, top-3 0.67, top-5 0.60"
        in result.stdout
    )
    assert "dilution: no labelled image" in result.stdout
    [run] = _evaluate_runs(cli)
    assert (run["parent_run_id"], run["task"], run["status"], run["plugin"]) == (
        RUN,
        "zero-shot",
        "succeeded",
        "qualifier",
    )
    metrics = json.loads(run["metrics"])
    assert _rounded(metrics["assessments"]["porosity"]) == _rounded(POROSITY)
    assert metrics["assessments"]["dilution"]["n"] == 0 and metrics["assessments"]["dilution"]["unlabelled"] == 6
    assert metrics["scores"]["accuracy"] == pytest.approx(0.6) and metrics["labels"] == "label"
    assert json.loads(run["parameters"]) == {"labels": "label", "qualify_run": RUN}
    artifacts = {a["role"]: a for a in json.loads(run["artifacts"])}
    assert set(artifacts) == {"confusion_matrix", "metrics", "output"}
    for artifact in artifacts.values():
        assert sha256_file(Path(artifact["path"])) == artifact["sha256"]
    assert Path(artifacts["confusion_matrix"]["path"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    on_disk = json.loads(Path(artifacts["metrics"]["path"]).read_text())
    assert on_disk["assessments"]["porosity"]["confusion_matrix"] == [[2, 1], [1, 1]]
    decisions = json.loads(Path(artifacts["output"]["path"]).read_text())
    assert {(d["path"], d["assessment"], d["label"]) for d in decisions if d["assessment"] == "porosity"} == {
        (name, "porosity", None if name.startswith("scan") else name.split("/")[0].split("-")[1]) for name in PLAN
    }
    listed = cli("runs", "--format", "json")
    runs = {r["run_id"]: r for r in json.loads(listed.stdout)}
    assert runs[run["run_id"]]["parent_run_id"] == RUN and runs[run["run_id"]]["accuracy"] == 0.6
    assert runs[RUN]["task"] == "zero-shot"


def _refused(cli: Cli, *args: str, message: str) -> None:
    before = cli.rows("SELECT count(*) AS n FROM model_runs")[0]["n"]
    result = cli("evaluate", *args, check=False)
    assert result.returncode != 0 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert cli.rows("SELECT count(*) AS n FROM model_runs")[0]["n"] == before
    assert not (cli.catalog.parent / "fairmicro-runs").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        ([RUN, "--labels", "verdict"], "--labels 'verdict': no such column of image_metadata"),
        ([RUN, "--labels", 'label" FROM images; DROP TABLE images; --'], "no such column of image_metadata"),
        ([RUN, "--labels", "specimen_id"], "none of the 6 image(s) of run " + RUN + " has a label naming accept"),
        ([RUN, "--labels", "path"], "expected `<assessment>-accept`/`-reject`"),
        ([RUN, "--labels", ""], "--labels: empty column name"),
        ([RUN, "--labels", "label", "--dataset", "demo"], "--dataset does not apply"),
        (["qualifier-19990101T000000-000000", "--labels", "label"], "no model run 'qualifier-19990101T000000-000000'"),
    ],
)
def test_bad_labels_or_runs_are_one_line_and_write_no_run(labelled, args, message):
    _refused(labelled, *args, message=message)
    assert labelled.rows("SELECT count(*) AS n FROM images")[0]["n"] == 6


def test_a_run_that_is_not_a_qualify_run_is_refused(labelled):
    from fairmicro.schema import models

    with Catalog.open(labelled.catalog) as catalog:
        catalog.insert(
            "model_runs",
            [
                models.ModelRun(
                    run_id="texture-1", plugin="texture", status="succeeded", run_kind="train", task="classification"
                )
            ],
        )
    _refused(labelled, "texture-1", "--labels", "label", message="run texture-1 is a train run")


@pytest.mark.slow
def test_qualify_then_evaluate_through_the_cli_with_default_parameters(cli, tmp_path):
    pytest.importorskip("transformers")
    from fairmicro.models.qualifier.tiny import build_tiny_clip, build_tiny_flava

    rng = np.random.default_rng(2)
    for verdict in ("accept", "reject"):
        for i in range(3):
            write_png(
                tmp_path / f"texture-{verdict}" / f"{verdict} #{i}.png",
                (rng.random((32, 32)) * (255 if verdict == "accept" else 60)).astype(np.uint8),
            )
    for i in range(2):
        write_png(tmp_path / "refs" / "busy" / f"g{i}.png", (rng.random((32, 32, 3)) * 255).astype(np.uint8))
        write_png(tmp_path / "refs" / "flat" / f"b{i}.png", np.full((32, 32), 40 + 60 * i, np.uint8))
    (tmp_path / "ea.yaml").write_text(
        "name: t\nassessments:\n  - name: texture\n    positive_prompts: [busy]\n    negative_prompts: [flat]\n"
        "    positive_references: {paths: [refs/busy/g0.png, refs/busy/g1.png]}\n"
        "    negative_references: {paths: [refs/flat/b0.png, refs/flat/b1.png]}\n",
        encoding="utf-8",
    )
    cli("ingest", str(tmp_path / "texture-accept"), str(tmp_path / "texture-reject"), "--label-from-folder")
    clip, flava = build_tiny_clip(tmp_path / "clip"), build_tiny_flava(tmp_path / "flava")
    rows = json.loads(
        cli(
            "qualify", "--assessments", "ea.yaml", "--clip", str(clip), "--flava", str(flava), "--format", "json"
        ).stdout
    )
    [qualify_run] = cli.rows("SELECT run_id FROM model_runs WHERE run_kind = 'qualify'")
    cli("evaluate", qualify_run["run_id"], "--labels", "label")
    [run] = _evaluate_runs(cli)
    truth = ["accept" if "texture-accept" in r["path"] else "reject" for r in rows]
    expected = decision_metrics(
        truth,
        [r["decision"] for r in rows],
        [r["hybrid"] for r in rows],
        [f"{r['path']}\t{r['image_sha256']}" for r in rows],
    )
    got = json.loads(run["metrics"])["assessments"]["texture"]
    assert _rounded(got) == _rounded({**expected, "unlabelled": 0, "conflicting": 0})
    assert run["parent_run_id"] == qualify_run["run_id"]

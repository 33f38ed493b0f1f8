"""Semi-automatic labelling: confident suggestions become labels, the rest wait for a person."""

from __future__ import annotations

from fairmicro.models.labelling import pending_reviews, predict_catalog, set_manual_label
from fairmicro.models.runner import train
from fairmicro.testing.samples import write_demo_collection

FAST = {"distances": [1], "levels": 32, "select_k": ["all"], "cv_folds": 2, "mode": "texture"}


def _trained(cli, dataset):
    return train("texture", str(dataset), FAST, catalog=cli.catalog, runs_dir=cli.cwd / "runs").run_id


def _new_images(cli):
    # a different size than the built collection, so these are new images, not copies
    write_demo_collection(cli.cwd / "new", images_per_specimen=1, shape=(72, 72), specimens_per_class=1)
    cli("ingest", str(cli.cwd / "new"))  # no labels
    return cli.rows("SELECT sha256, path FROM image_metadata WHERE path LIKE '%/new/%' ORDER BY path")


def test_confident_predictions_label_unlabelled_images_and_the_rest_queue(textured):
    cli, dataset = textured
    run_id = _trained(cli, dataset)
    images = _new_images(cli)
    result = predict_catalog(run_id, "path LIKE '%/new/%'", accept=0.0, catalog=cli.catalog)
    assert (result.predicted, result.accepted, result.queued) == (3, 3, 0)
    rows = cli.rows("SELECT path, label, label_source FROM image_metadata WHERE path LIKE '%/new/%' ORDER BY path")
    assert [r["label"] for r in rows] == ["ferrite_pearlite", "martensite", "spheroidite"]  # from the folder names
    assert {r["label_source"] for r in rows} == {"predicted"}
    stored = cli.rows(f"SELECT count(*) AS n FROM predictions WHERE model_run_id = '{result.run_id}'")
    assert stored == [{"n": len(images)}]
    assert pending_reviews(cli.catalog).rows == []


def test_uncertain_predictions_wait_for_review_and_leave_labels_empty(metadata_only):
    cli, dataset = metadata_only  # images carry no class signal: the texture model is unsure
    run_id = _trained(cli, dataset)
    _new_images(cli)
    result = predict_catalog(run_id, "path LIKE '%/new/%'", accept=0.9, catalog=cli.catalog)
    assert (result.predicted, result.accepted, result.queued) == (3, 0, 3)
    result = pending_reviews(cli.catalog)
    columns, pending = result.columns, result.rows
    assert len(pending) == 3 and columns[:3] == ["image_sha256", "path", "suggested"]
    assert all(p[3] < 0.9 for p in pending)
    assert cli.rows("SELECT count(*) AS n FROM image_metadata WHERE path LIKE '%/new/%' AND label IS NULL") == [
        {"n": 3}
    ]


def test_manual_labels_are_never_overwritten_by_predictions(textured):
    cli, dataset = textured
    run_id = _trained(cli, dataset)
    images = _new_images(cli)
    sha, label = set_manual_label(images[0]["sha256"][:10], "bainite", catalog=cli.catalog, new_label=True)
    assert (sha, label) == (images[0]["sha256"], "bainite")
    predict_catalog(run_id, "path LIKE '%/new/%'", accept=0.0, catalog=cli.catalog)
    [row] = cli.rows(f"SELECT label, label_source FROM image_metadata WHERE sha256 = '{sha}'")
    assert row == {"label": "bainite", "label_source": "manual"}


def test_review_confirms_or_corrects_a_suggestion_as_manual(metadata_only):
    cli, dataset = metadata_only
    run_id = _trained(cli, dataset)
    images = _new_images(cli)
    predict_catalog(run_id, "path LIKE '%/new/%'", accept=0.9, catalog=cli.catalog)
    suggested = {p[0]: p[2] for p in pending_reviews(cli.catalog).rows}
    target, other = images[1]["sha256"], images[2]["sha256"]
    result = cli("review", target[:12], "--accept")
    assert f"manual label '{suggested[target]}'" in result.stdout
    [row] = cli.rows(f"SELECT label, label_source FROM image_metadata WHERE sha256 = '{target}'")
    assert row == {"label": suggested[target], "label_source": "manual"}
    cli("review", other[:12], "--label", "spheroidite")
    [row] = cli.rows(f"SELECT label, label_source FROM image_metadata WHERE sha256 = '{other}'")
    assert row == {"label": "spheroidite", "label_source": "manual"}
    pending = pending_reviews(cli.catalog).rows
    assert [p[0] for p in pending] == [images[0]["sha256"]]
    kinds = cli.rows(f"SELECT annotation_kind, label_source FROM annotations WHERE image_sha256 = '{target}'")
    assert kinds == [{"annotation_kind": "class_label", "label_source": "manual"}]


def test_review_refuses_a_typo_label_and_leaves_the_image_unchanged(metadata_only):
    cli, dataset = metadata_only
    run_id = _trained(cli, dataset)
    images = _new_images(cli)
    predict_catalog(run_id, "path LIKE '%/new/%'", accept=0.9, catalog=cli.catalog)
    target = images[0]["sha256"]
    for typo in ("martensit", "Martensite", "spheroidite\n---", "", "new class"):
        result = cli("review", target[:12], "--label", typo, check=False)
        assert result.returncode == 1 and result.stderr.startswith("error: --label")
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert "known: ferrite_pearlite, martensite, spheroidite" in result.stderr and "--new-label" in result.stderr
    [row] = cli.rows(f"SELECT label, label_source FROM image_metadata WHERE sha256 = '{target}'")
    assert row == {"label": None, "label_source": None}
    assert [p[0] for p in pending_reviews(cli.catalog).rows].count(target) == 1  # still waiting for review
    assert cli("review", target[:12], "--label", "martensit", check=False).stderr.count("did you mean 'martensite'")
    cli("review", target[:12], "--label", "bainite", "--new-label")
    [row] = cli.rows(f"SELECT label, label_source FROM image_metadata WHERE sha256 = '{target}'")
    assert row == {"label": "bainite", "label_source": "manual"}

"""`fairmicro publish` against the test Hub, with the real huggingface_hub and datasets clients."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fairmicro.builders.publish import publish
from fairmicro.catalog import Catalog
from fairmicro.errors import FairmicroError, HubConflictError, HubError
from tests.publish.conftest import READ_TOKEN, REPO, TOKEN

COMMIT = r"/api/datasets/my-lab/hcci-tiles/commit/main$"

# Runs in a fresh interpreter so `datasets` reads HF_ENDPOINT as a user's script would.
LOAD_SCRIPT = """
import hashlib, json, sys
import datasets, numpy as np
ds = datasets.load_dataset(sys.argv[1], revision=sys.argv[2])
out = {}
for split, rows in ds.items():
    names = rows.features["label"].names
    for row in rows:
        pixels = np.asarray(row["image"])
        out[row["image_sha256"]] = [names[row["label"]], split, str(pixels.dtype), pixels.tolist()]
print(json.dumps(out))
"""


def publications(catalog_path: Path) -> list[tuple]:
    with Catalog.open(catalog_path, read_only=True) as catalog:
        return catalog.query(
            "SELECT dataset_id, fingerprint, repo_id, revision_sha, tag, endpoint FROM publications "
            "ORDER BY published_at"
        ).rows


def test_round_trip_publish_then_load_by_id_and_tag(hub, hub_env, make_build, cli, catalog_path):
    build = make_build()
    result = cli("publish", str(build.folder), "--repo", REPO, "--tag", "v1.0", "--json")
    published = json.loads(result.stdout)
    assert published["committed"] is True
    assert published["revision_sha"] == hub.branch_commits(REPO)[0]
    assert published["url"] == f"{hub.url}/datasets/{REPO}"

    loaded = subprocess.run(
        [sys.executable, "-c", LOAD_SCRIPT, REPO, "v1.0"], capture_output=True, text=True, check=True, timeout=300
    )
    rows = json.loads(loaded.stdout.splitlines()[-1])
    assert set(rows) == set(build.images)
    for sha, (label, split, pixels) in build.images.items():
        got_label, got_split, dtype, got_pixels = rows[sha]
        assert (got_label, got_split, dtype) == (label, split, "uint16")
        np.testing.assert_array_equal(np.array(got_pixels, dtype=np.uint16), pixels)
    assert publications(catalog_path) == [
        (build.dataset_id, build.fingerprint, REPO, published["revision_sha"], "v1.0", hub.url)
    ]


def test_cli_prints_url_and_commit_sha(hub, hub_env, make_build, cli):
    build = make_build()
    out = cli("publish", str(build.folder), "--repo", REPO).stdout
    sha = hub.branch_commits(REPO)[0]
    assert f"url     {hub.url}/datasets/{REPO}" in out
    assert f"commit  {sha}" in out


@pytest.mark.parametrize(
    ("second", "new_commit", "actions"),
    [
        ("same", False, {"unchanged"}),
        ("changed", True, {"update", "unchanged"}),
        ("fewer splits", True, {"update", "delete", "unchanged"}),
    ],
)
def test_republish(hub, hub_env, make_build, catalog_path, second, new_commit, actions):
    first = make_build()
    before = publish(first.folder, REPO, catalog=catalog_path)
    if second == "same":
        again = first
    elif second == "changed":
        again = make_build(seed=1, folder=first.folder.with_name("v2"))
    else:  # only 2 images: every third goes to test, so no test split remains
        again = make_build(seed=2, count=2, folder=first.folder.with_name("v3"))
    after = publish(again.folder, REPO, catalog=catalog_path)
    assert after.committed is new_commit
    assert (after.revision_sha != before.revision_sha) is new_commit
    assert len(hub.branch_commits(REPO)) == 2 + new_commit  # initial commit, first publish, maybe this one
    assert {c.action for c in after.changes} == actions
    deleted = [c.path for c in after.changes if c.action == "delete"]
    assert deleted == (["data/test-00000-of-00001.parquet"] if second == "fewer splits" else [])


def test_unchanged_republish_uploads_nothing(hub, hub_env, make_build, catalog_path):
    build = make_build()
    publish(build.folder, REPO, tag="v1.0", catalog=catalog_path)
    seen = len(hub.requests)
    publish(build.folder, REPO, tag="v1.0", catalog=catalog_path)
    writes = [r.route for r in hub.requests[seen:] if r.route in ("preupload", "lfs batch", "lfs put", "commit", "tag")]
    assert writes == []
    assert len(publications(catalog_path)) == 1  # the same publication, recorded once


def test_new_tag_on_unchanged_build_is_a_new_publication(hub, hub_env, make_build, catalog_path):
    build = make_build()
    first = publish(build.folder, REPO, tag="v1.0", catalog=catalog_path)
    second = publish(build.folder, REPO, tag="v1.1", catalog=catalog_path)
    assert second.revision_sha == first.revision_sha and not second.committed
    assert [row[4] for row in publications(catalog_path)] == ["v1.0", "v1.1"]


def test_dry_run_lists_files_and_changes_nothing(hub, hub_env, make_build, cli, catalog_path):
    build = make_build()
    out = cli("publish", str(build.folder), "--repo", REPO, "--tag", "v1.0", "--dry-run").stdout
    for path in (
        "README.md",
        "data/train-00000-of-00001.parquet",
        "data/test-00000-of-00001.parquet",
        "ro-crate-metadata.json",
        "croissant.json",
    ):
        assert f"add       {path}" in out
    assert "5 to upload or delete, 0 unchanged; would tag v1.0" in out
    assert [r.route for r in hub.requests if r.method != "GET"] == []
    assert publications(catalog_path) == []


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (None, "no Hugging Face token"),
        ("hf_not_a_valid_token_at_all", "rejected the token (401)"),
        (READ_TOKEN, "may not write to my-lab/hcci-tiles"),
    ],
)
def test_missing_or_rejected_token_is_one_line_and_records_nothing(
    hub, hub_env, make_build, cli, catalog_path, monkeypatch, token, message
):
    build = make_build()
    if token is None:
        monkeypatch.delenv("HF_TOKEN")
    else:
        monkeypatch.setenv("HF_TOKEN", token)
    result = cli("publish", str(build.folder), "--repo", REPO, "--tag", "v1.0", check=False)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ") and message in result.stderr
    assert "Traceback" not in result.stderr and (token is None or token not in result.stderr)
    assert publications(catalog_path) == []
    assert not any(r.route == "commit" and r.status == 200 for r in hub.requests)


def test_token_from_login_store(hub, hub_env, make_build, cli, monkeypatch):
    build = make_build()
    monkeypatch.delenv("HF_TOKEN")
    Path(hub_env["HF_HOME"]).mkdir(parents=True, exist_ok=True)
    (Path(hub_env["HF_HOME"]) / "token").write_text(TOKEN)
    assert "commit  " in cli("publish", str(build.folder), "--repo", REPO).stdout


def test_token_is_never_written_or_logged(hub, hub_env, make_build, cli, catalog_path):
    build = make_build()
    card = (build.folder / "README.md").read_bytes()
    result = cli("--debug", "publish", str(build.folder), "--repo", REPO, "--tag", "v1.0")
    assert TOKEN not in result.stdout + result.stderr
    assert TOKEN.encode() not in catalog_path.read_bytes()
    rows = cli.rows("SELECT * FROM publications")
    assert rows and TOKEN not in json.dumps(rows)
    assert (build.folder / "README.md").read_bytes() == card


@pytest.mark.parametrize("after", [False, True], ids=["commit refused", "commit made, answer lost"])
def test_failed_push_records_nothing_and_rerun_completes(hub, hub_env, make_build, catalog_path, after):
    build = make_build()
    hub.fail_once("POST", COMMIT, 500, after=after)
    with pytest.raises(HubError, match="answered 500 while committing"):
        publish(build.folder, REPO, tag="v1.0", catalog=catalog_path)
    assert publications(catalog_path) == []
    assert len(hub.branch_commits(REPO)) == 1 + after

    rerun = publish(build.folder, REPO, tag="v1.0", catalog=catalog_path)
    assert rerun.committed is not after  # a commit that reached the Hub is not made twice
    assert hub.branch_commits(REPO)[0] == rerun.revision_sha
    assert [row[3:5] for row in publications(catalog_path)] == [(rerun.revision_sha, "v1.0")]


def test_concurrent_commit_is_a_clear_conflict(hub, hub_env, make_build, catalog_path):
    build = make_build()
    publish(build.folder, REPO, catalog=catalog_path)
    changed = make_build(seed=1, folder=build.folder.with_name("v2"))
    hub.before_once("POST", COMMIT, lambda: hub.commit_files(REPO, {"NOTES.md": b"edited on the Hub\n"}, "edit"))
    with pytest.raises(HubConflictError, match="changed on .* while committing .*412"):
        publish(changed.folder, REPO, tag="v2.0", catalog=catalog_path)
    assert [row[4] for row in publications(catalog_path)] == [None]

    rerun = publish(changed.folder, REPO, tag="v2.0", catalog=catalog_path)
    assert rerun.committed and [row[4] for row in publications(catalog_path)] == [None, "v2.0"]


def test_tag_naming_another_revision_is_refused_before_pushing(hub, hub_env, make_build, catalog_path):
    build = make_build()
    publish(build.folder, REPO, tag="v1.0", catalog=catalog_path)
    changed = make_build(seed=1, folder=build.folder.with_name("v2"))
    with pytest.raises(HubConflictError, match="tag 'v1.0' already names revision"):
        publish(changed.folder, REPO, tag="v1.0", catalog=catalog_path)
    assert len(hub.branch_commits(REPO)) == 2
    assert len(publications(catalog_path)) == 1


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("not a build folder", "not a built dataset folder"),
        ("unknown to the catalog", "no dataset build written there is recorded"),
        ("bad repo id", "expected ORG/NAME"),
        ("no catalog", "no catalog here"),
    ],
)
def test_bad_input_is_refused_before_any_request(hub, hub_env, make_build, catalog_path, tmp_path, case, message):
    build = make_build()
    folder, repo, catalog = build.folder, REPO, catalog_path
    if case == "not a build folder":
        folder = tmp_path / "raw"
    elif case == "unknown to the catalog":
        folder = tmp_path / "copy"
        folder.mkdir()
        (folder / "README.md").write_bytes((build.folder / "README.md").read_bytes())
        (folder / "data").mkdir()
        (folder / "data" / "train-00000-of-00001.parquet").write_bytes(b"PAR1")
    elif case == "bad repo id":
        repo = "hcci-tiles"
    else:
        catalog = tmp_path / "elsewhere.duckdb"
    with pytest.raises(FairmicroError, match=message):
        publish(folder, repo, catalog=catalog)
    assert hub.requests == []
    assert not (tmp_path / "elsewhere.duckdb").exists()


def test_unreachable_hub_is_one_clear_error(hub, hub_env, make_build, catalog_path):
    build = make_build()
    hub.stop()
    with pytest.raises(HubError, match="cannot reach the Hub at .* while creating the repo"):
        publish(build.folder, REPO, catalog=catalog_path)
    assert publications(catalog_path) == []


def test_private_repo_is_created_private_and_recorded(hub, hub_env, make_build, catalog_path):
    from huggingface_hub import HfApi
    from huggingface_hub.errors import RepositoryNotFoundError

    build = make_build()
    publish(build.folder, REPO, private=True, catalog=catalog_path)
    with Catalog.open(catalog_path, read_only=True) as catalog:
        assert catalog.query("SELECT private FROM publications").rows == [(True,)]
    with pytest.raises(RepositoryNotFoundError):
        HfApi(endpoint=hub.url, token=False).dataset_info(REPO)


def test_hub_that_creates_repos_without_a_first_commit(hub, hub_env, make_build, catalog_path, tmp_path):
    from fairmicro.builders.resolve import resolve_dataset

    hub.initial_commit = False
    build = make_build()
    first = publish(build.folder, REPO, tag="v1.0", catalog=catalog_path)
    assert hub.branch_commits(REPO) == [first.revision_sha]
    assert not publish(build.folder, REPO, tag="v1.0", catalog=catalog_path).committed
    resolved = resolve_dataset(f"{REPO}@v1.0", catalog=catalog_path, cache_dir=tmp_path / "c")
    assert resolved.provenance.revision_sha == first.revision_sha
    assert sum(len(split) for split in resolved.dataset.values()) == len(build.images)

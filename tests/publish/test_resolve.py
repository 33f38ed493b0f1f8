"""The dataset resolver: Hub id[@rev], local folder, catalog name; HF_ENDPOINT and HF_HUB_OFFLINE."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from fairmicro.builders import resolve
from fairmicro.builders.publish import publish
from fairmicro.builders.resolve import resolve_dataset
from fairmicro.errors import DatasetNotFoundError, HubUnreachableError
from tests.publish.conftest import REPO


@pytest.fixture
def published(hub, hub_env, make_build, catalog_path):
    """v1.0 and v2.0 of REPO on the test Hub; returns (build v1, result v1, build v2, result v2)."""
    first = make_build(seed=0)
    v1 = publish(first.folder, REPO, tag="v1.0", catalog=catalog_path)
    second = make_build(name="hcci-tiles-v2", seed=1, folder=first.folder.with_name("v2"))
    v2 = publish(second.folder, REPO, tag="v2.0", catalog=catalog_path)
    return first, v1, second, v2


def rows_of(dataset) -> dict[str, tuple[str, str, np.ndarray]]:
    out = {}
    for split, rows in dataset.items():
        names = rows.features["label"].names
        for row in rows:
            out[row["image_sha256"]] = (names[row["label"]], split, np.asarray(row["image"]))
    return out


def assert_same_rows(dataset, build) -> None:
    got = rows_of(dataset)
    assert set(got) == set(build.images)
    for sha, (label, split, pixels) in build.images.items():
        assert got[sha][:2] == (label, split)
        np.testing.assert_array_equal(got[sha][2], pixels)


@pytest.mark.parametrize(
    ("ref", "version", "revision"),
    [
        (REPO, 2, "main"),
        (f"{REPO}@v1.0", 1, "v1.0"),
        (f"{REPO}@v2.0", 2, "v2.0"),
        (f"hf://datasets/{REPO}@v1.0", 1, "v1.0"),
    ],
)
def test_hub_id_with_revision(published, catalog_path, tmp_path, ref, version, revision):
    first, v1, second, v2 = published
    build, result = (first, v1) if version == 1 else (second, v2)
    resolved = resolve_dataset(ref, catalog=catalog_path, cache_dir=tmp_path / "ds-cache")
    assert_same_rows(resolved.dataset, build)
    p = resolved.provenance
    assert (p.source, p.repo_id, p.revision, p.revision_sha) == ("hub", REPO, revision, result.revision_sha)
    assert p.dataset_revision == result.revision_sha


def test_hub_id_at_commit_sha(published, catalog_path, tmp_path):
    first, v1, _, _ = published
    resolved = resolve_dataset(f"{REPO}@{v1.revision_sha}", catalog=catalog_path, cache_dir=tmp_path / "c")
    assert_same_rows(resolved.dataset, first)
    assert resolved.provenance.revision_sha == v1.revision_sha


@pytest.mark.parametrize("known_to_catalog", [True, False])
def test_local_folder(published, catalog_path, tmp_path, known_to_catalog):
    first = published[0]
    folder = first.folder
    if not known_to_catalog:
        folder = tmp_path / "copied"
        shutil.copytree(first.folder, folder)
    resolved = resolve_dataset(str(folder), catalog=catalog_path, cache_dir=tmp_path / "c")
    assert_same_rows(resolved.dataset, first)
    p = resolved.provenance
    assert (p.source, p.path, p.repo_id) == ("folder", str(folder.resolve()), None)
    if known_to_catalog:
        assert p.fingerprint == first.fingerprint
    else:
        assert p.fingerprint.startswith("sha256:") and len(p.fingerprint) == 7 + 64


def test_catalog_name(published, catalog_path, tmp_path):
    second = published[2]
    resolved = resolve_dataset("hcci-tiles-v2", catalog=catalog_path, cache_dir=tmp_path / "c")
    assert_same_rows(resolved.dataset, second)
    p = resolved.provenance
    assert (p.source, p.fingerprint, p.path) == ("catalog", second.fingerprint, str(second.folder.resolve()))


def test_catalog_name_whose_folder_is_gone_reads_its_publication(published, catalog_path, tmp_path):
    second, v2 = published[2], published[3]
    shutil.rmtree(second.folder)
    resolved = resolve_dataset("hcci-tiles-v2", catalog=catalog_path, cache_dir=tmp_path / "c")
    assert_same_rows(resolved.dataset, second)
    p = resolved.provenance
    assert (p.source, p.repo_id, p.revision_sha, p.fingerprint) == (
        "catalog",
        REPO,
        v2.revision_sha,
        second.fingerprint,
    )


def test_offline_reads_the_cache_and_makes_no_request(published, catalog_path, tmp_path, hub, monkeypatch):
    online = resolve_dataset(f"{REPO}@v1.0", catalog=catalog_path, cache_dir=tmp_path / "c")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    seen = len(hub.requests)
    offline = resolve_dataset(f"{REPO}@v1.0", catalog=catalog_path, cache_dir=tmp_path / "c")
    assert hub.requests[seen:] == []
    assert offline.provenance.revision_sha == online.provenance.revision_sha
    assert_same_rows(offline.dataset, published[0])
    with pytest.raises(DatasetNotFoundError, match="HF_HUB_OFFLINE is set and this revision is not in the cache"):
        resolve_dataset(f"{REPO}@v2.0", catalog=catalog_path, cache_dir=tmp_path / "c")
    assert hub.requests[seen:] == []


def test_hf_endpoint_is_read_when_resolving(published, catalog_path, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens on the discard port
    with pytest.raises(HubUnreachableError, match="cannot reach http://127.0.0.1:9"):
        resolve_dataset(f"{REPO}@v1.0", catalog=catalog_path, cache_dir=tmp_path / "c")


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("no-such-build", "is not a folder, a dataset name in the catalog, or a Hub id"),
        ("my-lab/no-such-repo", "no such dataset repo"),
        (f"{REPO}@v9.9", "no such revision"),
    ],
)
def test_unknown_references(published, catalog_path, tmp_path, ref, message):
    with pytest.raises(DatasetNotFoundError, match=message):
        resolve_dataset(ref, catalog=catalog_path, cache_dir=tmp_path / "c")


@pytest.mark.parametrize("known_to_catalog", [True, False])
def test_two_builds_in_folders_of_the_same_name_never_share_cached_rows(
    make_build, catalog_path, tmp_path, known_to_catalog
):
    first = make_build(seed=0, folder=tmp_path / "a" / "tiles")
    second = make_build(seed=1, folder=tmp_path / "b" / "tiles")
    # Unknown folders are keyed by their content, known ones by their build fingerprint.
    catalog = catalog_path if known_to_catalog else tmp_path / "no-catalog.duckdb"
    cache = tmp_path / "one-cache"
    assert_same_rows(resolve_dataset(first.folder, catalog=catalog, cache_dir=cache).dataset, first)
    assert_same_rows(resolve_dataset(second.folder, catalog=catalog, cache_dir=cache).dataset, second)


@pytest.mark.parametrize(
    "ref",
    ["folder", "hcci-tiles-v2", f"{REPO}@v1.0"],
    ids=["folder known to the catalog", "catalog name", "hub id"],
)
def test_data_with_a_known_revision_or_fingerprint_is_not_hashed_to_load(
    published, catalog_path, tmp_path, monkeypatch, ref
):
    hashed = []
    monkeypatch.setattr(resolve, "local_files", lambda folder: hashed.append(folder) or [])
    ref = str(published[0].folder) if ref == "folder" else ref
    resolve_dataset(ref, catalog=catalog_path, cache_dir=tmp_path / "c")
    assert hashed == []
    copy = tmp_path / "copied"  # the same files where the catalog knows no build: hashed once
    shutil.copytree(published[0].folder, copy)
    resolve_dataset(copy, catalog=catalog_path, cache_dir=tmp_path / "c")
    assert hashed == [copy.resolve()]

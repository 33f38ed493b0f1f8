"""The test Hub speaks the Hub's protocol: checked with raw HTTP and the real huggingface_hub client."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import shutil
import subprocess
from urllib.parse import urlsplit

import pytest
from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.errors import HfHubHTTPError

from tests.publish.conftest import TOKEN

REPO = "my-lab/protocol"
PARQUET = b"PAR1" + bytes(range(256)) * 4 + b"PAR1"


@pytest.fixture
def api(hub, hub_env) -> HfApi:
    client = HfApi(endpoint=hub.url, token=TOKEN)
    client.create_repo(REPO, repo_type="dataset")
    return client


def commit(api: HfApi, files: dict[str, bytes], **kwargs) -> str:
    operations = [CommitOperationAdd(path_in_repo=p, path_or_fileobj=b) for p, b in files.items()]
    return api.create_commit(REPO, operations, commit_message="add", repo_type="dataset", **kwargs).oid


def raw(
    hub, method: str, path: str, headers: dict[str, str] | None = None, body: bytes | None = None, chunked: bool = False
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection(urlsplit(hub.url).netloc, timeout=30)
    if chunked:
        connection.putrequest(method, path)
        for name, value in {**(headers or {}), "Transfer-Encoding": "chunked"}.items():
            connection.putheader(name, value)
        connection.endheaders()
        for start in range(0, len(body or b""), 7):
            piece = body[start : start + 7]
            connection.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        connection.send(b"0\r\n\r\n")
    else:
        connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, data


def test_resolve_head_get_range_and_missing_entries(hub, api):
    sha = commit(api, {"README.md": b"# protocol\n", "data/x.parquet": PARQUET})
    path = f"/datasets/{REPO}/resolve/main/data/x.parquet"
    status, headers, body = raw(hub, "HEAD", path)
    assert (status, body) == (200, b"")
    assert headers["x-repo-commit"] == sha
    assert headers["etag"] == f'"{hashlib.sha256(PARQUET).hexdigest()}"'
    assert headers["content-length"] == str(len(PARQUET))
    status, headers, body = raw(hub, "GET", path, {"Range": "bytes=4-9"})
    assert (status, body, headers["content-range"]) == (206, PARQUET[4:10], f"bytes 4-9/{len(PARQUET)}")
    assert raw(hub, "GET", path, {"Range": "bytes=-4"})[2] == b"PAR1"
    for missing, code in [
        (f"/datasets/{REPO}/resolve/main/nope.txt", "EntryNotFound"),
        (f"/datasets/{REPO}/resolve/v9/README.md", "RevisionNotFound"),
        ("/datasets/my-lab/absent/resolve/main/README.md", "RepoNotFound"),
    ]:
        status, headers, body = raw(hub, "HEAD", missing)
        assert (status, headers["x-error-code"], body) == (404, code, b"")


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_ids_are_real_git_object_ids(hub, api):
    commit(api, {"README.md": b"# protocol\n", "data/x.parquet": PARQUET})
    tree = {f.path: f for f in api.list_repo_tree(REPO, repo_type="dataset", recursive=True)}

    def git_hash(data: bytes) -> str:
        return (
            subprocess.run(["git", "hash-object", "--stdin"], input=data, capture_output=True, check=True)
            .stdout.decode()
            .strip()
        )

    assert tree["README.md"].blob_id == git_hash(b"# protocol\n")
    pointer = (
        f"version https://git-lfs.github.com/spec/v1\noid sha256:{hashlib.sha256(PARQUET).hexdigest()}\n"
        f"size {len(PARQUET)}\n"
    )
    assert tree["data/x.parquet"].blob_id == git_hash(pointer.encode())
    assert tree["data/x.parquet"].lfs.sha256 == hashlib.sha256(PARQUET).hexdigest()


def test_preupload_answers_lfs_for_binary_and_regular_for_text(hub, api):
    samples = {"notes.md": b"plain text\n", "blob.bin": b"\x00\x01binary", "data/x.parquet": PARQUET}
    body = {
        "files": [{"path": p, "size": len(b), "sample": base64.b64encode(b[:512]).decode()} for p, b in samples.items()]
    }
    status, _, data = raw(
        hub,
        "POST",
        f"/api/datasets/{REPO}/preupload/main",
        {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        json.dumps(body).encode(),
    )
    assert status == 200
    modes = {f["path"]: f["uploadMode"] for f in json.loads(data)["files"]}
    assert modes == {"notes.md": "regular", "blob.bin": "lfs", "data/x.parquet": "lfs"}


def test_commit_accepts_a_chunked_ndjson_body(hub, api):
    lines = [
        {"key": "header", "value": {"summary": "chunked", "description": ""}},
        {"key": "file", "value": {"path": "a.txt", "content": "aGVsbG8=", "encoding": "base64"}},
    ]
    body = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    status, _, data = raw(
        hub,
        "POST",
        f"/api/datasets/{REPO}/commit/main",
        {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/x-ndjson"},
        body,
        chunked=True,
    )
    assert status == 200 and json.loads(data)["commitOid"] == hub.branch_commits(REPO)[0]
    assert raw(hub, "GET", f"/datasets/{REPO}/resolve/main/a.txt")[2] == b"hello"


@pytest.mark.parametrize(
    ("case", "status"),
    [("stale parent commit", 412), ("repo exists", 409), ("bad token", 401), ("no token", 401)],
)
def test_refusals(hub, api, case, status):
    first = commit(api, {"a.txt": b"1"})
    commit(api, {"a.txt": b"2"})
    with pytest.raises(HfHubHTTPError) as caught:
        if case == "stale parent commit":
            commit(api, {"a.txt": b"3"}, parent_commit=first)
        elif case == "repo exists":
            api.create_repo(REPO, repo_type="dataset")
        else:
            token = "hf_wrong" if case == "bad token" else False
            HfApi(endpoint=hub.url, token=token).create_repo("my-lab/new", repo_type="dataset")
    assert caught.value.response.status_code == status
    assert len(hub.branch_commits(REPO)) == 3


def test_invalid_card_metadata_is_refused_by_validate_yaml(hub, api):
    with pytest.raises(ValueError, match="Invalid metadata in README.md"):
        commit(api, {"README.md": b"---\nlicense: [unclosed\n---\n"})
    assert len(hub.branch_commits(REPO)) == 1


def test_tags_refs_and_commit_listing(hub, api):
    sha = commit(api, {"a.txt": b"1"})
    api.create_tag(REPO, tag="v1", revision=sha, repo_type="dataset")
    with pytest.raises(HfHubHTTPError) as caught:
        api.create_tag(REPO, tag="v1", revision=sha, repo_type="dataset")
    assert caught.value.response.status_code == 409
    refs = api.list_repo_refs(REPO, repo_type="dataset")
    assert [(t.name, t.target_commit) for t in refs.tags] == [("v1", sha)]
    assert api.dataset_info(REPO, revision="v1").sha == sha
    assert [c.title for c in api.list_repo_commits(REPO, repo_type="dataset")] == ["add", "initial commit"]

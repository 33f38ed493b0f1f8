"""The test Hub's routes: one handler per Hub endpoint, each ``(hub, request) -> Response``."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import yaml

from tests.hub.storage import Commit, Entry, HubError, Repo

if TYPE_CHECKING:
    from tests.hub.server import HubServer, HubUser

API_REPO = r"/api/(?P<type>model|dataset|space)s/(?P<ns>[^/]+)/(?P<name>[^/]+?)"
GIT_REPO = r"/(?:(?P<type>dataset|space)s/)?(?P<ns>[^/]+)/(?P<name>[^/]+?)"
REV = r"(?P<rev>[^/]+)"


@dataclass(frozen=True)
class Request:
    """A parsed request: URL groups (unquoted), query params, headers, body and caller."""

    method: str
    params: dict[str, str]
    headers: dict[str, str]
    body: bytes
    groups: dict[str, str]
    base_url: str
    user: HubUser | None

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body or b"{}")

    def flag(self, name: str) -> bool:
        """A boolean query parameter (``true``, ``True`` or ``1``)."""
        return self.params.get(name, "").lower() in ("1", "true")


@dataclass(frozen=True)
class Response:
    """Status, headers and body of an answer."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def length(self) -> int:
        return len(self.body)

    @classmethod
    def json(cls, value: Any, status: int = 200) -> Response:
        return cls(status, json.dumps(value).encode(), {"Content-Type": "application/json"})

    @classmethod
    def error(cls, exc: HubError) -> Response:
        headers = {"Content-Type": "application/json", "X-Error-Message": str(exc)}
        if exc.code:
            headers["X-Error-Code"] = exc.code
        return cls(exc.status, json.dumps({"error": str(exc), **exc.extra}).encode(), headers)


# ---------------------------------------------------------------- access
def _repo_id(request: Request) -> str:
    return f"{request.groups['ns']}/{request.groups['name']}"


def _readable(hub: HubServer, request: Request) -> Repo:
    repo = hub.storage.repo(request.groups.get("type") or "model", _repo_id(request))
    if repo.private and not (request.user and request.user.owns(request.groups["ns"])):
        raise HubError(404, f"Repository Not Found: {repo.repo_id}", "RepoNotFound")
    return repo


def _writer(request: Request, namespace: str) -> HubUser:
    if request.user is None:
        raise HubError(401, "You must be authenticated to write")
    if not (request.user.write and request.user.owns(namespace)):
        raise HubError(403, f"You don't have the rights to write to {namespace}")
    return request.user


def _writable(hub: HubServer, request: Request) -> Repo:
    repo = _readable(hub, request)
    _writer(request, request.groups["ns"])
    return repo


def _url(request: Request, repo: Repo) -> str:
    prefix = "" if repo.repo_type == "model" else f"{repo.repo_type}s/"
    return f"{request.base_url}/{prefix}{repo.repo_id}"


# ----------------------------------------------------------------- entries
def _file_json(path: str, entry: Entry) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "file", "oid": entry.oid, "size": entry.size, "path": path}
    if entry.sha256:
        out["lfs"] = {"oid": entry.sha256, "size": entry.size, "pointerSize": entry.pointer_size}
    return out


def _path_json(repo: Repo, commit: Commit, path: str, expand: bool) -> dict[str, Any] | None:
    if path in commit.files:
        out = _file_json(path, commit.files[path])
    elif path in commit.folders:
        out = {"type": "directory", "oid": commit.folders[path], "size": 0, "path": path}
    else:
        return None
    if expand:
        last = repo.last_commit(commit.sha, path)
        out["lastCommit"] = {"id": last.sha, "title": last.title, "date": _iso(last.date)}
    return out


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _card_data(hub: HubServer, commit: Commit) -> dict[str, Any] | None:
    entry = commit.files.get("README.md")
    if entry is None:
        return None
    header = _front_matter(hub.storage.read(entry).decode("utf-8", "replace"))
    return header if isinstance(header, dict) else None


def _front_matter(text: str) -> Any:
    match = re.match(r"^---\s*\n(.*?)\n---\s*(\n|$)", text, re.DOTALL)
    return yaml.safe_load(match.group(1)) if match else None


# ------------------------------------------------------------------ routes
def create_repo(hub: HubServer, request: Request) -> Response:
    body = request.json()
    namespace = body.get("organization") or (request.user.name if request.user else "")
    user = _writer(request, namespace)
    private = body.get("visibility", "private" if body.get("private") else "public") == "private"
    repo_type, repo_id = body.get("type") or "model", f"{namespace}/{body['name']}"
    try:
        repo = hub.storage.create_repo(repo_type, repo_id, private, user.name, hub.initial_commit)
    except HubError as exc:
        exc.extra["url"] = _url(request, hub.storage.repo(repo_type, repo_id))
        raise
    return Response.json({"url": _url(request, repo), "name": repo.repo_id, "id": repo.repo_id})


def repo_info(hub: HubServer, request: Request) -> Response:
    repo = _readable(hub, request)
    if "rev" not in request.groups and not repo.commits:
        return Response.json(
            {"id": repo.repo_id, "author": request.groups["ns"], "sha": None, "private": repo.private, "siblings": []}
        )
    commit = repo.resolve(request.groups.get("rev", "main"))
    siblings = []
    for path, entry in sorted(commit.files.items()):
        sibling: dict[str, Any] = {"rfilename": path}
        if request.flag("blobs"):
            sibling.update(size=entry.size, blobId=entry.oid)
            if entry.sha256:
                sibling["lfs"] = {"sha256": entry.sha256, "size": entry.size, "pointerSize": entry.pointer_size}
        siblings.append(sibling)
    return Response.json(
        {
            "id": repo.repo_id,
            "_id": repo.repo_id,
            "author": request.groups["ns"],
            "sha": commit.sha,
            "private": repo.private,
            "gated": False,
            "disabled": False,
            "downloads": 0,
            "likes": 0,
            "tags": [],
            "createdAt": _iso(repo.created_at),
            "lastModified": _iso(commit.date),
            "cardData": _card_data(hub, commit),
            "siblings": siblings,
        }
    )


def preupload(hub: HubServer, request: Request) -> Response:
    repo = _writable(hub, request)
    head, current = repo.head_files(request.groups["rev"])
    files = []
    for item in request.json()["files"]:
        sample = base64.b64decode(item.get("sample", ""))
        existing = current.get(item["path"])
        files.append(
            {
                "path": item["path"],
                "uploadMode": hub.storage.upload_mode(current, item["path"], int(item["size"]), sample),
                "shouldIgnore": False,
                "oid": existing.etag if existing else None,
            }
        )
    return Response.json({"files": files, "commitOid": head})


def lfs_batch(hub: HubServer, request: Request) -> Response:
    _writable(hub, request)
    body = request.json()
    if body.get("operation") != "upload":
        raise HubError(400, "only the upload operation is supported")
    objects = []
    for item in body["objects"]:
        obj: dict[str, Any] = {"oid": item["oid"], "size": item["size"], "authenticated": True}
        if hub.storage.lfs_size(item["oid"]) != item["size"]:
            obj["actions"] = {
                "upload": {"href": f"{request.base_url}/lfs-objects/{item['oid']}", "header": {}},
                "verify": {"href": f"{request.base_url}/lfs-verify/{item['oid']}", "header": {}},
            }
        objects.append(obj)
    return Response.json({"transfer": "basic", "objects": objects, "hash_algo": "sha256"})


def lfs_put(hub: HubServer, request: Request) -> Response:
    hub.storage.put_lfs(request.groups["oid"], request.body)
    return Response(200, b"", {"ETag": f'"{request.groups["oid"]}"'})


def lfs_verify(hub: HubServer, request: Request) -> Response:
    body = request.json()
    if hub.storage.lfs_size(request.groups["oid"]) != body.get("size"):
        raise HubError(404, f"LFS object {request.groups['oid']} not found")
    return Response.json({"success": True})


def commit(hub: HubServer, request: Request) -> Response:
    repo = _writable(hub, request)
    if request.flag("create_pr"):
        raise HubError(400, "pull requests are not supported by the test hub")
    branch = request.groups["rev"]
    lines = [json.loads(line) for line in request.body.splitlines() if line.strip()]
    if not lines or lines[0].get("key") != "header":
        raise HubError(400, "the first NDJSON line must be the commit header")
    header = lines[0]["value"]
    with hub.storage.lock:
        head, current = repo.head_files(branch)
        parent = header.get("parentCommit")
        if parent and not (head or "").startswith(parent):
            raise HubError(412, "A commit has happened since. Please refresh and try again.")
        files = dict(current)
        for line in lines[1:]:
            _apply(hub, files, line["key"], line["value"])
        new = hub.storage.commit(
            repo, branch, files, header["summary"], header.get("description", ""), request.user.name, head
        )
    return Response.json(
        {
            "success": True,
            "commitOid": new.sha,
            "commitUrl": f"{_url(request, repo)}/commit/{new.sha}",
            "commitMessage": new.title,
            "hookOutput": "",
            "pullRequestUrl": None,
        }
    )


def _apply(hub: HubServer, files: dict[str, Entry], key: str, value: dict[str, Any]) -> None:
    path = value["path"].strip("/")
    if key == "file":
        files[path] = hub.storage.put_blob(base64.b64decode(value["content"]))
    elif key == "lfsFile":
        files[path] = hub.storage.lfs_entry(value["oid"])
    elif key == "deletedFile":
        if files.pop(path, None) is None:
            raise HubError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
    elif key == "deletedFolder":
        for name in [p for p in files if p.startswith(path + "/")]:
            del files[name]
    else:
        raise HubError(400, f"unknown commit operation {key!r}")


def tree(hub: HubServer, request: Request) -> Response:
    repo = _readable(hub, request)
    commit = repo.resolve(request.groups["rev"])
    base = request.groups.get("path", "").strip("/")
    if base and base not in commit.folders:
        raise HubError(404, f"{base} does not exist on {request.groups['rev']}", "EntryNotFound")
    prefix = f"{base}/" if base else ""
    recursive, expand = request.flag("recursive"), request.flag("expand")
    paths = sorted(
        p
        for p in (*commit.folders, *commit.files)
        if p.startswith(prefix) and (recursive or "/" not in p[len(prefix) :])
    )
    return Response.json([_path_json(repo, commit, p, expand) for p in paths])


def paths_info(hub: HubServer, request: Request) -> Response:
    repo = _readable(hub, request)
    commit = repo.resolve(request.groups["rev"])
    if request.headers.get("content-type", "").startswith("application/json"):
        body = request.json()
        paths, expand = body.get("paths", []), bool(body.get("expand"))
    else:
        form = parse_qs(request.body.decode())
        paths, expand = form.get("paths", []), form.get("expand", ["false"])[-1].lower() == "true"
    found = [_path_json(repo, commit, p.strip("/"), expand) for p in paths]
    return Response.json([f for f in found if f is not None])


def refs(hub: HubServer, request: Request) -> Response:
    repo = _readable(hub, request)

    def listing(refs: dict[str, str], kind: str) -> list[dict[str, str]]:
        return [{"name": n, "ref": f"refs/{kind}/{n}", "targetCommit": s} for n, s in sorted(refs.items())]

    return Response.json(
        {
            "branches": listing(repo.branches, "heads"),
            "tags": listing(repo.tags, "tags"),
            "converts": [],
            "pullRequests": [],
        }
    )


def commits(hub: HubServer, request: Request) -> Response:
    repo = _readable(hub, request)
    return Response.json(
        [
            {
                "id": c.sha,
                "title": c.title,
                "message": c.description,
                "date": _iso(c.date),
                "authors": [{"user": c.author, "avatar": None}],
            }
            for c in repo.history(request.groups["rev"])
        ]
    )


def create_tag(hub: HubServer, request: Request) -> Response:
    repo = _writable(hub, request)
    tag = request.json()["tag"]
    with hub.storage.lock:
        target = repo.resolve(request.groups["rev"])
        if tag in repo.tags or tag in repo.branches:
            raise HubError(409, f"Reference already exists: refs/tags/{tag}")
        repo.tags[tag] = target.sha
    return Response.json({"name": tag, "ref": f"refs/tags/{tag}", "targetCommit": target.sha})


def resolve(hub: HubServer, request: Request) -> Response:
    repo = _readable(hub, request)
    commit = repo.resolve(request.groups["rev"])
    entry = commit.files.get(request.groups["path"])
    if entry is None:
        raise HubError(404, f"Entry not found: {request.groups['path']}", "EntryNotFound")
    data = hub.storage.read(entry)
    headers = {
        "X-Repo-Commit": commit.sha,
        "ETag": f'"{entry.etag}"',
        "Accept-Ranges": "bytes",
        "Content-Type": "application/octet-stream",
    }
    if entry.sha256:
        headers.update({"X-Linked-Etag": f'"{entry.sha256}"', "X-Linked-Size": str(entry.size)})
    span = _range(request.headers.get("range"), len(data))
    if span is None:
        return Response(200, data, headers)
    start, end = span
    headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
    return Response(206, data[start : end + 1], headers)


def _range(header: str | None, size: int) -> tuple[int, int] | None:
    if not header:
        return None
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", header.strip())
    if not match or match.groups() == ("", ""):
        raise HubError(416, f"unsupported range {header!r}")
    first, last = match.groups()
    if first == "":
        start, end = max(size - int(last), 0), size - 1
    else:
        start, end = int(first), min(int(last) if last else size - 1, size - 1)
    if start >= size or start > end:
        raise HubError(416, f"range {header!r} is outside the {size}-byte file")
    return start, end


def validate_yaml(hub: HubServer, request: Request) -> Response:
    content = request.json().get("content", "")
    try:
        header = _front_matter(content)
    except yaml.YAMLError as exc:
        return Response.json({"errors": [{"message": f"invalid YAML: {exc}"}], "warnings": []}, 400)
    if header is not None and not isinstance(header, dict):
        return Response.json({"errors": [{"message": "metadata must be a YAML mapping"}], "warnings": []}, 400)
    return Response.json({"errors": [], "warnings": []})


Handler = Callable[["HubServer", Request], Response]
ROUTES: list[tuple[str, re.Pattern[str], str, Handler]] = [
    (method, re.compile(pattern), name, handler)
    for method, pattern, name, handler in [
        ("POST", r"/api/repos/create", "repos/create", create_repo),
        ("GET", rf"{API_REPO}(?:/revision/{REV})?", "repo info", repo_info),
        ("POST", rf"{API_REPO}/preupload/{REV}", "preupload", preupload),
        ("POST", rf"{API_REPO}/commit/{REV}", "commit", commit),
        ("GET", rf"{API_REPO}/tree/{REV}(?:/(?P<path>.*))?", "tree", tree),
        ("POST", rf"{API_REPO}/paths-info/{REV}", "paths-info", paths_info),
        ("GET", rf"{API_REPO}/refs", "refs", refs),
        ("GET", rf"{API_REPO}/commits/{REV}", "commits", commits),
        ("POST", rf"{API_REPO}/tag/{REV}", "tag", create_tag),
        ("POST", r"/api/validate-yaml", "validate-yaml", validate_yaml),
        ("POST", rf"{GIT_REPO}\.git/info/lfs/objects/batch", "lfs batch", lfs_batch),
        ("PUT", r"/lfs-objects/(?P<oid>[0-9a-f]{64})", "lfs put", lfs_put),
        ("POST", r"/lfs-verify/(?P<oid>[0-9a-f]{64})", "lfs verify", lfs_verify),
        ("GET|HEAD", rf"{GIT_REPO}/resolve/{REV}/(?P<path>.+)", "resolve", resolve),
    ]
]

"""Repositories of the test Hub: content-addressed blobs, trees and commits with real git shas.

Blob, tree and commit ids are computed exactly as git computes them, and an
LFS file is stored in git as its pointer text, so a revision sha here means
what it means on the Hub: the same files, parent and message give the same sha.
"""

from __future__ import annotations

import fnmatch
import hashlib
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

GITATTRIBUTES = "".join(
    f"{pattern} filter=lfs diff=lfs merge=lfs -text\n"
    for pattern in ("*.parquet", "*.arrow", "*.png", "*.tif", "*.tiff", "*.npy", "*.safetensors", "*.bin", "*.zip")
)
LFS_MIN_SIZE = 10 * 1024 * 1024


class HubError(Exception):
    """An error the server answers with ``status`` and the Hub's ``X-Error-Code``."""

    def __init__(self, status: int, message: str, code: str | None = None, **extra: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.extra = extra


def git_object_sha(kind: str, body: bytes) -> str:
    """The git object id of ``body`` as a ``kind`` object (blob, tree, commit)."""
    return hashlib.sha1(f"{kind} {len(body)}\0".encode() + body).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    """The git-lfs pointer file that stands in git for an LFS object."""
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


@dataclass(frozen=True)
class Entry:
    """One file of a commit: its git blob id, size and (for LFS files) sha256."""

    oid: str
    size: int
    sha256: str | None = None
    pointer_size: int | None = None

    @property
    def etag(self) -> str:
        """What the Hub sends as the file's ETag: the LFS sha256, else the blob id."""
        return self.sha256 or self.oid


@dataclass(frozen=True)
class Commit:
    """A commit: its sha, tree, parent, message, author, date and flat file map."""

    sha: str
    tree: str
    parent: str | None
    title: str
    description: str
    author: str
    date: datetime
    files: dict[str, Entry]
    folders: dict[str, str]  # folder path -> tree sha


@dataclass
class Repo:
    """One repository: refs, commits and visibility."""

    repo_type: str
    repo_id: str
    private: bool
    created_at: datetime
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)

    def resolve(self, revision: str) -> Commit:
        """The commit a branch, tag or (abbreviated) sha names."""
        sha = self.branches.get(revision) or self.tags.get(revision)
        if sha is None and len(revision) >= 7:
            matches = [s for s in self.commits if s.startswith(revision)]
            sha = matches[0] if len(matches) == 1 else None
        if sha is None:
            raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return self.commits[sha]

    def head_files(self, branch: str) -> tuple[str | None, dict[str, Entry]]:
        """Head sha and files of ``branch``; ``(None, {})`` for ``main`` of a repo without commits."""
        if branch not in self.branches and branch == "main" and not self.commits:
            return None, {}
        commit = self.resolve(branch)
        return commit.sha, commit.files

    def history(self, revision: str) -> list[Commit]:
        """Commits reachable from ``revision``, newest first."""
        commit: Commit | None = self.resolve(revision)
        out = []
        while commit is not None:
            out.append(commit)
            commit = self.commits.get(commit.parent) if commit.parent else None
        return out

    def last_commit(self, revision: str, path: str) -> Commit:
        """The newest commit that changed ``path`` (a file or folder)."""
        history = self.history(revision)
        for newer, older in zip(history, history[1:] + [None], strict=True):
            if older is None or _state(newer, path) != _state(older, path):
                return newer
        return history[-1]


def _state(commit: Commit, path: str) -> str | None:
    entry = commit.files.get(path)
    return entry.oid if entry else commit.folders.get(path)


def tree_shas(files: dict[str, Entry]) -> tuple[str, dict[str, str]]:
    """The root tree sha of a flat file map, and the sha of every folder in it."""
    folders: dict[str, str] = {}

    def build(prefix: str) -> str:
        children: dict[str, tuple[str, str]] = {}
        for path, entry in files.items():
            if prefix and not path.startswith(prefix + "/"):
                continue
            rest = path[len(prefix) + 1 :] if prefix else path
            name, _, deeper = rest.partition("/")
            if deeper:
                sub = f"{prefix}/{name}" if prefix else name
                children[name] = ("40000", folders.get(sub) or build(sub))
            else:
                children[name] = ("100644", entry.oid)
        order = sorted(children, key=lambda n: n + "/" if children[n][0] == "40000" else n)
        body = b"".join(f"{children[n][0]} {n}\0".encode() + bytes.fromhex(children[n][1]) for n in order)
        sha = git_object_sha("tree", body)
        if prefix:
            folders[prefix] = sha
        return sha

    return build(""), folders


class Storage:
    """All repositories of one test Hub, with blobs and LFS objects under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "blobs").mkdir(parents=True, exist_ok=True)
        (root / "lfs").mkdir(parents=True, exist_ok=True)
        self.repos: dict[tuple[str, str], Repo] = {}
        self.lock = threading.RLock()

    # ---------------------------------------------------------------- objects
    def put_blob(self, data: bytes) -> Entry:
        """Store a regular file's bytes; returns its entry."""
        oid = git_object_sha("blob", data)
        (self.root / "blobs" / oid).write_bytes(data)
        return Entry(oid=oid, size=len(data))

    def put_lfs(self, sha256: str, data: bytes) -> None:
        """Store an LFS object after checking its sha256."""
        if hashlib.sha256(data).hexdigest() != sha256:
            raise HubError(400, f"uploaded bytes do not hash to {sha256}")
        (self.root / "lfs" / sha256).write_bytes(data)

    def lfs_size(self, sha256: str) -> int | None:
        """Size of a stored LFS object, or None when it was never uploaded."""
        path = self.root / "lfs" / sha256
        return path.stat().st_size if path.is_file() else None

    def lfs_entry(self, sha256: str) -> Entry:
        """The entry of a stored LFS object (its git blob is the pointer file)."""
        size = self.lfs_size(sha256)
        if size is None:
            raise HubError(422, f"LFS object {sha256} was not uploaded before the commit")
        pointer = lfs_pointer(sha256, size)
        return Entry(oid=git_object_sha("blob", pointer), size=size, sha256=sha256, pointer_size=len(pointer))

    def read(self, entry: Entry) -> bytes:
        """The bytes of a file."""
        folder, name = ("lfs", entry.sha256) if entry.sha256 else ("blobs", entry.oid)
        return (self.root / folder / name).read_bytes()

    # ------------------------------------------------------------------ repos
    def repo(self, repo_type: str, repo_id: str) -> Repo:
        """An existing repository (404 RepoNotFound otherwise)."""
        repo = self.repos.get((repo_type, repo_id))
        if repo is None:
            raise HubError(404, f"Repository Not Found: {repo_id}", "RepoNotFound")
        return repo

    def create_repo(
        self, repo_type: str, repo_id: str, private: bool, author: str, initial_commit: bool = True
    ) -> Repo:
        """A new repository (409 if it exists), with the Hub's initial ``.gitattributes`` commit
        unless ``initial_commit`` is false (then it has no commit and no branch yet)."""
        with self.lock:
            if (repo_type, repo_id) in self.repos:
                raise HubError(409, f"You already created this {repo_type} repo: {repo_id}")
            repo = Repo(repo_type, repo_id, private, datetime.now(UTC))
            self.repos[(repo_type, repo_id)] = repo
            if initial_commit:
                files = {".gitattributes": self.put_blob(GITATTRIBUTES.encode())}
                self.commit(repo, "main", files, "initial commit", "", author, parent=None)
            return repo

    def commit(
        self,
        repo: Repo,
        branch: str,
        files: dict[str, Entry],
        title: str,
        description: str,
        author: str,
        parent: str | None,
    ) -> Commit:
        """Record a commit of ``files`` on ``branch`` and move the branch to it."""
        tree, folders = tree_shas(files)
        date = datetime.now(UTC).replace(microsecond=0)
        lines = [f"tree {tree}"] + ([f"parent {parent}"] if parent else [])
        stamp = f"{author} <{author}@users.noreply.test> {int(date.timestamp())} +0000"
        message = title + (f"\n\n{description}" if description else "")
        body = "\n".join([*lines, f"author {stamp}", f"committer {stamp}", "", message, ""]).encode()
        sha = git_object_sha("commit", body)
        commit = Commit(sha, tree, parent, title, description, author, date, dict(files), folders)
        repo.commits[sha] = commit
        repo.branches[branch] = sha
        return commit

    def upload_mode(self, files: dict[str, Entry], path: str, size: int, sample: bytes) -> str:
        """ "lfs" for binary, large or ``.gitattributes``-tracked files, else "regular"."""
        attributes_entry = files.get(".gitattributes")
        attributes = self.read(attributes_entry).decode() if attributes_entry else GITATTRIBUTES
        patterns = [line.split()[0] for line in attributes.splitlines() if "filter=lfs" in line]
        name = PurePosixPath(path).name
        tracked = any(fnmatch.fnmatch(name, pattern) for pattern in patterns)
        return "lfs" if tracked or b"\0" in sample or size >= LFS_MIN_SIZE else "regular"

"""Publish a built dataset folder to a Hugging Face Hub dataset repository.

One publication is: create the repo if missing, compare the folder with the
remote tree, upload what changed in one commit (nothing, when nothing
changed), create the tag, and only then record the publication in the
catalog. A failed push records nothing; a rerun finds what already reached
the Hub and completes it.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fairmicro.builders.deps import require
from fairmicro.builders.hub import (
    REPO_ID,
    HubSettings,
    LocalFile,
    hub_error,
    hub_failures,
    hub_token,
    local_files,
    redacted,
)
from fairmicro.catalog.connection import resolve_catalog_path
from fairmicro.catalog.store import Catalog, utcnow
from fairmicro.errors import DatasetNotFoundError, FairmicroError, HubAuthError, HubConflictError
from fairmicro.schema import models

logger = logging.getLogger(__name__)

COMMAND = "fairmicro publish"
# Remote files under these folders that the build no longer has are deleted, so a
# shrunken build does not leave stale shards behind; anything else stays.
MANAGED_FOLDERS = ("data/",)
KEPT_REMOTE = frozenset({".gitattributes"})


@dataclass(frozen=True)
class FileChange:
    """What publishing does with one file: "add", "update", "unchanged" or "delete"."""

    path: str
    action: str
    size: int | None = None


@dataclass(frozen=True)
class BuildRecord:
    """The catalog's ``datasets`` row for the folder being published."""

    dataset_id: str
    name: str | None
    fingerprint: str | None


@dataclass(frozen=True)
class PublishResult:
    """Outcome of :func:`publish`.

    ``revision_sha`` is the commit that holds the published files (the current
    head when nothing changed, or what would be published on when ``dry_run``).
    """

    repo_id: str
    url: str
    endpoint: str
    revision_sha: str | None
    tag: str | None
    committed: bool
    dry_run: bool
    dataset: BuildRecord
    changes: list[FileChange] = field(default_factory=list)
    publication_id: str | None = None

    @property
    def uploads(self) -> list[FileChange]:
        """The files this publication adds, updates or deletes."""
        return [c for c in self.changes if c.action != "unchanged"]


@dataclass(frozen=True)
class _Remote:
    head: str | None
    private: bool | None
    files: dict[str, Any]  # path -> huggingface_hub RepoFile


def publish(
    folder: str | Path,
    repo_id: str,
    tag: str | None = None,
    private: bool = False,
    dry_run: bool = False,
    catalog: str | Path | None = None,
) -> PublishResult:
    """Publish the dataset build in ``folder`` to the Hub dataset repo ``repo_id``.

    Parameters
    ----------
    folder
        A folder written by ``fairmicro build`` (``README.md``, ``data/*.parquet``, ...).
    repo_id
        ``ORG/NAME`` of the dataset repository; created when missing.
    tag
        Tag to create on the published revision, e.g. ``"v1.0"``.
    private
        Create the repository private (an existing repo keeps its visibility).
    dry_run
        List what would be uploaded; change nothing on the Hub or in the catalog.
    catalog
        Catalog holding the build (default: ``--catalog`` rules, see docs/catalog.md).

    Returns
    -------
    PublishResult
        Repo URL, revision sha, per-file changes and the recorded publication id.

    Raises
    ------
    HubAuthError
        No token (``HF_TOKEN`` or ``hf auth login``), or the Hub rejected it.
    HubConflictError
        The repo changed during the push (409/412), or ``tag`` names another revision.
    HubUnreachableError, HubError
        Network errors and other failed requests; nothing is recorded, rerun to complete.
    """
    folder = _check_folder(folder)
    if not REPO_ID.fullmatch(repo_id):
        raise FairmicroError(f"--repo {repo_id!r}: expected ORG/NAME, e.g. my-lab/hcci-tiles")
    catalog_path = resolve_catalog_path(catalog)
    # Only read here (a missing --catalog is reported, never created); a dry run does not even upgrade it.
    opened = Catalog.open(catalog_path, read_only=True) if dry_run else Catalog.open_for_reading(catalog_path)
    with opened as cat:
        build = find_build(cat, folder)
    with redacted():  # a Hub error may echo the token: never in messages, tracebacks or logs
        settings = HubSettings.from_env(COMMAND)
        token = hub_token(COMMAND)
        if token is None and not dry_run:
            raise HubAuthError(
                f"no Hugging Face token for {settings.endpoint}: set HF_TOKEN or run `hf auth login`, then rerun"
            )
        push = _Push(settings.endpoint, token, repo_id, build)
        result = push.run(folder, tag, private, dry_run)
    if dry_run:
        return result
    # The catalog is opened again only now, so a long upload never holds its lock.
    with Catalog.open(catalog_path) as cat:
        return _record(cat, result, push.private)


def _check_folder(folder: str | Path) -> Path:
    path = Path(folder).expanduser().resolve()
    if not (path / "README.md").is_file() or not any((path / "data").glob("*.parquet")):
        raise DatasetNotFoundError(
            f"{folder}: not a built dataset folder (expected README.md and data/*.parquet); run `fairmicro build` first"
        )
    return path


def find_build(catalog: Catalog, folder: Path) -> BuildRecord:
    """The newest ``datasets`` row whose ``output_path`` is ``folder``."""
    rows = catalog.written_builds()
    for dataset_id, name, fingerprint, output_path in rows:
        if Path(output_path).expanduser().resolve() == folder:
            return BuildRecord(dataset_id, name, fingerprint)
    raise DatasetNotFoundError(
        f"{folder}: no dataset build written there is recorded in catalog {catalog.path}; "
        "build it with `fairmicro build` or pass the catalog that built it with --catalog"
    )


class _Push:
    """The Hub side of one publication."""

    def __init__(self, endpoint: str, token: str | None, repo_id: str, build: BuildRecord) -> None:
        self.hub = require("huggingface_hub", COMMAND)
        self.errors = require("huggingface_hub.errors", COMMAND)
        self.repo_file = require("huggingface_hub.hf_api", COMMAND).RepoFile
        self.failures = hub_failures(COMMAND)
        self.api = self.hub.HfApi(endpoint=endpoint, token=token or False, library_name="fairmicro")
        self.endpoint, self.repo_id, self.build = endpoint, repo_id, build
        self.private: bool | None = None

    def run(self, folder: Path, tag: str | None, private: bool, dry_run: bool) -> PublishResult:
        url = f"{self.endpoint}/datasets/{self.repo_id}"
        if not dry_run:
            url = str(
                self._call(
                    "creating the repo",
                    self.api.create_repo,
                    self.repo_id,
                    repo_type="dataset",
                    private=private,
                    exist_ok=True,
                )
            )
        local = local_files(folder)
        remote = self._remote(missing_ok=dry_run)
        self.private = remote.private if remote.private is not None else private
        changes = plan(local, remote.files)
        changed = any(c.action != "unchanged" for c in changes)
        tagged = self._tag_target(tag) if tag and remote.head else None
        if tagged and (tagged != remote.head or changed):
            raise HubConflictError(
                f"tag {tag!r} already names revision {tagged[:12]} of {self.repo_id}, not this build; "
                "publish under a new tag"
            )
        result = PublishResult(self.repo_id, url, self.endpoint, remote.head, tag, False, dry_run, self.build, changes)
        if dry_run:
            return result
        sha = self._commit(folder, local, changes, remote.head) if changed else remote.head
        if sha is None:
            raise FairmicroError(f"{folder}: nothing to publish (no files) and {self.repo_id} has no commit")
        if tag and tagged is None:
            self._create_tag(tag, sha)
        # huggingface_hub also skips files whose remote id matches, so compare shas
        return replace(result, revision_sha=sha, committed=sha != remote.head)

    def _call(self, step: str, method: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except self.failures as exc:
            raise hub_error(exc, step=step, endpoint=self.endpoint, repo_id=self.repo_id) from exc

    def _remote(self, missing_ok: bool) -> _Remote:
        step = "reading the repo"
        try:
            info = self.api.repo_info(self.repo_id, repo_type="dataset", revision="main")
            if info.sha is None:
                return _Remote(None, info.private, {})  # a repo without commits yet
            tree = self.api.list_repo_tree(self.repo_id, repo_type="dataset", revision=info.sha, recursive=True)
            return _Remote(info.sha, info.private, {f.path: f for f in tree if isinstance(f, self.repo_file)})
        except self.errors.RepositoryNotFoundError as exc:
            if missing_ok:
                return _Remote(None, None, {})
            raise hub_error(exc, step=step, endpoint=self.endpoint, repo_id=self.repo_id) from exc
        except self.failures as exc:
            if _not_found(exc, self.errors):
                return _Remote(None, None, {})  # no main branch yet
            raise hub_error(exc, step=step, endpoint=self.endpoint, repo_id=self.repo_id) from exc

    def _tag_target(self, tag: str) -> str | None:
        try:
            return self.api.repo_info(self.repo_id, repo_type="dataset", revision=tag).sha
        except self.failures as exc:
            if _not_found(exc, self.errors):
                return None
            raise hub_error(exc, step=f"checking tag {tag!r}", endpoint=self.endpoint, repo_id=self.repo_id) from exc

    def _commit(self, folder: Path, local: list[LocalFile], changes: list[FileChange], parent: str | None) -> str:
        operations = [
            self.hub.CommitOperationDelete(path_in_repo=c.path)
            if c.action == "delete"
            else self.hub.CommitOperationAdd(path_in_repo=c.path, path_or_fileobj=str(folder / c.path))
            for c in changes
            if c.action != "unchanged"
        ]
        summary, description = commit_message(self.build, changes, local)
        info = self._call(
            f"committing to {self.repo_id}",
            self.api.create_commit,
            self.repo_id,
            operations,
            commit_message=summary,
            commit_description=description,
            repo_type="dataset",
            parent_commit=parent,
        )
        logger.info("committed %d operation(s) to %s as %s", len(operations), self.repo_id, info.oid)
        return info.oid

    def _create_tag(self, tag: str, sha: str) -> None:
        try:
            self.api.create_tag(
                self.repo_id,
                tag=tag,
                revision=sha,
                repo_type="dataset",
                tag_message=f"fairmicro dataset {self.build.name or self.build.dataset_id}",
            )
        except self.failures as exc:
            conflict = isinstance(exc, self.errors.HfHubHTTPError) and exc.response.status_code == 409
            if conflict and self._tag_target(tag) == sha:
                return  # a concurrent run created the same tag
            raise hub_error(exc, step=f"creating tag {tag!r}", endpoint=self.endpoint, repo_id=self.repo_id) from exc


def _not_found(exc: BaseException, errors: Any) -> bool:
    """A 404 for a revision (not for the repository itself)."""
    return (
        isinstance(exc, errors.HfHubHTTPError)
        and not isinstance(exc, errors.RepositoryNotFoundError)
        and exc.response is not None
        and exc.response.status_code == 404
    )


def plan(local: list[LocalFile], remote: dict[str, Any]) -> list[FileChange]:
    """Per-file actions that make the remote tree hold ``local``.

    A remote file is unchanged when its LFS sha256 or its git blob id equals
    the local file's.
    """
    changes = []
    for item in local:
        theirs = remote.get(item.path)
        if theirs is None:
            action = "add"
        elif (theirs.lfs and theirs.lfs.sha256 == item.sha256) or theirs.blob_id == item.git_sha1:
            action = "unchanged"
        else:
            action = "update"
        changes.append(FileChange(item.path, action, item.size))
    mine = {item.path for item in local}
    for path in sorted(remote):
        if path not in mine and path not in KEPT_REMOTE and path.startswith(MANAGED_FOLDERS):
            changes.append(FileChange(path, "delete"))
    return changes


def commit_message(build: BuildRecord, changes: list[FileChange], local: list[LocalFile]) -> tuple[str, str]:
    """Summary and description of a publication commit."""
    counts = {a: sum(c.action == a for c in changes) for a in ("add", "update", "delete")}
    shards = sum(1 for f in local if f.path.startswith("data/") and f.path.endswith(".parquet"))
    fingerprint = (build.fingerprint or "unknown")[:12]
    summary = f"Publish {build.name or build.dataset_id} ({shards} shards, fingerprint {fingerprint})"
    description = "\n".join(
        [
            f"fairmicro dataset build {build.dataset_id}",
            f"fingerprint: {build.fingerprint or 'unknown'}",
            f"files added {counts['add']}, updated {counts['update']}, deleted {counts['delete']}",
        ]
    )
    return summary, description


def publication_id(endpoint: str, repo_id: str, revision_sha: str, tag: str | None) -> str:
    """Stable id of a publication: the same revision and tag on the same repo is one publication."""
    return hashlib.sha256(f"{endpoint}\n{repo_id}\n{revision_sha}\n{tag or ''}".encode()).hexdigest()[:32]


def _record(catalog: Catalog, result: PublishResult, private: bool | None) -> PublishResult:
    assert result.revision_sha is not None, "a confirmed publication has a revision"
    pid = publication_id(result.endpoint, result.repo_id, result.revision_sha, result.tag)
    row = models.Publication(
        publication_id=pid,
        dataset_id=result.dataset.dataset_id,
        fingerprint=result.dataset.fingerprint,
        repo_id=result.repo_id,
        revision_sha=result.revision_sha,
        tag=result.tag,
        endpoint=result.endpoint,
        private=private,
        published_at=utcnow(),
    )
    with catalog.transaction():
        added = catalog.add_publication(row)
    state = "recorded" if added else "was already recorded"
    logger.info("publication %s %s in %s", pid, state, catalog.path)
    return replace(result, publication_id=pid)

"""Hugging Face Hub plumbing shared by publishing and the dataset resolver.

Settings are read from the environment when a command runs (not when
``huggingface_hub`` was first imported), so ``HF_ENDPOINT``, ``HF_HUB_OFFLINE``
and ``HF_HOME`` always mean what the user set. Hub and network errors become
one-line :class:`~fairmicro.errors.HubError` messages that never contain the
token.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fairmicro.builders.deps import require
from fairmicro.errors import (
    FairmicroError,
    HubAuthError,
    HubConflictError,
    HubError,
    HubUnreachableError,
    first_line,
)

TRUE_VALUES = frozenset({"1", "true", "yes", "on"})
REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*")
"""A Hub repository id, ``ORG/NAME``."""
GIT_BLOB_HEADER = "blob {size}\0"


@dataclass(frozen=True)
class HubSettings:
    """Endpoint, offline flag and download cache, as the environment says now."""

    endpoint: str
    offline: bool
    cache_dir: Path

    @classmethod
    def from_env(cls, command: str) -> HubSettings:
        """Read ``HF_ENDPOINT``, ``HF_HUB_OFFLINE``, ``HF_HUB_CACHE`` and ``HF_HOME``."""
        constants = require("huggingface_hub.constants", command)
        endpoint = (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")
        offline = (
            os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in TRUE_VALUES
            or constants.HF_HUB_OFFLINE
        )
        if os.environ.get("HF_HUB_CACHE"):
            cache = Path(os.environ["HF_HUB_CACHE"])
        elif os.environ.get("HF_HOME"):
            cache = Path(os.environ["HF_HOME"]) / "hub"
        else:
            cache = Path(constants.HF_HUB_CACHE)
        return cls(endpoint=endpoint, offline=offline, cache_dir=cache.expanduser())


def hub_token(command: str) -> str | None:
    """The token from ``HF_TOKEN`` or the huggingface_hub login store, if any."""
    return require("huggingface_hub", command).get_token()


@dataclass(frozen=True)
class LocalFile:
    """A file of a dataset folder with the two ids the Hub compares it by."""

    path: str  # relative, POSIX separators
    size: int
    sha256: str  # the LFS oid
    git_sha1: str  # the git blob id of a regular file


def local_files(folder: Path) -> list[LocalFile]:
    """Every non-hidden file under ``folder``, sorted by path, with its hashes."""
    return [_hash_file(folder, path) for path in _walk(folder)]


def _walk(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts):
            yield path


def _hash_file(folder: Path, path: Path) -> LocalFile:
    size = path.stat().st_size
    sha256 = hashlib.sha256()
    git_sha1 = hashlib.sha1(GIT_BLOB_HEADER.format(size=size).encode())
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha256.update(block)
            git_sha1.update(block)
    return LocalFile(
        path.relative_to(folder).as_posix(), size, sha256.hexdigest(), git_sha1.hexdigest()
    )


def content_digest(files: list[LocalFile]) -> str:
    """One sha256 over the paths and contents of ``files`` ("sha256:<hex>")."""
    digest = hashlib.sha256()
    for item in files:
        digest.update(f"{item.path}\0{item.sha256}\n".encode())
    return "sha256:" + digest.hexdigest()


def hub_failures(command: str) -> tuple[type[BaseException], ...]:
    """Exceptions by which ``huggingface_hub`` reports a failed request or upload.

    HTTP errors are ``OSError``s, invalid card metadata is a ``ValueError``, a
    failed LFS upload is wrapped in a ``RuntimeError``; network errors are
    ``httpx2.TransportError``s. Programming errors are not caught.
    """
    httpx = require("httpx2", command)
    return (OSError, ValueError, RuntimeError, httpx.TransportError)


def hub_error(exc: BaseException, *, step: str, endpoint: str, repo_id: str) -> FairmicroError:
    """A one-line error for a failed Hub request (the token never appears in it).

    Parameters
    ----------
    exc
        What ``huggingface_hub`` raised (HTTP errors may be wrapped in others).
    step
        What was being done, e.g. "committing to my-lab/tiles".
    endpoint, repo_id
        Where, for the message.
    """
    # Only called after huggingface_hub answered, so both modules are importable.
    hf_errors = require("huggingface_hub.errors")
    httpx = require("httpx2")
    cause = _find(
        exc, (hf_errors.HfHubHTTPError, httpx.TransportError, hf_errors.OfflineModeIsEnabled)
    )
    if isinstance(cause, hf_errors.OfflineModeIsEnabled):
        return HubUnreachableError(
            f"HF_HUB_OFFLINE is set, so {endpoint} was not contacted while {step}"
        )
    if isinstance(cause, httpx.TransportError):
        return HubUnreachableError(
            f"cannot reach the Hub at {endpoint} while {step} ({type(cause).__name__}); "
            "check the network or HF_ENDPOINT and rerun"
        )
    if not isinstance(cause, hf_errors.HfHubHTTPError):
        return HubError(f"{step} on {endpoint} failed: {first_line(exc)}")
    status = cause.response.status_code
    detail = cause.server_message or first_line(cause)
    if status == 401:
        return HubAuthError(
            f"the Hub at {endpoint} rejected the token (401) while {step}; "
            "set a valid HF_TOKEN or run `hf auth login`, then rerun"
        )
    if status == 403:
        return HubAuthError(
            f"the token may not write to {repo_id} on {endpoint} (403) while {step}: {detail}"
        )
    if status in (409, 412):
        return HubConflictError(
            f"{repo_id} changed on {endpoint} while {step} ({status}: {detail}); rerun to publish on top of it"
        )
    if isinstance(cause, hf_errors.RepositoryNotFoundError):
        return HubError(
            f"{repo_id} does not exist on {endpoint} or the token cannot see it ({step})"
        )
    return HubError(f"the Hub at {endpoint} answered {status} while {step}: {detail}")


def _find(exc: BaseException, kinds: tuple[type[BaseException], ...]) -> BaseException | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kinds):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None

"""Hugging Face Hub plumbing shared by publishing and the dataset resolver.

Settings are read from the environment when a command runs (not when
``huggingface_hub`` was first imported), so ``HF_ENDPOINT``, ``HF_HUB_OFFLINE``
and ``HF_HOME`` always mean what the user set. Hub and network errors become
one-line :class:`~fairmicro.errors.HubError` messages that never contain the
token: :func:`redact` removes it (and anything shaped like a Hub token or an
Authorization value) from messages, exception chains and log lines, since some
servers echo the request's headers in their errors.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
from collections.abc import Iterable, Iterator
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

# ------------------------------------------------------------------ redaction
REDACTED = "<redacted>"
TOKEN_ENV_VARS = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")
_SECRET_SHAPES = (
    # Hub user and organisation tokens, wherever they appear
    (re.compile(r"\b(?:hf|api_org)_[A-Za-z0-9_-]{6,}"), REDACTED),
    # the value of an Authorization header, whatever its scheme
    (re.compile(r"\b(Bearer|Basic)(\s+)[^\s'\",;&)}\]]{8,}", re.IGNORECASE), r"\1\2" + REDACTED),
    # token=..., "token": "...", access_token: ...
    (
        re.compile(r"(\b(?:access_|auth_|hf_)?token[\"']?\s*[=:]\s*[\"']?)[^\s'\",;&)}\]]+", re.IGNORECASE),
        r"\1" + REDACTED,
    ),
)
_known_tokens: set[str] = set()


def remember_token(token: str | None) -> None:
    """Redact ``token`` (of any shape) from every later Hub error and log line of this process."""
    if token and len(token) >= 8:
        _known_tokens.add(token)


def redact(text: str, tokens: Iterable[str] = ()) -> str:
    """``text`` with Hub tokens and Authorization values replaced by ``<redacted>``.

    Parameters
    ----------
    text
        An error message, log line or server answer.
    tokens
        Further secrets to remove verbatim (the token in use and ``$HF_TOKEN``
        are always removed).
    """
    known = {*_known_tokens, *tokens, *(os.environ.get(name, "") for name in TOKEN_ENV_VARS)}
    for token in sorted((t for t in known if len(t) >= 8), key=len, reverse=True):
        text = text.replace(token, REDACTED)
    for pattern, replacement in _SECRET_SHAPES:
        text = pattern.sub(replacement, text)
    return text


def scrub(exc: BaseException | None) -> None:
    """Redact tokens in place from ``exc`` and every exception it was raised from.

    Tracebacks (``--debug``) print these messages; a Hub that echoes the
    request's headers would otherwise show the token there.
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        with contextlib.suppress(AttributeError, TypeError):
            exc.args = tuple(redact(a) if isinstance(a, str) else a for a in exc.args)
        for name in ("server_message", "message", "__notes__"):
            value = getattr(exc, name, None)
            with contextlib.suppress(AttributeError, TypeError):
                if isinstance(value, str):
                    setattr(exc, name, redact(value))
                elif isinstance(value, list):
                    setattr(exc, name, [redact(v) if isinstance(v, str) else v for v in value])
        exc = exc.__cause__ or exc.__context__


@contextlib.contextmanager
def redacted() -> Iterator[None]:
    """Scrub every exception leaving the block, and log lines while it runs, of Hub tokens."""
    install_log_redaction()
    try:
        yield
    except BaseException as exc:
        scrub(exc)
        raise


class _RedactingFilter(logging.Filter):
    """Rewrites log records whose text holds a token (huggingface_hub, httpx, fairmicro)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1]:
            scrub(record.exc_info[1])
        return True


_FILTER = _RedactingFilter()


def install_log_redaction() -> None:
    """Put the redacting filter on every handler of the root logger (idempotent)."""
    for handler in logging.getLogger().handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)


@dataclass(frozen=True)
class HubSettings:
    """Endpoint, offline flag and download cache, as the environment says now."""

    endpoint: str
    offline: bool
    cache_dir: Path

    @classmethod
    def from_env(cls, command: str) -> HubSettings:
        """Read ``HF_ENDPOINT``, ``HF_HUB_OFFLINE``, ``HF_HUB_CACHE`` and ``HF_HOME``."""
        install_log_redaction()
        constants = require("huggingface_hub.constants", command)
        endpoint = (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")
        offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in TRUE_VALUES or constants.HF_HUB_OFFLINE
        if os.environ.get("HF_HUB_CACHE"):
            cache = Path(os.environ["HF_HUB_CACHE"])
        elif os.environ.get("HF_HOME"):
            cache = Path(os.environ["HF_HOME"]) / "hub"
        else:
            cache = Path(constants.HF_HUB_CACHE)
        return cls(endpoint=endpoint, offline=offline, cache_dir=cache.expanduser())


def hub_token(command: str) -> str | None:
    """The token from ``HF_TOKEN`` or the huggingface_hub login store, if any (remembered for :func:`redact`)."""
    token = require("huggingface_hub", command).get_token()
    remember_token(token)
    return token


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
    return LocalFile(path.relative_to(folder).as_posix(), size, sha256.hexdigest(), git_sha1.hexdigest())


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
    scrub(exc)  # the server's answer may echo the request's Authorization header
    # Only called after huggingface_hub answered, so both modules are importable.
    hf_errors = require("huggingface_hub.errors")
    httpx = require("httpx2")
    cause = _find(exc, (hf_errors.HfHubHTTPError, httpx.TransportError, hf_errors.OfflineModeIsEnabled))
    if isinstance(cause, hf_errors.OfflineModeIsEnabled):
        return HubUnreachableError(f"HF_HUB_OFFLINE is set, so {endpoint} was not contacted while {step}")
    if isinstance(cause, httpx.TransportError):
        return HubUnreachableError(
            f"cannot reach the Hub at {endpoint} while {step} ({type(cause).__name__}); "
            "check the network or HF_ENDPOINT and rerun"
        )
    if not isinstance(cause, hf_errors.HfHubHTTPError):
        return HubError(f"{step} on {endpoint} failed: {redact(first_line(exc))}")
    status = cause.response.status_code
    detail = redact(cause.server_message or first_line(cause))
    if status == 401:
        return HubAuthError(
            f"the Hub at {endpoint} rejected the token (401) while {step}; "
            "set a valid HF_TOKEN or run `hf auth login`, then rerun"
        )
    if status == 403:
        return HubAuthError(f"the token may not write to {repo_id} on {endpoint} (403) while {step}: {detail}")
    if status in (409, 412):
        return HubConflictError(
            f"{repo_id} changed on {endpoint} while {step} ({status}: {detail}); rerun to publish on top of it"
        )
    if isinstance(cause, hf_errors.RepositoryNotFoundError):
        return HubError(f"{repo_id} does not exist on {endpoint} or the token cannot see it ({step})")
    return HubError(f"the Hub at {endpoint} answered {status} while {step}: {detail}")


def _find(exc: BaseException, kinds: tuple[type[BaseException], ...]) -> BaseException | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kinds):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None

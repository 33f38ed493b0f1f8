"""A Hugging Face Hub-compatible HTTP server for tests: stdlib ``http.server`` on 127.0.0.1.

Implements the subset of the Hub API that ``huggingface_hub`` 2.x and
``datasets`` 5.x use to create a repo, upload a folder in one commit, tag it
and load it back (see ``ROUTES``). The real clients are pointed at it with
``HF_ENDPOINT``, ``HF_TOKEN`` and ``HF_HUB_DISABLE_XET=1``.

Tests can make the next matching request fail (:meth:`HubServer.fail_once`)
and read every request it answered (:attr:`HubServer.requests`).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

from tests.hub.routes import ROUTES, Request, Response
from tests.hub.storage import HubError, Storage

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HubUser:
    """The account behind a token: its name, organisations and whether it may write."""

    name: str
    orgs: tuple[str, ...] = ()
    write: bool = True

    def owns(self, namespace: str) -> bool:
        """Whether this account may write to repos in ``namespace``."""
        return namespace == self.name or namespace in self.orgs


@dataclass
class Failure:
    """Answer the next request matching ``method`` and ``pattern`` with ``status``.

    With ``after`` the request is carried out first and only its answer is lost.
    With ``action`` nothing fails: ``action`` runs just before the request is
    handled (to stage a race, e.g. another client's commit).
    """

    method: str
    pattern: re.Pattern[str]
    status: int
    after: bool
    action: Callable[[], None] | None = None


@dataclass(frozen=True)
class LoggedRequest:
    """One answered request: method, route name, path (without query) and status."""

    method: str
    route: str
    path: str
    status: int


@dataclass
class HubServer:
    """A running test Hub; use as a context manager."""

    root: Path
    tokens: dict[str, HubUser]
    initial_commit: bool = True  # False: new repos start empty, without a main branch
    requests: list[LoggedRequest] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.storage = Storage(self.root)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.hub = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="test-hub", daemon=True)

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321``."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> HubServer:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fail_once(self, method: str, path_regex: str, status: int = 500, *, after: bool = False) -> None:
        """Make the next ``method`` request whose path matches ``path_regex`` fail with ``status``."""
        self.failures.append(Failure(method, re.compile(path_regex), status, after))

    def before_once(self, method: str, path_regex: str, action: Callable[[], None]) -> None:
        """Run ``action`` just before the next ``method`` request whose path matches ``path_regex``."""
        self.failures.append(Failure(method, re.compile(path_regex), 0, False, action))

    def commit_files(self, repo_id: str, files: dict[str, bytes], title: str, repo_type: str = "dataset") -> str:
        """Commit ``files`` to ``main`` directly, as another client would; returns the sha."""
        with self.storage.lock:
            repo = self.storage.repo(repo_type, repo_id)
            head = repo.resolve("main")
            tree = {**head.files, **{p: self.storage.put_blob(b) for p, b in files.items()}}
            return self.storage.commit(repo, "main", tree, title, "", "someone-else", head.sha).sha

    def branch_commits(self, repo_id: str, repo_type: str = "dataset", branch: str = "main") -> list[str]:
        """Shas of the commits on ``branch``, newest first."""
        with self.storage.lock:
            return [c.sha for c in self.storage.repo(repo_type, repo_id).history(branch)]

    def routes_used(self) -> list[str]:
        """Names of the routes clients called, in first-use order."""
        return list(dict.fromkeys(f"{r.method} {r.route}" for r in self.requests))

    def _take_failure(self, method: str, path: str) -> Failure | None:
        with self.storage.lock:
            for failure in self.failures:
                if failure.method == method and failure.pattern.search(path):
                    self.failures.remove(failure)
                    return failure
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fairmicro-test-hub/1"

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("test hub: " + format, *args)

    @property
    def hub(self) -> HubServer:
        return self.server.hub  # type: ignore[attr-defined]

    def _dispatch(self, method: str) -> None:
        split = urlsplit(self.path)
        body = self._read_body()
        route_name, response = "unknown", Response.error(HubError(404, f"no route for {method} {split.path}"))
        failure = self.hub._take_failure(method, split.path)
        if failure and failure.action:
            failure.action()
            failure = None
        try:
            for route_method, pattern, name, handler in ROUTES:
                match = pattern.fullmatch(split.path)
                if match and method in route_method.split("|"):
                    route_name = name
                    if failure and not failure.after:
                        raise HubError(failure.status, f"injected failure on {name}")
                    request = self._request(method, split.query, body, match)
                    response = handler(self.hub, request)
                    break
            if failure and failure.after:
                raise HubError(failure.status, f"injected failure after {route_name}")
        except HubError as exc:
            response = Response.error(exc)
        except (ValueError, KeyError, json.JSONDecodeError, yaml.YAMLError) as exc:
            response = Response.error(HubError(400, f"bad request: {exc}"))
        self.hub.requests.append(LoggedRequest(method, route_name, split.path, response.status))
        self._send(method, response)

    def _request(self, method: str, query: str, body: bytes, match: re.Match[str]) -> Request:
        groups = {k: unquote(v) for k, v in match.groupdict().items() if v is not None}
        return Request(
            method=method,
            params={k: v[-1] for k, v in parse_qs(query).items()},
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            groups=groups,
            base_url=f"http://{self.headers.get('Host', self.hub.url.removeprefix('http://'))}",
            user=self._user(),
        )

    def _user(self) -> HubUser | None:
        auth = self.headers.get("Authorization", "")
        if not auth:
            return None
        token = auth.removeprefix("Bearer ").strip()
        user = self.hub.tokens.get(token)
        if user is None:
            raise HubError(401, "Invalid credentials in Authorization header")
        return user

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, method: str, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(response.length))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(response.body)

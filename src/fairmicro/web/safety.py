"""What keeps ``fairmicro serve`` safe by default: loopback binding, the write token, CSRF, upload checks.

* Bound to a loopback address the server answers only requests whose Host is a
  loopback name (no DNS rebinding from a web page). Bound elsewhere it needs a
  token, and every write (any method but GET/HEAD) must carry it: the
  ``fairmicro_token`` cookie set by visiting ``/?token=T`` once, or an
  ``Authorization: Bearer T`` header.
* Every write must also carry the server's CSRF value (a hidden form field a
  page of another site cannot read) and, when the browser sends one, an Origin
  naming this server. The token cookie is ``SameSite=Strict``.
* Request bodies are capped (uploads :data:`MAX_UPLOAD_BYTES`); uploaded files
  are recognised by their first bytes, never by their names.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from fairmicro.errors import FairmicroError

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
FORM_OVERHEAD = 1024 * 1024
TOKEN_COOKIE = "fairmicro_token"
SAFE_METHODS = frozenset({"GET", "HEAD"})
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"II+\x00", "tiff"),
    (b"MM\x00+", "tiff"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or address to bind) only accepts connections from this machine."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_binding(host: str, token: str | None) -> None:
    """Refuse to serve beyond this machine without a token.

    Raises
    ------
    FairmicroError
        If ``host`` is not a loopback address and no (long enough) token is given.
    """
    if token is not None and len(token) < 16:
        raise FairmicroError(
            "--token: use at least 16 characters (e.g. `python -c 'import secrets; print(secrets.token_urlsafe())'`)"
        )
    if not is_loopback(host) and token is None:
        raise FairmicroError(
            f"--host {host}: serving beyond this machine needs --token T (every write must "
            "carry it); or keep the default --host 127.0.0.1"
        )


def sniff(head: bytes) -> str | None:
    """The image format the first bytes announce (tiff, png, jpeg), or None."""
    for magic, kind in MAGIC:
        if head.startswith(magic):
            return kind
    return None


@dataclass
class Guard:
    """The server's secrets and binding: its token (or None) and its CSRF value."""

    token: str | None = None
    loopback: bool = True
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    def token_ok(self, headers: dict[str, str], cookies: dict[str, str]) -> bool:
        """Whether a write carries the token (always true when the server has none)."""
        if self.token is None:
            return True
        auth = headers.get("authorization", "")
        given = auth[7:] if auth.lower().startswith("bearer ") else cookies.get(TOKEN_COOKIE, "")
        return hmac.compare_digest(given.encode(), self.token.encode())

    def csrf_ok(self, value: str | None) -> bool:
        """Whether a write's CSRF value is this server's."""
        return value is not None and hmac.compare_digest(value.encode(), self.csrf.encode())

    def host_ok(self, host_header: str) -> bool:
        """On a loopback binding, only loopback Host names (no DNS rebinding)."""
        if not self.loopback:
            return True
        return _hostname(host_header) in LOOPBACK_NAMES


def _hostname(host_header: str) -> str:
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def same_origin(origin: str | None, host_header: str) -> bool:
    """Whether an Origin/Referer (when the browser sent one) names the host the request was sent to."""
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc.lower() == host_header.strip().lower()


class BodyTooLarge(Exception):
    """A request body passed the server's limit."""


class GuardMiddleware:
    """ASGI middleware: Host check, token and Origin on writes, and a cap on every request body."""

    def __init__(
        self, app: Callable[..., Awaitable[None]], guard: Guard, max_body: int = MAX_UPLOAD_BYTES + FORM_OVERHEAD
    ) -> None:
        self.app, self.guard, self.max_body = app, guard, max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        refusal = self._refusal(scope["method"], headers)
        if refusal is not None:
            await _plain(send, *refusal)
            return
        await self._capped(scope, receive, send, headers)

    def _refusal(self, method: str, headers: dict[str, str]) -> tuple[int, str] | None:
        host = headers.get("host", "")
        if not self.guard.host_ok(host):
            return 400, f"refused: Host {host!r} is not this machine (the server is bound to a loopback address)"
        if method in SAFE_METHODS:
            return None
        if not self.guard.token_ok(headers, _cookies(headers.get("cookie", ""))):
            return 403, "refused: this server needs its token for every change (open /?token=T once)"
        origin = headers.get("origin") or headers.get("referer")
        if not same_origin(origin, host):
            return 403, "refused: the request came from another site (Origin does not match)"
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            return 413, f"refused: request body over {self.max_body // (1024 * 1024)} MB"
        return None

    async def _capped(self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str]) -> None:
        seen, started = 0, False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_body:
                raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _plain(send, 413, f"refused: request body over {self.max_body // (1024 * 1024)} MB")


def _cookies(header: str) -> dict[str, str]:
    out = {}
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name:
            out[name] = value
    return out


async def _plain(send: Send, status: int, text: str) -> None:
    body = (text + "\n").encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})

"""A Hub that echoes the request's Authorization header in its errors never makes
fairmicro print the token: not in the one-line error, not in `--debug` logs and tracebacks.

The echoing Hub here answers every request with one status and repeats the request's
headers in its JSON ``error``, in ``X-Error-Message`` and in the body text, as some
proxies and misconfigured Hub mirrors do.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from fairmicro.builders.hub import redact
from tests.publish.conftest import REPO, TOKEN

OPAQUE_TOKEN = "s3cr3t-opaque-token-for-a-private-mirror-9f8e7d"  # not hf_-shaped


class _Echo(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    status = 400

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        headers = dict(self.headers.items())
        body = json.dumps({"error": f"rejected request with headers {headers}", "headers": headers}).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Error-Message", f"bad auth {headers.get('Authorization')}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_HEAD = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def echo_hub(request) -> Iterator[type[_Echo]]:
    handler = type("Echo", (_Echo,), {})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield handler
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def echo_env(hub_env, echo_hub, monkeypatch) -> dict[str, str]:
    monkeypatch.setenv("HF_ENDPOINT", echo_hub.url)
    return {**hub_env, "HF_ENDPOINT": echo_hub.url}


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 500])
@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_publish_errors_echoing_the_token_never_print_it(echo_hub, echo_env, make_build, cli, status, debug):
    echo_hub.status = status
    build = make_build()
    args = (("--debug",) if debug else ()) + ("publish", str(build.folder), "--repo", REPO, "--tag", "v1")
    result = cli(*args, check=False)
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert TOKEN not in output and TOKEN[3:] not in output
    assert "Bearer hf_" not in output
    if not debug:
        assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1
    else:
        assert "Traceback" in result.stderr  # the debug view is still there, only scrubbed


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_an_opaque_token_is_redacted_too(echo_hub, echo_env, make_build, cli, monkeypatch, debug):
    monkeypatch.setenv("HF_TOKEN", OPAQUE_TOKEN)
    echo_hub.status = 403
    build = make_build()
    args = (("--debug",) if debug else ()) + ("publish", str(build.folder), "--repo", REPO)
    result = cli(*args, check=False)
    assert result.returncode == 1 and OPAQUE_TOKEN not in result.stdout + result.stderr


@pytest.mark.parametrize("status", [400, 403, 500])
@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_resolving_a_hub_dataset_never_prints_the_token(echo_hub, echo_env, cli, tmp_path, status, debug):
    """`train --dataset ORG/NAME` resolves through the Hub: its errors are scrubbed too."""
    echo_hub.status = status
    args = (("--debug",) if debug else ()) + ("train", "texture", "--dataset", f"{REPO}@v1")
    cli("query", "SELECT 1", check=False)  # no catalog needed for a Hub id
    result = cli(*args, check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert TOKEN not in output and "Bearer hf_" not in output


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"Authorization: Bearer {TOKEN}", TOKEN),
        (f"{{'authorization': 'Bearer {TOKEN}'}}", TOKEN),
        (f"token={TOKEN}&x=1", TOKEN),
        (f"bearer {OPAQUE_TOKEN}", OPAQUE_TOKEN),
        ("Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
    ],
)
def test_redact_removes_tokens_and_keeps_the_rest(text, secret):
    assert secret not in redact(text)
    assert redact("the Hub answered 500 while committing") == "the Hub answered 500 while committing"


@pytest.mark.parametrize(
    "message",
    [
        "the Hub at http://127.0.0.1:1 rejected the token (401) while creating the repo",
        "the token may not write to my-lab/x on http://127.0.0.1:1 (403) while committing",
        "a bearer of bad news",
        "no Hugging Face token for https://huggingface.co: set HF_TOKEN or run `hf auth login`",
    ],
)
def test_redact_leaves_fairmicro_messages_readable(message, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    assert redact(message) == message


def test_redact_removes_a_known_token_of_any_shape():
    assert OPAQUE_TOKEN not in redact(f"echo: {OPAQUE_TOKEN}", tokens=[OPAQUE_TOKEN])


def test_nothing_was_written_with_the_token(echo_hub, echo_env, make_build, cli, catalog_path: Path):
    echo_hub.status = 500
    build = make_build()
    cli("--debug", "publish", str(build.folder), "--repo", REPO, check=False)
    assert TOKEN.encode() not in catalog_path.read_bytes()

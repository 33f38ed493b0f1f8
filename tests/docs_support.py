"""How tests/test_docs.py runs a doc's blocks: Markdown parsing, a Python session, and ``fairmicro serve``.

Python blocks run in one child interpreter per doc (as a notebook kernel would), with the same
environment and folder as the shell blocks, so a local Hub behind ``HF_ENDPOINT`` reaches them too.
A ``fairmicro serve`` line is run by :func:`serve_and_fetch` (``python tests/docs_support.py ARGS``):
the server starts on a free port, a page is fetched, the server is stopped.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<lang>[\w-]*)[ \t]*\n(?P<code>.*?)^(?P=indent)```[ \t]*$", re.DOTALL | re.MULTILINE
)
SKIP = re.compile(r"<!--\s*docs-test:\s*skip\s*\((?P<reason>[^)]+)\)\s*-->\s*$")
EXECUTED = {"bash", "sh", "console", "python"}
COMMAND_START = re.compile(r"^(\$ )?(fairmicro|pip|export|python|hf|bash|sudo) ")
SERVE = re.compile(r"^(?P<indent>[ \t]*)fairmicro serve\b", re.MULTILINE)


@dataclass
class Block:
    """One fenced code block of a Markdown file."""

    language: str
    code: str
    line: int
    skip: str | None

    @property
    def executed(self) -> bool:
        """Whether the doc test runs this block (a shell or Python block)."""
        return self.language in EXECUTED


def fenced_blocks(path: Path) -> list[Block]:
    """Every fenced block of ``path`` in order (indented ones in lists too), each with its skip reason."""
    text = path.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = SKIP.search(before)
        indent = len(match.group("indent"))
        code = "".join(line[indent:] for line in match.group("code").splitlines(keepends=True))
        line = text.count("\n", 0, match.start()) + 1
        found.append(Block(match.group("lang"), code, line, marker.group("reason") if marker else None))
    return found


def shell_code(block: Block, python: str) -> str:
    """The bash text of a shell block: console prompts stripped, ``fairmicro serve`` lines served and fetched."""
    code = block.code
    if block.language == "console":
        code = "\n".join(line[2:] for line in code.splitlines() if line.startswith("$ "))
    helper = f'"{python}" "{Path(__file__).resolve()}"'
    return SERVE.sub(lambda m: f"{m.group('indent')}{helper}", code)


_DRIVER = r"""
import json, sys, traceback
reply, sys.stdout = sys.stdout, sys.stderr
namespace = {"__name__": "__docs__"}
for line in sys.stdin:
    message = json.loads(line)
    try:
        exec(compile(message["code"], message["where"], "exec"), namespace)
        answer = None
    except BaseException:
        answer = traceback.format_exc()
    reply.write(json.dumps(answer) + "\n")
    reply.flush()
"""


class PythonSession:
    """One interpreter that runs a doc's Python blocks in order, in one namespace."""

    def __init__(self, cwd: Path, env: dict[str, str], log: IO[str]) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-c", _DRIVER],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )

    def run(self, code: str, where: str) -> str | None:
        """Run ``code``; the traceback when it raised, else None."""
        assert self._process.stdin and self._process.stdout
        self._process.stdin.write(json.dumps({"code": code, "where": where}) + "\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()
        return json.loads(line) if line else f"the Python session ended (exit {self._process.wait()})"

    def close(self) -> None:
        """End the interpreter."""
        if self._process.stdin:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve_and_fetch(args: list[str], timeout: float = 60.0) -> int:
    """Run ``fairmicro serve ARGS`` on a free port until ``/`` answers with a page, then stop it; 0 when it did."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "fairmicro", "serve", *args, "--port", str(port)])
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if server.poll() is not None:
                sys.stderr.write(f"fairmicro serve exited {server.returncode} before answering\n")
                return 1
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
                    page = response.read().decode("utf-8", "replace")
                    return 0 if response.status == 200 and "<html" in page.lower() else 1
            except OSError:
                time.sleep(0.3)
        sys.stderr.write(f"fairmicro serve did not answer within {timeout:.0f} s\n")
        return 1
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


if __name__ == "__main__":
    sys.exit(serve_and_fetch(sys.argv[1:]))

"""Docs that cannot drift: every ```bash/```sh/```console and ```python block of README.md and docs/*.md
runs, in order per file, in a temporary folder holding generated sample data, with ``fairmicro`` on PATH.

A block that cannot run here (the real Hub, real data, a GPU, PostgreSQL) carries an HTML comment on
the line before it: ``<!-- docs-test: skip (needs the real Hub) -->``. Skipped blocks are counted and
reported; every other block must succeed. docs/api.md is executed by tests/test_docs_api.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from fairmicro.testing.samples import write_demo_collection

ROOT = Path(__file__).resolve().parents[1]
FILES = [ROOT / "README.md", *sorted(p for p in (ROOT / "docs").glob("*.md") if p.name != "api.md")]
FENCE = re.compile(r"^```(bash|sh|console|python)[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
SKIP = re.compile(r"<!--\s*docs-test:\s*skip\s*\((?P<reason>[^)]+)\)\s*-->\s*$")
HEAVY = {"build.md", "models.md"}  # build (and train on) a real dataset: slow


@dataclass
class Block:
    """One executable code block of a Markdown file."""

    language: str
    code: str
    line: int
    skip: str | None


def blocks(path: Path) -> list[Block]:
    """The executable blocks of ``path`` in order, each with its skip reason (if marked)."""
    text = path.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = SKIP.search(before)
        line = text.count("\n", 0, match.start()) + 1
        found.append(Block(match.group(1), match.group(2), line, marker.group("reason") if marker else None))
    return found


def _setup(folder: Path) -> None:
    """The sample data the docs talk about: the demo collection as ``micrographs/`` (as docs/build.md made it)."""
    write_demo_collection(folder / "micrographs", images_per_specimen=4, shape=(400, 600), specimens_per_class=4)


def _shell(code: str, language: str) -> str:
    if language != "console":
        return code
    return "\n".join(line[2:] for line in code.splitlines() if line.startswith("$ "))


def _run(block: Block, folder: Path, namespace: dict[str, object], env: dict[str, str], name: str) -> None:
    where = f"{name}:{block.line}"
    if block.language == "python":
        cwd = os.getcwd()
        os.chdir(folder)
        try:
            exec(compile(block.code, where, "exec"), namespace)  # noqa: S102 - our own docs
        except Exception as exc:
            raise AssertionError(f"{where} (python) failed: {exc!r}\n{block.code}") from exc
        finally:
            os.chdir(cwd)
        return
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", _shell(block.code, block.language)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"{where} ({block.language}) failed:\n{block.code}\n--- stderr:\n{result.stderr}"


def _params() -> list[object]:
    marks = {name: [pytest.mark.slow] if name in HEAVY else [] for name in (p.name for p in FILES)}
    return [pytest.param(p, id=p.name, marks=marks[p.name]) for p in FILES if blocks(p)]


@pytest.mark.parametrize("path", _params())
def test_every_block_of_the_doc_runs(path, tmp_path, record_property):
    if any(b.skip is None and "micrographs" in b.code for b in blocks(path)):
        _setup(tmp_path)
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "HF_HUB_OFFLINE": "1",
        "FAIRMICRO_CREATOR": "Josiah Carberry <0000-0002-1825-0097>",
    }
    env.pop("FAIRMICRO_CATALOG", None)
    namespace: dict[str, object] = {"__name__": "__docs__"}
    ran, skipped = 0, []
    for block in blocks(path):
        if block.skip:
            skipped.append(f"{path.name}:{block.line} ({block.skip})")
            continue
        _run(block, tmp_path, namespace, env, path.name)
        ran += 1
    record_property("docs_blocks_run", ran)
    record_property("docs_blocks_skipped", len(skipped))
    print(f"{path.name}: {ran} block(s) ran, {len(skipped)} skipped: {'; '.join(skipped) or 'none'}")


def test_skip_markers_name_a_reason_and_sit_right_before_a_block():
    for path in FILES:
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            if "docs-test:" in line:
                assert SKIP.search(line), f"{path.name}:{number + 1}: write <!-- docs-test: skip (reason) -->"
                following = lines[number + 1] if number + 1 < len(lines) else ""
                assert FENCE.match(following + "\n\n```\n") or following.startswith("```"), (
                    f"{path.name}:{number + 1}: the marker must be the line right before the block"
                )


def test_most_blocks_run():
    """Skips are the exception: the docs are tested, not just marked."""
    every = [b for p in FILES for b in blocks(p)]
    assert sum(b.skip is None for b in every) >= 3

"""Docs that cannot drift: every ```bash/```sh/```console and ```python block of README.md and docs/*.md
runs, in order per file, in a temporary folder holding what the doc assumes the user has (generated
sample data, a local Hub, tiny models, a shared catalog: tests/docs_worlds.py), with ``fairmicro`` on PATH.
Python blocks run in one interpreter per doc; ``fairmicro serve`` lines are served on a free port, a
page is fetched and the server stopped (tests/docs_support.py).

A block that cannot run here (a download, real data, root) carries an HTML comment on the line
before it: ``<!-- docs-test: skip (downloads ImageNet weights) -->``. Skipped blocks are counted and
reported; every other block must succeed. docs/api.md is executed by tests/test_docs_api.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.docs_support import COMMAND_START, SKIP, Block, PythonSession, fenced_blocks, shell_code
from tests.docs_worlds import World, check_effects, micrographs, prepare

ROOT = Path(__file__).resolve().parents[1]
FILES = [ROOT / "README.md", *sorted(p for p in (ROOT / "docs").glob("*.md") if p.name != "api.md")]
# build (and train on) real datasets, start PostgreSQL: slow
HEAVY = {"README.md", "build.md", "ingest.md", "models.md", "publish.md", "qualify.md", "shared-catalog.md", "web.md"}


def blocks(path: Path) -> list[Block]:
    """The executable (shell and Python) blocks of ``path`` in order, each with its skip reason."""
    return [b for b in fenced_blocks(path) if b.executed]


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    """Tiny random CLIP and FLAVA folders, built once on first use."""
    made: dict[str, Path] = {}

    def build() -> dict[str, Path]:
        if not made:
            pytest.importorskip("transformers")
            from fairmicro.models.qualifier.tiny import build_tiny_clip, build_tiny_flava

            folder = tmp_path_factory.mktemp("tiny-models")
            made.update(clip=build_tiny_clip(folder / "clip"), flava=build_tiny_flava(folder / "flava"))
        return made

    return build


def _environment() -> dict[str, str]:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "HF_HUB_OFFLINE": "1",
        "FAIRMICRO_CREATOR": "Josiah Carberry <0000-0002-1825-0097>",
    }
    for name in ("FAIRMICRO_CATALOG", "FAIRMICRO_DATA_PATH", "HF_ENDPOINT", "HF_TOKEN"):
        env.pop(name, None)
    return env


def _run_shell(block: Block, world: World, where: str) -> None:
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", shell_code(block, sys.executable)],
        cwd=world.folder,
        env=world.env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"{where} ({block.language}) failed:\n{block.code}\n--- stderr:\n{result.stderr}"


def _run_python(block: Block, session: PythonSession, log: Path, where: str) -> None:
    failure = session.run(block.code, where)
    assert failure is None, f"{where} (python) failed:\n{block.code}\n--- {failure}\n--- output:\n{log.read_text()}"


def _params() -> list[object]:
    marks = {p.name: [pytest.mark.slow] if p.name in HEAVY else [] for p in FILES}
    return [pytest.param(p, id=p.name, marks=marks[p.name]) for p in FILES if blocks(p)]


@pytest.mark.parametrize("path", _params())
def test_every_block_of_the_doc_runs(path, tmp_path, tiny_models, record_property):
    todo = blocks(path)
    with ExitStack() as stack:
        world = World(tmp_path / "doc", tmp_path / "support", _environment(), stack, tiny_models)
        world.folder.mkdir()
        world.support.mkdir()
        started = time.monotonic()
        prepare(path.name, world)
        if not (world.folder / "micrographs").exists() and any(not b.skip and "micrographs" in b.code for b in todo):
            micrographs(world)
        timings = [f"set-up {time.monotonic() - started:.0f} s"]
        log = tmp_path / "python-output.txt"
        session = None
        ran, skipped = 0, []
        with log.open("w") as output:
            for block in todo:
                where = f"{path.name}:{block.line}"
                if block.skip:
                    skipped.append(f"{where} ({block.skip})")
                    continue
                started = time.monotonic()
                if block.language == "python":
                    session = session or PythonSession(world.folder, world.env, output)
                    _run_python(block, session, log, where)
                else:
                    _run_shell(block, world, where)
                timings.append(f"{block.line}: {time.monotonic() - started:.0f} s")
                ran += 1
            if session:
                session.close()
        check_effects(path.name, world)
    record_property("docs_blocks_run", ran)
    record_property("docs_blocks_skipped", len(skipped))
    print(
        f"{path.name}: {ran} block(s) ran ({', '.join(timings)}), {len(skipped)} skipped: {'; '.join(skipped) or 'none'}"
    )


def test_skip_markers_name_a_reason_and_sit_right_before_a_block():
    for path in FILES:
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            if "docs-test:" in line:
                assert SKIP.search(line), f"{path.name}:{number + 1}: write <!-- docs-test: skip (reason) -->"
                following = lines[number + 1] if number + 1 < len(lines) else ""
                assert following.lstrip().startswith("```"), (
                    f"{path.name}:{number + 1}: the marker must be the line right before the block"
                )


def test_commands_are_in_tagged_blocks():
    """A block of commands without ```bash (or ```python) would silently escape this test."""
    for path in [*FILES, ROOT / "docs" / "api.md"]:
        for block in fenced_blocks(path):
            first = next((line for line in block.code.splitlines() if line.strip()), "")
            assert block.language or not COMMAND_START.match(first), (
                f"{path.name}:{block.line}: tag the command block ```bash so the docs test runs it"
            )


def test_most_blocks_run():
    """Skips are the exception: the docs are tested, not just marked."""
    every = [b for p in FILES for b in blocks(p)]
    ran, skipped = sum(b.skip is None for b in every), [b.skip or "" for b in every if b.skip]
    assert ran >= 2 * len(skipped), f"{ran} blocks run, {len(skipped)} skipped: {skipped}"
    for reason in skipped:  # these run here now: the local Hub, computed run ids, a throw-away PostgreSQL, serve
        assert not re.search(r"real Hub|run id|needs PostgreSQL|DuckLake|runs until stopped", reason), reason


def test_blocks_are_found_in_lists_and_serve_lines_are_served(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text(
        "1. Step:\n\n   <!-- docs-test: skip (installs from PyPI) -->\n   ```bash\n   pip install x\n   ```\n\n"
        "```console\n$ fairmicro serve --catalog lab.duckdb  # Ctrl+C stops\nserving\n```\n\n```yaml\na: 1\n```\n",
        encoding="utf-8",
    )
    found = fenced_blocks(doc)
    assert [(b.language, b.line, b.skip) for b in found] == [
        ("bash", 4, "installs from PyPI"),
        ("console", 8, None),
        ("yaml", 13, None),
    ]
    assert found[0].code == "pip install x\n" and [b.executed for b in found] == [True, True, False]
    served = shell_code(found[1], "/py")
    assert served.startswith('"/py" "') and served.endswith('docs_support.py" --catalog lab.duckdb  # Ctrl+C stops')

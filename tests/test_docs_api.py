"""docs/api.md cannot drift: every ```python block runs, in order, in one namespace, in an empty folder.

The walk-through generates its own sample data, ingests, queries, builds, trains the texture
baseline with default parameters and evaluates it, so this is also the notebook user's whole chain.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def python_blocks(text: str) -> list[str]:
    """The ```python blocks of a Markdown text, in order."""
    return [match.group(1) for match in BLOCK.finditer(text)]


def test_the_doc_has_the_walk_through_blocks():
    blocks = python_blocks(DOC.read_text(encoding="utf-8"))
    joined = "\n".join(blocks)
    assert len(blocks) >= 7
    for step in ("write_demo_collection", ".ingest(", ".query(", ".df()", "fm.build(", "fm.train(", "fm.evaluate("):
        assert step in joined, step


@pytest.mark.slow
def test_every_python_block_of_docs_api_runs_in_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FAIRMICRO_CATALOG", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for number, block in enumerate(python_blocks(DOC.read_text(encoding="utf-8")), start=1):
        try:
            exec(compile(block, f"docs/api.md block {number}", "exec"), namespace)  # noqa: S102 - the doc is ours
        except Exception as exc:  # name the block that failed
            raise AssertionError(f"docs/api.md python block {number} failed: {exc!r}\n{block}") from exc
    assert (tmp_path / "lab.duckdb").is_file() and (tmp_path / "datasets" / "demo-tiles" / "README.md").is_file()
    assert not (tmp_path / "leak.csv").exists()

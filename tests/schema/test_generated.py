"""Generated code must match the schema: regenerate and diff."""

from __future__ import annotations

import pytest

from fairmicro.schema import SCHEMA_DIR, generate

OUTPUTS = generate.outputs()


@pytest.mark.parametrize("path", list(OUTPUTS), ids=lambda p: p.name)
def test_generated_file_matches_schema(path):
    assert path.exists(), f"{path.name} missing: run python -m fairmicro.schema.generate"
    assert path.read_text(encoding="utf-8") == OUTPUTS[path], (
        f"{path.name} is stale: run python -m fairmicro.schema.generate and commit"
    )


def test_generated_models_carry_do_not_edit_header():
    assert (SCHEMA_DIR / "models.py").read_text(encoding="utf-8").startswith("# generated")

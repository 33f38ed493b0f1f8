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


def test_generated_columns_module_carries_do_not_edit_header():
    assert generate.COLUMNS_PATH.read_text(encoding="utf-8").startswith("# generated")


def test_run_time_facts_equal_what_linkml_derives_from_the_schema():
    from fairmicro.schema import derive

    assert derive.schema_facts() == generate.facts_from_schema()
    assert derive.catalog_ddl() == generate.ddl_source()


def test_run_time_schema_facts_import_no_linkml():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from fairmicro.schema import derive\n"
        "derive.catalog_ddl(); derive.slot_columns(); derive.class_columns('Specimen')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('linkml', 'linkml_runtime')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

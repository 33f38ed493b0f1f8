"""Regenerate every artifact derived from ``fairmicro.yaml`` (dev tool).

Run ``python -m fairmicro.schema.generate`` after editing the schema and
commit the result; ``tests/schema/test_generated.py`` fails on any drift.
Needs the ``linkml`` package (the ``[dev]`` extra).
"""

from __future__ import annotations

import sys
from pathlib import Path

from fairmicro.schema import DDL_PATH, SCHEMA_DIR, SCHEMA_PATH

HEADER = "# generated from fairmicro.yaml by fairmicro.schema.generate; do not edit\n"


def pydantic_source() -> str:
    """The pydantic models, with the do-not-edit header."""
    from linkml.generators.pydanticgen import PydanticGenerator

    code = PydanticGenerator(str(SCHEMA_PATH), metadata_mode=None).serialize()
    return HEADER + code


def json_schema_source() -> str:
    """The JSON Schema of the whole model."""
    from linkml.generators.jsonschemagen import JsonSchemaGenerator

    return JsonSchemaGenerator(str(SCHEMA_PATH), top_class="Image").serialize() + "\n"


def shacl_source() -> str:
    """SHACL shapes of the model."""
    from linkml.generators.shaclgen import ShaclGenerator

    return ShaclGenerator(str(SCHEMA_PATH)).serialize()


def ddl_source() -> str:
    """The DuckDB DDL (tables, CHECKs, comments)."""
    from fairmicro.schema.derive import catalog_ddl

    return catalog_ddl()


def outputs() -> dict[Path, str]:
    """Every generated file and its expected content."""
    return {
        SCHEMA_DIR / "models.py": pydantic_source(),
        SCHEMA_DIR / "fairmicro.schema.json": json_schema_source(),
        SCHEMA_DIR / "fairmicro.shacl.ttl": shacl_source(),
        DDL_PATH: ddl_source(),
    }


def main() -> int:
    """Write the generated files; with ``--check`` only report drift."""
    check = "--check" in sys.argv[1:]
    stale = []
    for path, text in outputs().items():
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(path)
        if not check:
            path.write_text(text, encoding="utf-8")
    for path in stale:
        sys.stderr.write(f"{'stale' if check else 'wrote'}: {path}\n")
    return 1 if (check and stale) else 0


if __name__ == "__main__":
    raise SystemExit(main())

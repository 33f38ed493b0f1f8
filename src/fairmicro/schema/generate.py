"""Regenerate every artifact derived from ``fairmicro.yaml`` (dev tool).

Run ``python -m fairmicro.schema.generate`` after editing the schema and
commit the result; ``tests/schema/test_generated.py`` fails on any drift.
Needs the ``linkml`` package (the ``[dev]`` extra).
"""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from fairmicro.schema import DDL_PATH, SCHEMA_DIR, SCHEMA_PATH
from fairmicro.schema.derive import SCALAR_TYPES, Column, SchemaFacts, render_ddl

if TYPE_CHECKING:
    from linkml_runtime.utils.schemaview import SchemaView

HEADER = "# generated from fairmicro.yaml by fairmicro.schema.generate; do not edit\n"
COLUMNS_PATH = SCHEMA_DIR / "columns.py"
MODULE_DOCSTRING = '''"""Catalog tables, columns, enums, ranges, units, descriptions and primary keys.

Derived from ``fairmicro.yaml`` so that run-time code never imports LinkML.
Regenerate with ``python -m fairmicro.schema.generate``.
"""

'''


@lru_cache(maxsize=1)
def schema_view() -> SchemaView:
    """The schema, loaded once per process (LinkML; dev and tests only)."""
    from linkml_runtime.utils.schemaview import SchemaView

    return SchemaView(str(SCHEMA_PATH))


def _sql_type(view: SchemaView, range_name: str) -> tuple[str, tuple[str, ...]]:
    if range_name in view.all_enums():
        values = tuple(view.get_enum(range_name).permissible_values)
        return "VARCHAR", values
    if range_name in view.all_types() and range_name not in SCALAR_TYPES:
        type_def = view.get_type(range_name)
        override = type_def.annotations.get("duckdb_type")
        if override is not None:
            return override.value, ()
        return _sql_type(view, type_def.typeof)
    if range_name in view.all_classes():
        return "VARCHAR", ()  # a reference holds the referenced identifier
    return SCALAR_TYPES[range_name], ()


def _class_columns(view: SchemaView, class_name: str) -> tuple[Column, ...]:
    columns = []
    for slot in view.class_induced_slots(class_name):
        sql_type, enum_values = _sql_type(view, slot.range or "string")
        columns.append(
            Column(
                name=slot.name,
                sql_type=sql_type,
                description=(slot.description or "").strip(),
                unit=slot.unit.ucum_code if slot.unit else None,
                required=bool(slot.required or slot.identifier),
                enum_values=enum_values,
                minimum=slot.minimum_value,
                maximum=slot.maximum_value,
            )
        )
    return tuple(columns)


def _primary_key(view: SchemaView, class_name: str) -> tuple[str, ...]:
    key = view.get_class(class_name).annotations.get("key")
    if key is not None:
        return tuple(part.strip() for part in key.value.split(","))
    return tuple(s.name for s in view.class_induced_slots(class_name) if s.identifier)


def facts_from_schema() -> SchemaFacts:
    """Column facts of every schema class, computed from ``fairmicro.yaml`` with LinkML."""
    view = schema_view()
    classes = view.all_classes(ordered_by="preserve")
    tables = {}
    for name, cls in classes.items():
        table = cls.annotations.get("catalog_table")
        if table is not None:
            tables[table.value] = name
    return SchemaFacts(
        tables=tables,
        descriptions={name: (cls.description or "").strip() for name, cls in classes.items()},
        primary_keys={name: _primary_key(view, name) for name in classes},
        columns={name: _class_columns(view, name) for name in classes},
    )


def _number(value: object) -> int | float | None:
    """A LinkML ``extended_int``/``extended_float`` as a plain Python number."""
    if value is None:
        return None
    return int(value) if isinstance(value, int) else float(value)  # type: ignore[arg-type]


def _column_literal(column: Column) -> str:
    fields = (
        f"name={str(column.name)!r}",
        f"sql_type={str(column.sql_type)!r}",
        f"description={str(column.description)!r}",
        f"unit={None if column.unit is None else str(column.unit)!r}",
        f"required={column.required!r}",
        f"enum_values={tuple(str(v) for v in column.enum_values)!r}",
        f"minimum={_number(column.minimum)!r}",
        f"maximum={_number(column.maximum)!r}",
    )
    return f"Column({', '.join(fields)})"


def _mapping_literal(name: str, annotation: str, items: dict[str, str]) -> str:
    body = "".join(f"    {key!r}: {value},\n" for key, value in items.items())
    return f"{name}: {annotation} = {{\n{body}}}\n"


def columns_source() -> str:
    """The generated module of column facts read at run time by :mod:`fairmicro.schema.derive`."""
    facts = facts_from_schema()
    columns = {
        name: "(\n" + "".join(f"        {_column_literal(c)},\n" for c in cols) + "    )"
        for name, cols in facts.columns.items()
    }
    parts = [
        HEADER,
        MODULE_DOCSTRING,
        "from __future__ import annotations\n\n",
        "from fairmicro.schema.derive import Column\n\n",
        _mapping_literal("TABLES", "dict[str, str]", {t: repr(str(c)) for t, c in facts.tables.items()}),
        "\n",
        _mapping_literal(
            "CLASS_DESCRIPTIONS",
            "dict[str, str]",
            {c: repr(str(d)) for c, d in facts.descriptions.items()},
        ),
        "\n",
        _mapping_literal(
            "PRIMARY_KEYS",
            "dict[str, tuple[str, ...]]",
            {c: repr(tuple(str(k) for k in key)) for c, key in facts.primary_keys.items()},
        ),
        "\n",
        _mapping_literal("CLASS_COLUMNS", "dict[str, tuple[Column, ...]]", columns),
    ]
    return "".join(parts)


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
    return render_ddl(facts_from_schema())


def outputs() -> dict[Path, str]:
    """Every generated file and its expected content."""
    return {
        SCHEMA_DIR / "models.py": pydantic_source(),
        SCHEMA_DIR / "fairmicro.schema.json": json_schema_source(),
        SCHEMA_DIR / "fairmicro.shacl.ttl": shacl_source(),
        DDL_PATH: ddl_source(),
        COLUMNS_PATH: columns_source(),
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

"""Artifacts derived from the LinkML schema by one function each.

Only `linkml-runtime` is needed here; the LinkML generators (pydantic, JSON
Schema, SHACL) are a dev tool used by :mod:`fairmicro.schema.generate`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from linkml_runtime.utils.schemaview import SchemaView

from fairmicro.schema import SCHEMA_PATH

SCALAR_TYPES = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "float": "DOUBLE",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "datetime": "TIMESTAMP",
    "date": "DATE",
    "uri": "VARCHAR",
}


@dataclass(frozen=True)
class Column:
    """One catalog column, as the schema states it."""

    name: str
    sql_type: str
    description: str
    unit: str | None
    required: bool
    enum_values: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None


@lru_cache(maxsize=1)
def schema_view() -> SchemaView:
    """The schema, loaded once per process."""
    return SchemaView(str(SCHEMA_PATH))


def catalog_tables() -> dict[str, str]:
    """Map catalog table name -> schema class name, in schema order."""
    view = schema_view()
    tables = {}
    for name, cls in view.all_classes(ordered_by="preserve").items():
        table = cls.annotations.get("catalog_table")
        if table is not None:
            tables[table.value] = name
    return tables


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


def class_columns(class_name: str) -> list[Column]:
    """The columns of the catalog table of one schema class."""
    view = schema_view()
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
    return columns


def primary_key(class_name: str) -> list[str]:
    """Primary-key columns: the identifier slot or the `key` annotation."""
    view = schema_view()
    key = view.get_class(class_name).annotations.get("key")
    if key is not None:
        return [part.strip() for part in key.value.split(",")]
    return [s.name for s in view.class_induced_slots(class_name) if s.identifier]


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _column_sql(column: Column) -> str:
    parts = [f"    {column.name} {column.sql_type}"]
    if column.required:
        parts.append("NOT NULL")
    checks = []
    if column.enum_values:
        values = ", ".join(_quote(v) for v in column.enum_values)
        checks.append(f"{column.name} IN ({values})")
    if column.minimum is not None:
        checks.append(f"{column.name} >= {column.minimum}")
    if column.maximum is not None:
        checks.append(f"{column.name} <= {column.maximum}")
    if checks:
        parts.append(f"CHECK ({' AND '.join(checks)})")
    return " ".join(parts)


def column_comment(column: Column) -> str:
    """Description with the unit, as used in COMMENTs and docs."""
    unit = f" [{column.unit}]" if column.unit and column.unit != "1" else ""
    return f"{column.description}{unit}"


def table_ddl(table: str, class_name: str) -> str:
    """CREATE TABLE and COMMENT statements for one class."""
    columns = class_columns(class_name)
    lines = [_column_sql(c) for c in columns]
    lines.append(f"    PRIMARY KEY ({', '.join(primary_key(class_name))})")
    description = schema_view().get_class(class_name).description or ""
    statements = [f"CREATE TABLE {table} (\n" + ",\n".join(lines) + "\n);"]
    statements.append(f"COMMENT ON TABLE {table} IS {_quote(description.strip())};")
    for column in columns:
        statements.append(
            f"COMMENT ON COLUMN {table}.{column.name} IS {_quote(column_comment(column))};"
        )
    return "\n".join(statements)


def catalog_ddl() -> str:
    """The DuckDB DDL of every catalog table, derived from the schema."""
    header = "-- generated from fairmicro.yaml by fairmicro.schema.generate; do not edit\n"
    body = "\n\n".join(table_ddl(t, c) for t, c in catalog_tables().items())
    return header + body + "\n"


def slot_columns() -> dict[str, Column]:
    """Every slot that is a catalog column, by name (first class wins)."""
    found: dict[str, Column] = {}
    for class_name in catalog_tables().values():
        for column in class_columns(class_name):
            found.setdefault(column.name, column)
    return found

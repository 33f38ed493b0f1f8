"""Catalog facts derived from the LinkML schema, read from generated code.

The column records, enums, ranges, units, descriptions and primary keys of
every schema class are computed from ``fairmicro.yaml`` by
:mod:`fairmicro.schema.generate` (a dev tool that uses LinkML) and committed
as :mod:`fairmicro.schema.columns`. Run-time code reads them here, so no
command imports LinkML; ``tests/schema/test_generated.py`` fails when the
generated module drifts from the schema.

The DuckDB DDL is rendered from the same facts by one function
(:func:`render_ddl`), used both by the generator and at run time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType

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


@dataclass(frozen=True)
class SchemaFacts:
    """Everything run-time code needs from the schema, per class.

    Attributes
    ----------
    tables
        Catalog table name -> schema class name, in schema order.
    descriptions
        Schema class name -> class description.
    primary_keys
        Schema class name -> primary-key column names.
    columns
        Schema class name -> its columns (induced slots), in schema order.
    """

    tables: Mapping[str, str]
    descriptions: Mapping[str, str]
    primary_keys: Mapping[str, tuple[str, ...]]
    columns: Mapping[str, tuple[Column, ...]]


def _generated() -> ModuleType:
    from fairmicro.schema import columns

    return columns


@lru_cache(maxsize=1)
def schema_facts() -> SchemaFacts:
    """The committed facts generated from ``fairmicro.yaml`` (no LinkML import)."""
    module = _generated()
    return SchemaFacts(
        tables=module.TABLES,
        descriptions=module.CLASS_DESCRIPTIONS,
        primary_keys=module.PRIMARY_KEYS,
        columns=module.CLASS_COLUMNS,
    )


def catalog_tables() -> dict[str, str]:
    """Map catalog table name -> schema class name, in schema order."""
    return dict(schema_facts().tables)


def class_columns(class_name: str) -> list[Column]:
    """The columns of the catalog table of one schema class.

    Raises
    ------
    KeyError
        When the schema has no class of that name.
    """
    return list(schema_facts().columns[class_name])


def primary_key(class_name: str) -> list[str]:
    """Primary-key columns: the identifier slot or the `key` annotation."""
    return list(schema_facts().primary_keys[class_name])


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


def _table_ddl(facts: SchemaFacts, table: str, class_name: str) -> str:
    columns = facts.columns[class_name]
    lines = [_column_sql(c) for c in columns]
    lines.append(f"    PRIMARY KEY ({', '.join(facts.primary_keys[class_name])})")
    description = facts.descriptions.get(class_name, "")
    statements = [f"CREATE TABLE {table} (\n" + ",\n".join(lines) + "\n);"]
    statements.append(f"COMMENT ON TABLE {table} IS {_quote(description.strip())};")
    for column in columns:
        statements.append(f"COMMENT ON COLUMN {table}.{column.name} IS {_quote(column_comment(column))};")
    return "\n".join(statements)


def table_ddl(table: str, class_name: str) -> str:
    """CREATE TABLE and COMMENT statements for one class."""
    return _table_ddl(schema_facts(), table, class_name)


def render_ddl(facts: SchemaFacts) -> str:
    """The DuckDB DDL of every catalog table of ``facts``."""
    header = "-- generated from fairmicro.yaml by fairmicro.schema.generate; do not edit\n"
    body = "\n\n".join(_table_ddl(facts, t, c) for t, c in facts.tables.items())
    return header + body + "\n"


def catalog_ddl() -> str:
    """The DuckDB DDL of every catalog table, derived from the schema."""
    return render_ddl(schema_facts())


def slot_columns() -> dict[str, Column]:
    """Every slot that is a catalog column, by name (first class wins)."""
    found: dict[str, Column] = {}
    for class_name in catalog_tables().values():
        for column in class_columns(class_name):
            found.setdefault(column.name, column)
    return found

"""Regenerate every artifact derived from ``fairmicro.yaml`` (dev tool).

Run ``python -m fairmicro.schema.generate`` after editing the schema and
commit the result; ``tests/schema/test_generated.py`` fails on any drift.
Needs the ``linkml`` package (the ``[dev]`` extra).
"""

from __future__ import annotations

import sys
from enum import Enum
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from fairmicro.schema import DDL_PATH, SCHEMA_DIR, SCHEMA_PATH
from fairmicro.schema.derive import SCALAR_TYPES, Column, SchemaFacts, render_ddl

if TYPE_CHECKING:
    from linkml_runtime.utils.schemaview import SchemaView

HEADER = "# generated from fairmicro.yaml by fairmicro.schema.generate; do not edit\n"
COLUMNS_PATH = SCHEMA_DIR / "columns.py"
INGEST_RECORDS_PATH = SCHEMA_DIR / "ingest_records.py"
INGEST_CLASSES = ("Instrument", "ImagingConditions", "Image", "ImageFile", "FieldSource")
MODULE_DOCSTRING = '''"""Catalog tables, columns, enums, ranges, units, descriptions and primary keys.

Derived from ``fairmicro.yaml`` so that run-time code never imports LinkML.
Regenerate with ``python -m fairmicro.schema.generate``.
"""

'''

INGEST_RECORDS_HEAD = '''"""The records ingest writes, validated without the pydantic model graph.

Each class validates with pydantic-core and the core schema pydantic builds for
the model of the same name in ``models.py`` (same conversions, same errors),
so ingest imports neither pydantic nor the other models. Regenerate with
``python -m fairmicro.schema.generate``.
"""

from __future__ import annotations

from enum import Enum
from operator import attrgetter
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic_core import SchemaValidator
'''
INGEST_RECORDS_BASE = '''

class Record:
    """A validated record: built and assigned through its class's ``validator``, like a pydantic model."""

    __slots__ = ("__dict__", "model_fields_set")
    model_fields: ClassVar[dict[str, None]]
    validator: ClassVar[SchemaValidator]
    model_fields_set: set[str]

    if TYPE_CHECKING:  # fields live in __dict__, set by the validator; the models in models.py name their types

        def __getattr__(self, name: str) -> Any: ...

    def __init__(self, **values: Any) -> None:
        fields, _, fields_set = self.validator.validate_python(values)
        object.__setattr__(self, "__dict__", fields)
        object.__setattr__(self, "model_fields_set", fields_set)

    def __setattr__(self, name: str, value: Any) -> None:
        fields, _, _ = self.validator.validate_assignment(self.__dict__, name, value)
        object.__setattr__(self, "__dict__", fields)
        self.model_fields_set.add(name)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record):
            return NotImplemented
        return type(self) is type(other) and self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]

    def __getstate__(self) -> tuple[dict[str, Any], set[str]]:
        return self.__dict__, self.model_fields_set

    def __setstate__(self, state: tuple[dict[str, Any], set[str]]) -> None:  # as validated when pickled
        object.__setattr__(self, "__dict__", state[0])
        object.__setattr__(self, "model_fields_set", state[1])

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.__dict__.items())})"

    def model_dump(self) -> dict[str, Any]:
        """The fields as a dict."""
        return dict(self.__dict__)
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


def _models_module(code: str) -> ModuleType:
    """The generated pydantic models of ``code``, executed as a module of their own."""
    name = "_fairmicro_generated_models"
    module = ModuleType(name)
    sys.modules[name] = module
    try:
        exec(compile(code, name, "exec"), module.__dict__)  # noqa: S102 - our own generated code
    finally:
        del sys.modules[name]
    return module


_DROPPED_KEYS = frozenset({"metadata", "ref", "serialization"})  # JSON Schema and serialisation only


def _literal(value: object, enums: dict[str, type[Enum]]) -> str:
    """``value`` (a piece of a pydantic-core schema) as Python source; enums are collected in ``enums``."""
    if isinstance(value, dict):
        items = (f"{key!r}: {_literal(item, enums)}" for key, item in value.items() if key not in _DROPPED_KEYS)
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_literal(item, enums) for item in value) + "]"
    if isinstance(value, type) and issubclass(value, Enum):
        enums[value.__name__] = value
        return value.__name__
    if isinstance(value, Enum):
        enums[type(value).__name__] = type(value)
        return f"{type(value).__name__}.{value.name}"
    if repr(value) == "operator.attrgetter('value')":  # use_enum_values: an enum member is stored as its value
        return "attrgetter('value')"
    if value is None or isinstance(value, str | int | float | bool):
        return repr(value)
    raise TypeError(f"cannot write {value!r} of a pydantic-core schema as source")


def _enum_source(enum: type[Enum]) -> str:
    members = "".join(f"    {member.name} = {member.value!r}\n" for member in enum)
    return f"\n\nclass {enum.__name__}(str, Enum):\n    {_docstring(enum)}\n\n{members}"


def _docstring(cls: type) -> str:
    return '"""' + " ".join((cls.__doc__ or cls.__name__).split()) + '"""'


def _record_class_source(model: type, enums: dict[str, type[Enum]]) -> str:
    core = model.__pydantic_core_schema__  # type: ignore[attr-defined]
    fields = _literal(core["schema"], enums)
    return (
        f"\n\nclass {model.__name__}(Record):\n    {_docstring(model)}\n\n    __slots__ = ()\n"
        f"    model_fields: ClassVar[dict[str, None]] = dict.fromkeys({tuple(core['schema']['fields'])!r})\n"
        f"    validator: ClassVar[SchemaValidator] = SchemaValidator(\n        {fields},\n"
        f"        {_literal(core['config'], enums)},\n    )\n"
    )


def ingest_records_source() -> str:
    """Records ingest writes, validated by pydantic-core with the generated models' own core schemas.

    Ingest then imports neither pydantic nor the whole model graph (about 0.4 s
    of every run); the validators are the very ones pydantic builds, so they
    accept, convert and reject exactly as the models do.
    """
    module = _models_module(pydantic_source())
    enums: dict[str, type[Enum]] = {}
    classes = "".join(_record_class_source(getattr(module, name), enums) for name in INGEST_CLASSES)
    return (
        HEADER
        + INGEST_RECORDS_HEAD
        + "".join(_enum_source(enum) for enum in enums.values())
        + INGEST_RECORDS_BASE
        + classes
    )


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
        INGEST_RECORDS_PATH: ingest_records_source(),
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

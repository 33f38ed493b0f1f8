"""The catalog's verb API: open, add, query; SQL values are always bound parameters."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import duckdb

from fairmicro._lazy import lazy_module
from fairmicro.catalog.binding import execute_bound
from fairmicro.catalog.builds import BuildsMixin
from fairmicro.catalog.bulk import JSON_TEXTS as _JSON_TEXTS
from fairmicro.catalog.bulk import insert_json, json_columns, json_texts
from fairmicro.catalog.connection import connect, resolve_catalog_path
from fairmicro.catalog.frames import QueryResult
from fairmicro.catalog.migrations import available_migrations, migrate
from fairmicro.catalog.runs import RunsMixin
from fairmicro.errors import CatalogError
from fairmicro.schema.derive import schema_facts

if TYPE_CHECKING:
    import pydantic

    from fairmicro.catalog.records import ImageBundle
    from fairmicro.schema import ingest_records, models
else:  # `query` never needs the generated pydantic models: load them on first use
    models = lazy_module("fairmicro.schema.models")
    ingest_records = lazy_module("fairmicro.schema.ingest_records")  # ingest's records: no pydantic import


def utcnow() -> datetime:
    """Naive UTC now, as stored in TIMESTAMP columns."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class KnownFile:
    """A path the catalog has seen, with the size and mtime it had then."""

    sha256: str
    size_bytes: int | None
    modified_at: datetime | None


VIEW = "image_metadata"
CORE_VIEW = "image_metadata_core"  # the schema's columns; image_metadata adds the lab columns
LAB_COLUMNS_TABLE = "specimen_columns"
SAFE_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]{0,62}")
VIEW_COMMENT = (
    "One row per image: file facts, instrument, imaging conditions (units in column names), specimen and "
    "label, then the lab columns of specimen tables. See docs/catalog.md."
)
ROWS_PER_STATEMENT = 200  # one multi-row INSERT is far faster than executemany in DuckDB


def _insert(
    con: duckdb.DuckDBPyConnection,
    table: str,
    model: type[pydantic.BaseModel | ingest_records.Record],
    records: Iterable[pydantic.BaseModel] | Iterable[ingest_records.Record],
    conflict: str | None = "DO NOTHING",
) -> None:
    """Insert validated records with bound parameters (``conflict=None``: no ON CONFLICT clause).

    Each column is bound as one typed list and the lists are unnested in a
    single statement: DuckDB binds a few lists ~20x faster than a VALUES
    clause of thousands of placeholders (the column types come from the schema).
    """
    columns = list(model.model_fields)
    rows = [[getattr(r, name) for name in columns] for r in records]
    if not rows:
        return
    schema_columns = schema_facts().columns.get(model.__name__)
    types = {c.name: c.sql_type for c in schema_columns or ()}
    if not set(columns) <= set(types):
        _insert_rows(con, table, columns, rows, conflict)
        return
    payload = json_columns(columns, rows)
    if payload is not None:  # one bound JSON text: ~40x faster than binding lists value by value
        insert_json(con, table, {name: types[name] for name in columns}, payload, conflict)
        return
    selects = ", ".join(f"unnest(?::{types[name]}[]) AS {name}" for name in columns)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM (SELECT {selects})"
    sql += f" ON CONFLICT {conflict}" if conflict else ""
    execute_bound(con, sql, [list(values) for values in zip(*rows, strict=True)])


def _insert_rows(
    con: duckdb.DuckDBPyConnection, table: str, columns: list[str], rows: list[list[Any]], conflict: str | None
) -> None:
    """Insert rows as multi-row VALUES (for a model the schema does not describe)."""
    row_placeholder = "(" + ", ".join("?" for _ in columns) + ")"
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        chunk = rows[start : start + ROWS_PER_STATEMENT]
        values = ", ".join(row_placeholder for _ in chunk)
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values}"
        sql += f" ON CONFLICT {conflict}" if conflict else ""
        execute_bound(con, sql, [value for row in chunk for value in row])


FAIRMICRO_LEDGER = "schema_migrations"
FIRST_MIGRATION = "0001_initial"


def refuse_foreign_database(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Refuse a DuckDB database that holds tables but is not a fairmicro catalog, before anything writes to it.

    A database with no tables (a new file, or one whose first migration was
    interrupted) is a catalog still to be created; one whose
    ``schema_migrations`` records fairmicro's first migration is a catalog.

    Raises
    ------
    CatalogError
        Naming the file and some of its tables; the file is left unchanged.
    """
    _refuse_foreign(con, path, *catalog_state(con))


_RELATIONS_SQL = (  # what information_schema.tables lists for this database (tables and views), read directly
    "SELECT table_name AS name FROM duckdb_tables() WHERE database_name = current_database() "
    "AND schema_name NOT IN ('information_schema', 'pg_catalog') UNION ALL "
    "SELECT view_name FROM duckdb_views() WHERE database_name = current_database() AND NOT internal "
    "AND schema_name NOT IN ('information_schema', 'pg_catalog') ORDER BY name"
)


def catalog_state(con: duckdb.DuckDBPyConnection) -> tuple[list[str], list[str] | None]:
    """(tables and views of the database, sorted; the names ``schema_migrations`` records).

    The names are ``None`` when there is no ``schema_migrations`` or it has no
    ``name`` column (another tool's ledger). For a fairmicro catalog one query
    answers both the foreign-database check and which migrations are pending;
    only a database whose ledger lacks fairmicro's first migration has its
    relations listed (information_schema's, read from ``duckdb_tables``/``duckdb_views``).
    """
    names = _ledger_names(con)
    if names is not None and FIRST_MIGRATION in names:
        return [FAIRMICRO_LEDGER], names  # a catalog: the other relations do not matter (one query, not two)
    relations = [row[0] for row in con.execute(_RELATIONS_SQL).fetchall()]
    return relations, names if FAIRMICRO_LEDGER in relations else None


def _ledger_names(con: duckdb.DuckDBPyConnection) -> list[str] | None:
    try:
        return [row[0] for row in con.execute(f"SELECT name FROM {FAIRMICRO_LEDGER}").fetchall()]
    except duckdb.Error:  # no schema_migrations, or another tool's without a name column
        return None


def _refuse_foreign(con: duckdb.DuckDBPyConnection, path: Path, relations: list[str], names: list[str] | None) -> None:
    if names is not None and FIRST_MIGRATION in names:
        return
    foreign = [name for name in relations if name != FAIRMICRO_LEDGER]
    if not foreign and not (FAIRMICRO_LEDGER in relations and (names if names is not None else _ledger_rows(con))):
        return
    shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
    raise CatalogError(
        f"{path} is a DuckDB database but not a fairmicro catalog (it holds {shown or FAIRMICRO_LEDGER}); "
        "it was left unchanged. Pass --catalog a fairmicro catalog, or a path that does not exist yet"
    )


def checked_pending(con: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    """Refuse a foreign database (:func:`refuse_foreign_database`); return the migrations it still needs."""
    relations, names = catalog_state(con)
    _refuse_foreign(con, path, relations, names)
    done = set(names or ())
    return [name for name, _ in available_migrations() if name not in done]


def _ledger_rows(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute(f"SELECT count(*) FROM {FAIRMICRO_LEDGER}").fetchone()
    return int(row[0]) if row else 0


class Catalog(RunsMixin, BuildsMixin):
    """One fairmicro catalog (a DuckDB file), opened read-write or read-only.

    Use as a context manager; writes happen inside :meth:`transaction` blocks
    so an interrupted ingest never leaves half an image behind.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path, read_only: bool) -> None:
        self.con = con
        self.path = path
        self.read_only = read_only

    @classmethod
    def open(cls, path: str | Path | None = None, *, read_only: bool = False) -> Catalog:
        """Open (and, when writable, create and migrate) the catalog at ``path``."""
        resolved = resolve_catalog_path(path)
        con = connect(resolved, read_only=read_only)
        try:
            pending = checked_pending(con, resolved)
            if read_only:
                if pending:
                    raise CatalogError(
                        f"{resolved}: catalog needs migrations {', '.join(pending)}; "
                        "run any writing command (e.g. `fairmicro ingest`) once to upgrade it"
                    )
            elif pending:
                migrate(con)
        except BaseException:
            con.close()
            raise
        return cls(con, resolved, read_only)

    @classmethod
    def open_for_reading(cls, path: str | Path | None = None) -> Catalog:
        """Open the catalog read-only for a long read (a build), so other readers keep their turns.

        A catalog that still needs migrations is upgraded first in one short
        writable open. Use :meth:`writing` for the writes at the end.
        """
        resolved = resolve_catalog_path(path)
        con = connect(resolved, read_only=True)
        try:
            stale = bool(checked_pending(con, resolved))
        except BaseException:
            con.close()
            raise
        if not stale:
            return cls(con, resolved, True)
        con.close()
        cls.open(resolved).close()  # applies the migrations
        return cls.open(resolved, read_only=True)

    def close(self) -> None:
        """Close the connection."""
        self.con.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ transactions
    @contextlib.contextmanager
    def transaction(self) -> Iterator[Catalog]:
        """One atomic write: committed when the block ends, rolled back if it raises.

        Nested blocks join the outermost one (a verb that writes atomically on its
        own, e.g. ``add_masks``, can run inside a caller's transaction).
        """
        if getattr(self, "_in_transaction", False):
            yield self
            return
        self.con.execute("BEGIN TRANSACTION")
        self._in_transaction = True
        try:
            yield self
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        finally:
            self._in_transaction = False
        self.con.execute("COMMIT")

    @contextlib.contextmanager
    def writing(self) -> Iterator[Catalog]:
        """This catalog open for writing for one short block.

        A writable catalog yields itself. A read-only one is closed (a process
        cannot hold both kinds of connection to one file) and the file is
        opened for writing, waiting like any other writer, for the block only;
        afterwards this read-only catalog stays closed.
        """
        if not self.read_only:
            yield self
            return
        self.con.close()
        with Catalog.open(self.path) as writer:
            yield writer

    # ------------------------------------------------------------------ reads
    def query(self, sql: str, params: Sequence[Any] | None = None) -> QueryResult:
        """Run one statement and return its result."""
        cursor = execute_bound(self.con, sql, params or [])
        if cursor is None or not cursor.description:  # e.g. COPY FROM DATABASE returns no cursor
            return QueryResult([], [])
        description = cursor.description
        return QueryResult([d[0] for d in description], cursor.fetchall(), [str(d[1]) for d in description])

    def stream(self, sql: str, params: Sequence[Any] | None = None, batch: int = 512) -> Iterator[tuple[Any, ...]]:
        """Rows of a query fetched ``batch`` at a time on their own cursor (never all at once).

        Raises ``duckdb.Error`` from the first fetch, before any row is yielded.
        """
        cursor = self.con.cursor()
        try:
            execute_bound(cursor, sql, list(params or []))
            while rows := cursor.fetchmany(batch):
                yield from rows
        finally:
            cursor.close()

    def columns(self, relation: str) -> list[str]:
        """Column names of a table or view."""
        cursor = self.con.cursor()
        try:
            cursor.execute(f"SELECT * FROM {relation} LIMIT 0")
            return [d[0] for d in cursor.description]
        finally:
            cursor.close()

    def known_files(self, paths: Sequence[Path]) -> dict[str, KnownFile]:
        """The catalog's records of ``paths`` (as given), in one query."""
        rows = execute_bound(
            self.con,
            f"SELECT path, image_sha256, size_bytes, modified_at FROM image_files WHERE path IN {_JSON_TEXTS}",
            [json_texts(str(p) for p in paths)],
        ).fetchall()
        return {row[0]: KnownFile(*row[1:]) for row in rows}

    def seen_files(self, files: Sequence[tuple[str, int, datetime]]) -> dict[str, tuple[str, bool]]:
        """For each ``(path, size, mtime)`` the catalog has a record of: (its sha256, same size and mtime).

        One set-based query; the comparison happens in SQL, so no timestamp
        is converted to Python per row.
        """
        payload = json_columns(["path", "size", "mtime"], files)
        if payload is None:
            raise CatalogError(f"{self.path}: file facts could not be encoded for the catalog query")
        structure = '{"path": "VARCHAR[]", "size": "BIGINT[]", "mtime": "TIMESTAMP[]"}'
        sql = (
            "SELECT f.path, r.image_sha256, coalesce(r.size_bytes = f.size AND r.modified_at = f.mtime, false) "
            "FROM (SELECT unnest(j.path) AS path, unnest(j.size) AS size, unnest(j.mtime) AS mtime "
            f"FROM (SELECT from_json(?::VARCHAR, '{structure}') AS j)) AS f JOIN image_files AS r ON r.path = f.path"
        )
        return {path: (sha, same) for path, sha, same in execute_bound(self.con, sql, [payload]).fetchall()}

    def existing_images(self, shas: Sequence[str]) -> set[str]:
        """Which of ``shas`` are catalogued images, in one query."""
        sql = f"SELECT sha256 FROM images WHERE sha256 IN {_JSON_TEXTS}"
        rows = execute_bound(self.con, sql, [json_texts(shas)]).fetchall()
        return {row[0] for row in rows}

    def image_paths(self, sha256: str) -> list[str]:
        """Every path an image was seen at, most recently seen first."""
        result = self.query(
            "SELECT path FROM image_files WHERE image_sha256 = ? ORDER BY last_seen_at DESC NULLS LAST, path",
            [sha256],
        )
        return [row[0] for row in result.rows]

    # ----------------------------------------------------------------- writes
    def add_images(self, bundles: Iterable[ImageBundle], *, new_only: bool = False) -> None:
        """Insert validated image bundles (call inside a transaction).

        ``new_only``: the caller has checked, in this transaction, that none of
        the images is catalogued; the inserts then skip DuckDB's conflict check
        (about half their cost). An image given twice is inserted once.
        """
        unique: dict[str, ImageBundle] = {}
        for bundle in bundles:
            unique.setdefault(bundle.image.sha256, bundle)
        bundles = list(unique.values())
        now = utcnow()
        instruments = {b.instrument.instrument_id: b.instrument for b in bundles if b.instrument}
        _insert(self.con, "instruments", ingest_records.Instrument, instruments.values())
        for bundle in bundles:
            bundle.image.ingested_at = now
        conflict = None if new_only else "DO NOTHING"
        sources: dict[tuple[str, str], ingest_records.FieldSource] = {}
        for source in (s for b in bundles for s in b.sources):
            sources.setdefault((source.image_sha256, source.slot_name), source)  # the first wins, as DO NOTHING
        _insert(self.con, "images", ingest_records.Image, [b.image for b in bundles], conflict)
        _insert(
            self.con, "imaging_conditions", ingest_records.ImagingConditions, [b.conditions for b in bundles], conflict
        )
        _insert(self.con, "field_sources", ingest_records.FieldSource, list(sources.values()), conflict)

    def record_files(self, files: Iterable[ingest_records.ImageFile]) -> None:
        """Insert or refresh the paths at which images were seen."""
        _insert(
            self.con,
            "image_files",
            ingest_records.ImageFile,
            files,
            "(path) DO UPDATE SET image_sha256 = excluded.image_sha256, size_bytes = excluded.size_bytes, "
            "modified_at = excluded.modified_at, last_seen_at = excluded.last_seen_at",
        )

    def touch_files(self, paths: Sequence[Path | str], seen_at: datetime) -> None:
        """Set ``last_seen_at`` of recorded paths (unchanged files seen again), in one statement."""
        sql = f"UPDATE image_files SET last_seen_at = ? WHERE path IN {_JSON_TEXTS}"
        execute_bound(self.con, sql, [seen_at, json_texts(str(p) for p in paths)])

    def fill_image_labels(self, fills: Sequence[tuple[str, str | None, str | None, str | None]]) -> None:
        """Set specimen and label of existing images where they are still empty, in one statement.

        ``fills`` holds (sha256, specimen_id, label, label_source) rows.
        """
        first = {row[0]: row for row in reversed(fills)}  # one row per image: the first given wins
        if not first:
            return
        columns = list(zip(*first.values(), strict=True))
        execute_bound(
            self.con,
            "UPDATE images SET specimen_id = coalesce(images.specimen_id, f.specimen_id), "
            "label_source = CASE WHEN images.label IS NULL AND f.label IS NOT NULL THEN f.label_source "
            "ELSE images.label_source END, label = coalesce(images.label, f.label) "
            "FROM (SELECT unnest(?) AS sha256, unnest(?) AS specimen_id, unnest(?) AS label, "
            "unnest(?) AS label_source) AS f WHERE images.sha256 = f.sha256",
            [list(c) for c in columns],
        )

    def insert(self, table: str, records: Sequence[pydantic.BaseModel], conflict: str = "DO NOTHING") -> None:
        """Insert validated records of one schema class into ``table``."""
        if records:
            _insert(self.con, table, type(records[0]), records, conflict)

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        """Run one write statement with bound parameters."""
        execute_bound(self.con, sql, params or [])

    def upsert_specimens(self, specimens: Iterable[models.Specimen]) -> None:
        """Insert specimens, or update them with the table's current values."""
        columns = [c for c in models.Specimen.model_fields if c != "specimen_id"]
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns)
        _insert(self.con, "specimens", models.Specimen, specimens, f"(specimen_id) DO UPDATE SET {updates}")

    # ------------------------------------------------------------- lab columns
    def upsert_specimen_columns(self, columns: Iterable[models.SpecimenColumn]) -> None:
        """Register lab columns of a specimen table, or refresh where they were last read from."""
        updates = (
            "source_file = excluded.source_file, source_header = excluded.source_header, "
            "source_unit = excluded.source_unit, value_type = excluded.value_type"
        )
        _insert(self.con, LAB_COLUMNS_TABLE, models.SpecimenColumn, columns, f"(column_name) DO UPDATE SET {updates}")

    def specimen_columns(self) -> list[models.SpecimenColumn]:
        """The registered lab columns, in name order."""
        fields = list(models.SpecimenColumn.model_fields)
        rows = self.con.execute(f"SELECT {', '.join(fields)} FROM {LAB_COLUMNS_TABLE} ORDER BY column_name").fetchall()
        return [models.SpecimenColumn(**dict(zip(fields, row, strict=True))) for row in rows]

    def refresh_image_metadata(self) -> list[models.SpecimenColumn]:
        """Re-create ``image_metadata`` with one typed column per registered lab column.

        A column is ``number`` (DOUBLE) when every specimen's value of it is a
        number, else ``text`` (VARCHAR); the registry is updated to match.
        Names are checked to be safe identifiers before they enter the DDL.
        Call inside a transaction. Returns the lab columns of the view.
        """
        columns = self._retyped_lab_columns()
        self.upsert_specimen_columns(columns)
        selects = ["core.*"]
        core = set(self.columns(CORE_VIEW))
        for column in columns:
            if not SAFE_IDENTIFIER.fullmatch(column.column_name) or column.column_name in core:
                raise CatalogError(f"{self.path}: specimen_columns holds an unsafe column name {column.column_name!r}")
            value = f"json_extract_string(core.specimen_attributes, '$.{column.column_name}')"
            if column.value_type == "number":
                value = f"TRY_CAST({value} AS DOUBLE)"
            selects.append(f'{value} AS "{column.column_name}"')
        self.con.execute(f"CREATE OR REPLACE VIEW {VIEW} AS SELECT {', '.join(selects)} FROM {CORE_VIEW} AS core")
        self.con.execute(f"COMMENT ON VIEW {VIEW} IS '{VIEW_COMMENT}'")
        return columns

    def _retyped_lab_columns(self) -> list[models.SpecimenColumn]:
        text: set[str] = set()
        for (attributes,) in self.con.execute(
            "SELECT attributes FROM specimens WHERE attributes IS NOT NULL"
        ).fetchall():
            for key, value in json.loads(attributes).items():
                if not isinstance(value, (int, float)) or isinstance(value, bool):
                    text.add(key)
        return [
            c.model_copy(update={"value_type": "text"}) if c.column_name in text else c for c in self.specimen_columns()
        ]

    def add_publication(self, publication: models.Publication) -> bool:
        """Record one Hub publication; False when the same one is already recorded."""
        known = execute_bound(
            self.con, "SELECT 1 FROM publications WHERE publication_id = ?", [publication.publication_id]
        ).fetchone()
        if not known:
            _insert(self.con, "publications", models.Publication, [publication])
        return not known

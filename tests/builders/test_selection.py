"""The selection's SQL: user-given names and values are bound, never written into the query."""

from __future__ import annotations

import json

import duckdb
import pytest

from fairmicro.catalog.selection import ATTRIBUTE_SQL, Selection, attribute_path

ODD_KEYS = [
    "batch",
    "Primary microconstituent",
    "it's",
    'say "hi"',
    "back\\slash",
    "a.b",
    "x') OR ('1",
]


def test_specimen_table_columns_are_bound_ahead_of_the_predicates_parameters() -> None:
    selection = Selection("material = ? AND bit_depth >= ?", ("HCCI", 8))
    sql, params = selection.query(["sha256", "it's", "label", 'say "hi"'], attributes={"it's", 'say "hi"'})
    # the names stand only as quoted output identifiers; their JSON paths are parameters
    assert f'{ATTRIBUTE_SQL} AS "it\'s", "label", {ATTRIBUTE_SQL} AS "say ""hi"""' in sql
    assert "$." not in sql
    assert params == (attribute_path("it's"), attribute_path('say "hi"'), "HCCI", 8)


def test_a_selection_without_attributes_binds_only_its_own_parameters() -> None:
    sql, params = Selection("material = ?", ("HCCI",)).query(["sha256", "label"])
    assert "?" not in sql.replace("material = ?", "")
    assert params == ("HCCI",)


@pytest.mark.parametrize("key", ODD_KEYS)
def test_attribute_path_reads_exactly_that_key(key: str) -> None:
    attributes = {k: f"value of {k}" for k in ODD_KEYS}
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT ?::JSON AS specimen_attributes", [json.dumps(attributes)])
    value = con.execute(f"SELECT {ATTRIBUTE_SQL} FROM t", [attribute_path(key)]).fetchone()
    assert value == (f"value of {key}",)

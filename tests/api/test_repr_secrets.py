"""A notebook shows a catalog handle's location, never the DSN's password."""

from __future__ import annotations

from pathlib import Path

import fairmicro as fm


def test_repr_of_a_shared_catalog_hides_the_password() -> None:
    handle = fm.Catalog(Path("ducklake:postgres:dbname=lab host=db user=steward password=s3cret"), read_only=True)
    shown = repr(handle)
    assert "s3cret" not in shown
    assert "dbname=lab" in shown and "password=***" in shown

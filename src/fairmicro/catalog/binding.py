"""Bound parameters without importing pandas.

DuckDB's Python client imports pandas (when installed) as soon as a statement
is executed with parameters, only to check whether a value is a pandas object.
That import costs about a second and drags pyarrow in, on every
``fairmicro ingest``. While pandas has not been imported no value can be a
pandas object, so for the duration of such a call pandas is marked as
unavailable (``sys.modules["pandas"] = None``, which makes the import fail at
once: DuckDB asks again for every bound value). Afterwards the mark is
removed, so a later ``import pandas`` works as usual, and a pandas already
loaded is left alone (DuckDB then uses it as before).

The mark is process-wide for the length of one ``execute``: a thread that
imports pandas for the first time in that instant gets an ImportError. The
catalog's writers run in one thread, so nothing in fairmicro does.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb

_GATED = "pandas"
_lock = threading.Lock()
_depth = 0


@contextlib.contextmanager
def pandas_not_imported() -> Iterator[None]:
    """Within the block DuckDB cannot import pandas (unless it is already imported)."""
    if not _mark():
        yield
        return
    try:
        yield
    finally:
        _unmark()


def _mark() -> bool:
    global _depth
    with _lock:
        if _depth == 0 and _GATED in sys.modules:
            return False  # pandas is loaded (or someone else blocked it): leave it be
        sys.modules[_GATED] = None  # type: ignore[assignment]
        _depth += 1
        return True


def _unmark() -> None:
    global _depth
    with _lock:
        _depth -= 1
        if _depth == 0 and sys.modules.get(_GATED, False) is None:
            del sys.modules[_GATED]


def execute_bound(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | dict[str, Any]
) -> duckdb.DuckDBPyConnection:
    """``con.execute(sql, params)`` without the pandas import (see the module docstring)."""
    with pandas_not_imported():
        return con.execute(sql, params)

"""Bound parameters without importing pandas.

DuckDB's Python client imports pandas (when installed) the first time a
statement is executed with parameters, only to check whether a value is a
pandas object. That import costs about a second and drags pyarrow in, on
every ``fairmicro ingest``. While pandas has not been imported no value can
be a pandas object, so for the duration of such a call, in the calling
thread only, the import is refused. Nothing else is affected: other threads,
later imports and a pandas already loaded (then DuckDB uses it as before).
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator, Sequence
from importlib.abc import MetaPathFinder
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb

_GATED = "pandas"
_state = threading.local()


class _PandasGate(MetaPathFinder):
    """Refuses ``import pandas`` in a thread that is inside :func:`pandas_not_imported`."""

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> None:
        if fullname == _GATED and getattr(_state, "depth", 0):
            raise ModuleNotFoundError(f"{_GATED} is not imported while binding parameters", name=_GATED)


_GATE = _PandasGate()


@contextlib.contextmanager
def pandas_not_imported() -> Iterator[None]:
    """Within the block, in this thread, DuckDB cannot import pandas (unless already imported)."""
    if _GATED in sys.modules:
        yield
        return
    if _GATE not in sys.meta_path:
        sys.meta_path.insert(0, _GATE)
    _state.depth = getattr(_state, "depth", 0) + 1
    try:
        yield
    finally:
        _state.depth -= 1


def execute_bound(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | dict[str, Any]
) -> duckdb.DuckDBPyConnection:
    """``con.execute(sql, params)`` without the pandas import (see the module docstring)."""
    with pandas_not_imported():
        return con.execute(sql, params)

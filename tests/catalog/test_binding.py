"""Bound parameters keep pandas out of the process, without breaking pandas for anyone else."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import datetime, sys, duckdb
from fairmicro.catalog.binding import execute_bound
con = duckdb.connect()
row = execute_bound(con, "SELECT ?, ?, ?", [1, "a", datetime.datetime(2025, 1, 2)]).fetchone()
assert row == (1, "a", datetime.datetime(2025, 1, 2)), row
assert "pandas" not in sys.modules, "binding imported pandas"
import pandas as pd  # still importable afterwards
assert execute_bound(con, "SELECT ?", [pd.Timestamp("2024-01-01")]).fetchone()[0].year == 2024
frame = pd.DataFrame({"x": [1, 2]})
assert con.execute("SELECT sum(x) FROM frame").fetchone()[0] == 3
print("ok")
"""


def test_bound_parameters_do_not_import_pandas_and_pandas_still_works_after():
    result = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"

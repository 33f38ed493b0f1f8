"""A bug inside a command is still one line on stderr and a non-zero exit; --debug shows the traceback."""

from __future__ import annotations

import sys

import pytest

from fairmicro.catalog import query as query_module
from fairmicro.cli import app as cli_app


def _boom(*_args, **_kwargs):
    raise ValueError("buffer source array is read-only\nsecond line of a long third-party message")


def _catalog(tmp_path) -> str:
    from fairmicro.catalog import Catalog

    path = tmp_path / "c.duckdb"
    Catalog.open(path).close()
    return str(path)


def _run_main(monkeypatch, argv: list[str]) -> int:
    monkeypatch.setattr(sys, "argv", ["fairmicro", *argv])
    monkeypatch.setattr(query_module, "run_query", _boom)
    monkeypatch.setitem(cli_app._state, "debug", False)
    with pytest.raises(SystemExit) as exited:
        cli_app.main()
    return int(exited.value.code or 0)


def test_unexpected_exception_is_one_line_not_a_traceback(monkeypatch, capsys, tmp_path):
    code = _run_main(monkeypatch, ["query", "SELECT 1", "--catalog", _catalog(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "ValueError: buffer source array is read-only" in lines[0]
    assert "--debug" in lines[0]


def test_debug_lets_the_traceback_through(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "argv", ["fairmicro", "--debug", "query", "SELECT 1", "--catalog", _catalog(tmp_path)])
    monkeypatch.setattr(query_module, "run_query", _boom)
    with pytest.raises(ValueError, match="read-only"):
        cli_app.main()

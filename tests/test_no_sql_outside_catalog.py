"""The catalog is the only room that speaks SQL: no SQL text in string literals elsewhere in the package.

Docstrings are prose and are not checked. Every other string literal (f-string
parts joined, placeholders kept as ``{}``) is matched against SQL statement
shapes; a hit outside ``src/fairmicro/catalog/`` fails unless the allow-list
below names the file and the literal's start, with the reason it is not a
statement the package runs (or a TODO naming who moves it).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "fairmicro"
SQL = re.compile(
    r"\bSELECT\b[\s\S]*\bFROM\b|\bINSERT\s+(OR\s+\w+\s+)?INTO\b|\bUPDATE\s+\w+\s+SET\b|\bDELETE\s+FROM\b"
    r"|\b(CREATE|ALTER|DROP)\s+(OR\s+REPLACE\s+)?(TEMP\s+)?(TABLE|VIEW|INDEX|MACRO|SCHEMA)\b|\bCOPY\s+\w+\s+(TO|FROM)\b"
    r"|\bWHERE\b[^\n]*(=|IN|IS|LIKE)\s*(\?|\$\d)|\bCOMMENT\s+ON\b|\bATTACH\s+'"
)
# (path under src/fairmicro, start of the literal): why it is allowed
ALLOWED = {
    ("builders/resolve.py", "dataset {} is not a folder"): "an error message naming the query a user may type",
    (
        "schema/derive.py",
        "CREATE TABLE {",
    ): "DDL derived from the schema (the catalog's migrations are written from it)",
    ("schema/derive.py", "COMMENT ON"): "DDL derived from the schema: column and table comments",
}


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _literals(tree: ast.AST) -> list[str]:
    skip = _docstrings(tree)
    texts = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            texts.append("".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values))
            skip.update(id(v) for v in node.values)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            texts.append(node.value)
    return texts


def _joined(tree: ast.AST) -> list[str]:
    """Adjacent literals concatenated by the parser are one Constant already; concatenations with + are joined here."""
    texts = []
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            parts = [
                n.value for n in (node.left, node.right) if isinstance(n, ast.Constant) and isinstance(n.value, str)
            ]
            if len(parts) == 2:
                texts.append("".join(parts))
    return texts


def _allowed(relative: str, text: str) -> bool:
    return any(path == relative and (start == "*" or text.lstrip().startswith(start)) for path, start in ALLOWED)


def sql_outside_catalog() -> list[str]:
    """``path: literal`` for every SQL-shaped string literal outside catalog/ and not allow-listed."""
    hits = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith("catalog/"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for text in _literals(tree) + _joined(tree):
            if SQL.search(text) and not _allowed(relative, text):
                hits.append(f"{relative}: {text[:90]!r}")
    return hits


def test_no_sql_outside_catalog():
    hits = sql_outside_catalog()
    assert not hits, "SQL outside src/fairmicro/catalog/ (add a named Catalog method):\n" + "\n".join(hits)


@pytest.mark.parametrize(
    "text",
    [
        "SELECT * FROM model_runs WHERE run_id = ?",
        "UPDATE images SET label = ? WHERE sha256 = ?",
        "INSERT INTO predictions VALUES (?)",
        "DELETE FROM annotations",
        "CREATE TABLE x (a INT)",
        "SELECT {} FROM {} WHERE (\n{}\n)",
    ],
)
def test_the_check_recognises_sql(text):
    assert SQL.search(text)


@pytest.mark.parametrize(
    "text",
    [
        "select the images to train on",
        "--where SQL predicate over image_metadata",
        "Update the catalog",
        "from the selection",
    ],
)
def test_the_check_leaves_prose_alone(text):
    assert not SQL.search(text)


def test_allow_list_entries_still_exist():
    """An allow-list entry whose file is gone or clean must be removed."""
    for relative, start in ALLOWED:
        path = PACKAGE / relative
        assert path.is_file(), relative
        tree = ast.parse(path.read_text(encoding="utf-8"))
        assert any(SQL.search(t) and (start == "*" or t.lstrip().startswith(start)) for t in _literals(tree)), (
            relative,
            start,
        )

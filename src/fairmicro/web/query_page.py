"""The query page: read-only SQL on the same sandbox as ``fairmicro query``, as a table, CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fairmicro.catalog import web_queries as wq
from fairmicro.errors import FairmicroError, first_line
from fairmicro.web.app import render

SHOWN_ROWS = 1000
MAX_SQL_CHARS = 20_000
EXAMPLE = wq.QUERY_EXAMPLE


def run_sql(request: Request, sql: str) -> Any:
    """The result of ``sql``, run read-only and sandboxed exactly as ``fairmicro query`` runs it.

    Raises
    ------
    FairmicroError
        For a refused statement (writes, files, settings), a parse error or a failing query.
    """
    from fairmicro.api.catalog import query_catalog

    if len(sql) > MAX_SQL_CHARS:
        raise FairmicroError(f"query is {len(sql)} characters; at most {MAX_SQL_CHARS}")
    access = request.app.state.access
    with access.turn():
        return query_catalog(access.path, sql, write=False, unsafe=False)


def _cell(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


async def query(request: Request) -> Response:
    """GET /query?sql=...: the SQL box and, when given, the result table (first rows) with downloads."""
    sql = request.query_params.get("sql", "")
    context: dict[str, Any] = {"sql": sql or EXAMPLE, "result": None, "error": None, "shown": SHOWN_ROWS}
    if sql.strip():
        try:
            result = await run_in_threadpool(run_sql, request, sql)
            context["result"] = {"columns": result.columns, "rows": result.rows[:SHOWN_ROWS], "total": len(result.rows)}
        except FairmicroError as exc:
            context["error"] = first_line(exc, 3)
    return render(request, "query.html", context, 400 if context["error"] else 200)


async def download(request: Request) -> Response:
    """GET /query.csv or /query.json?sql=...: the whole result as a file."""
    sql, kind = request.query_params.get("sql", ""), request.path_params["kind"]
    if kind not in ("csv", "json"):
        return Response("not found: /query.csv or /query.json\n", status_code=404, media_type="text/plain")
    try:
        result = await run_in_threadpool(run_sql, request, sql)
    except FairmicroError as exc:
        return Response(first_line(exc, 3) + "\n", status_code=400, media_type="text/plain")
    disposition = {"Content-Disposition": f'attachment; filename="query.{kind}"'}
    if kind == "json":
        rows = [{c: _cell(v) for c, v in zip(result.columns, row, strict=True)} for row in result.rows]
        return Response(json.dumps(rows, ensure_ascii=False), media_type="application/json", headers=disposition)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(result.columns)
    writer.writerows([[_cell(v) for v in row] for row in result.rows])
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=disposition)


ROUTES = [Route("/query", query), Route("/query.{kind:str}", download)]

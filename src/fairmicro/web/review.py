"""The review queue: queued suggestions with their probabilities; confirm or correct, as ``fairmicro review``."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from fairmicro.catalog import web_queries as wq
from fairmicro.errors import FairmicroError, first_line
from fairmicro.web.access import checked_sha
from fairmicro.web.app import render
from fairmicro.web.forms import checked_form


def _queue(request: Request) -> list[dict[str, Any]]:
    access = request.app.state.access
    with access.reading() as catalog:
        result = catalog.review_queue()
        rows = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
        probabilities = wq.review_probabilities(catalog, sorted({r["model_run_id"] for r in rows if r["model_run_id"]}))
        classes = {run: catalog.run_classes(run) for run in {r["model_run_id"] for r in rows if r["model_run_id"]}}
    for row in rows:
        probs = probabilities.get((row["model_run_id"], row["image_sha256"]), {})
        row["probabilities"] = sorted(probs.items(), key=lambda kv: -kv[1])
        row["choices"] = classes.get(row["model_run_id"]) or [row["suggested"]]
    return rows


async def queue(request: Request) -> Response:
    """GET /review: the open suggestions, least confident first."""
    rows = await run_in_threadpool(_queue, request)
    done = request.query_params.get("done")
    return render(request, "review.html", {"rows": rows, "done": done})


def allowed_labels(request: Request, sha: str) -> tuple[list[str], bool]:
    """The labels a reviewer may pick for ``sha``: the suggesting model's classes (its dataset's class map).

    The second value says whether the image has an open suggestion at all.
    """
    with request.app.state.access.reading() as catalog:
        pending = catalog.open_reviews(sha)
        runs = {run for _, _, run in pending if run}
        labels = sorted({label for run in runs for label in catalog.run_classes(run)} | {p[1] for p in pending})
    return labels, bool(pending)


def _decide(request: Request, sha: str, label: str | None) -> tuple[str, str]:
    from fairmicro.models.labelling import set_manual_label

    allowed, pending = allowed_labels(request, sha)
    if not pending:
        raise FairmicroError(f"image {sha[:12]} has no suggestion waiting for review")
    if label is not None and label not in allowed:
        raise FairmicroError(
            f"label {label!r} is not a class of the suggesting model; choose one of {', '.join(allowed)}"
        )
    access = request.app.state.access
    with access.turn():
        return set_manual_label(sha, label, catalog=access.path)


async def decide(request: Request) -> Response:
    """POST /review: confirm (``action=confirm``) or correct (``label=...``) one image's suggestion."""
    form = await checked_form(request)
    sha = checked_sha(str(form.get("sha256", "")))
    if sha is None:
        raise HTTPException(400, "sha256: expected the image's full sha256")
    label = None if form.get("action") == "confirm" else str(form.get("label", ""))
    try:
        decided, chosen = await run_in_threadpool(_decide, request, sha, label)
    except FairmicroError as exc:
        rows = await run_in_threadpool(_queue, request)
        return render(request, "review.html", {"rows": rows, "error": first_line(exc)}, 400)
    return RedirectResponse(f"/review?done={decided[:12]}:{chosen}", status_code=303)


ROUTES = [Route("/review", queue, methods=["GET"]), Route("/review", decide, methods=["POST"])]

"""Dataset pages (the card rendered, its pictures served) and run pages (parameters, metrics, plots)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fairmicro.catalog import web_queries as wq
from fairmicro.web.app import render

PICTURES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
}
MAX_PICTURE_BYTES = 50 * 1024 * 1024
PICTURE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "private, max-age=300",
}


def _read(request: Request, fn: Any, *args: Any) -> Any:
    with request.app.state.access.reading() as catalog:
        return fn(catalog, *args)


# ------------------------------------------------------------------ datasets
def card_html(markdown: str, dataset_id: str) -> str:
    """The card's markdown as HTML (raw HTML in it escaped), relative pictures pointed at the dataset's files."""
    from markdown_it import MarkdownIt
    from markdown_it.renderer import RendererHTML

    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    text = markdown.split("---", 2)[2] if markdown.startswith("---") and markdown.count("---") >= 2 else markdown

    def image(renderer: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        src = tokens[idx].attrGet("src") or ""
        if src and "://" not in src and not src.startswith(("/", "data:")):
            tokens[idx].attrSet("src", f"/datasets/{quote(dataset_id, safe='')}/files/{src}")
        return RendererHTML.image(renderer, tokens, idx, options, env)

    md.add_render_rule("image", image)
    return md.render(text)


def dataset_file(root: str | None, name: str) -> Path | None:
    """A picture inside a dataset's output folder named by a relative path; None for anything else."""
    if not root:
        return None
    rel = PurePosixPath(name)
    if rel.is_absolute() or ".." in rel.parts or "\\" in name or "\x00" in name:
        return None
    base = Path(root).resolve()
    target = (base / rel).resolve()
    if not target.is_relative_to(base) or target.suffix.lower() not in PICTURES or not target.is_file():
        return None
    return target


async def datasets(request: Request) -> Response:
    """GET /datasets: every dataset build."""
    return render(request, "datasets.html", {"rows": await run_in_threadpool(_read, request, wq.datasets)})


def _dataset_data(catalog: Any, dataset_id: str) -> dict[str, Any] | None:
    row = wq.dataset(catalog, dataset_id)
    if row is None:
        return None
    return {
        "row": row,
        "runs": wq.dataset_runs(catalog, row.get("fingerprint"), row.get("name")),
        "publications": wq.dataset_publications(catalog, dataset_id),
    }


async def dataset_page(request: Request) -> Response:
    """GET /datasets/{id}: the card rendered, counts, parameters, publications and runs that read it."""
    dataset_id = request.path_params["id"]
    data = await run_in_threadpool(_read, request, _dataset_data, dataset_id)
    if data is None:
        raise HTTPException(404, f"no dataset {dataset_id!r} in this catalog")
    card = None
    readme = dataset_file_text(data["row"].get("output_path"))
    if readme is not None:
        card = card_html(readme, dataset_id)
    return render(
        request,
        "dataset.html",
        {
            **data,
            "card": card,
            "counts_json": json.dumps(data["row"].get("counts"), indent=1, default=str),
            "params_json": json.dumps(data["row"].get("parameters"), indent=1, default=str),
        },
    )


def dataset_file_text(root: str | None) -> str | None:
    """The dataset card (README.md in the output folder), or None."""
    if not root:
        return None
    path = Path(root) / "README.md"
    try:
        return path.read_text(encoding="utf-8", errors="replace")[:2_000_000]
    except OSError:
        return None


async def dataset_picture(request: Request) -> Response:
    """GET /datasets/{id}/files/{name}: a picture the card shows, only from the dataset's own folder."""
    dataset_id = request.path_params["id"]
    row = await run_in_threadpool(_read, request, wq.dataset, dataset_id)
    target = dataset_file(row.get("output_path") if row else None, request.path_params["name"])
    if target is None:
        raise HTTPException(404, "no such picture in this dataset's folder")
    return _picture_response(target)


def _picture_response(target: Path, sha256: str | None = None) -> Response:
    data = target.read_bytes()[: MAX_PICTURE_BYTES + 1]
    if len(data) > MAX_PICTURE_BYTES or (sha256 and hashlib.sha256(data).hexdigest() != sha256):
        raise HTTPException(410, "the picture changed since it was recorded")
    return Response(data, media_type=PICTURES[target.suffix.lower()], headers=PICTURE_HEADERS)


# ------------------------------------------------------------------ runs
async def runs(request: Request) -> Response:
    """GET /runs: every model run."""
    return render(request, "runs.html", {"rows": await run_in_threadpool(_read, request, wq.runs)})


def matrix(cells: list[tuple[str, str, int]]) -> dict[str, Any] | None:
    """A confusion matrix (true rows x predicted columns) from (true, predicted, count) cells."""
    if not cells:
        return None
    labels = sorted({c[0] for c in cells} | {c[1] for c in cells})
    counts = {(t, p): n for t, p, n in cells}
    return {"labels": labels, "rows": [[counts.get((t, p), 0) for p in labels] for t in labels]}


def _run_data(catalog: Any, run_id: str) -> dict[str, Any] | None:
    row = wq.run(catalog, run_id)
    if row is None:
        return None
    return {
        "row": row,
        "confusion": matrix(wq.confusion(catalog, run_id)),
        "dataset_id": wq.dataset_by_revision(catalog, row.get("dataset_revision")),
        "qualifications": wq.run_qualifications(catalog, run_id)[:500],
    }


def plots(row: dict[str, Any]) -> list[tuple[int, str]]:
    """(index, file name) of the run's picture artifacts."""
    artifacts = row.get("artifacts")
    if not isinstance(artifacts, list):
        artifacts = []
    return [
        (i, Path(a["path"]).name)
        for i, a in enumerate(artifacts)
        if isinstance(a, dict) and Path(str(a.get("path", ""))).suffix.lower() in PICTURES
    ]


async def run_page(request: Request) -> Response:
    """GET /runs/{id}: parameters, metrics, confusion matrix, curves and the dataset revision it read."""
    run_id = request.path_params["id"]
    data = await run_in_threadpool(_read, request, _run_data, run_id)
    if data is None:
        raise HTTPException(404, f"no run {run_id!r} in this catalog")
    row = data["row"]
    scalars = (
        {k: v for k, v in (row.get("metrics") or {}).items() if isinstance(v, (int, float, str)) or v is None}
        if isinstance(row.get("metrics"), dict)
        else {}
    )
    return render(request, "run.html", {**data, "plots": plots(row), "scalars": scalars, "json": json.dumps})


async def run_artifact(request: Request) -> Response:
    """GET /runs/{id}/artifacts/{n}: a picture the run recorded, served only if its sha256 still matches."""
    row = await run_in_threadpool(_read, request, wq.run, request.path_params["id"])
    index = request.path_params["n"]
    artifacts = row.get("artifacts") if row and isinstance(row.get("artifacts"), list) else []
    if not 0 <= index < len(artifacts) or not isinstance(artifacts[index], dict):
        raise HTTPException(404, "no such artifact")
    entry = artifacts[index]
    target = Path(str(entry.get("path", "")))
    if target.suffix.lower() not in PICTURES or not target.is_file():
        raise HTTPException(404, "no such picture artifact")
    return _picture_response(target, str(entry.get("sha256") or "") or None)


ROUTES = [
    Route("/datasets", datasets),
    Route("/datasets/{id}", dataset_page),
    Route("/datasets/{id}/files/{name:path}", dataset_picture),
    Route("/runs", runs),
    Route("/runs/{id}", run_page),
    Route("/runs/{id}/artifacts/{n:int}", run_artifact),
]

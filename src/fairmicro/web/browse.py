"""Browse (thumbnails, facets, keyset paging), the image page, and the pictures both show."""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from fairmicro.catalog import web_queries as wq
from fairmicro.errors import FairmicroError, first_line
from fairmicro.web import pictures
from fairmicro.web.access import checked_sha
from fairmicro.web.app import render

PAGE_SIZE = 48
NONE_VALUE = "(none)"
CACHE_CONTROL = "private, max-age=31536000, immutable"


# ------------------------------------------------------------------ filters
def _number(request: Request, key: str) -> float | None:
    text = request.query_params.get(key, "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise HTTPException(400, f"{key}={text!r}: expected a number") from None
    if not math.isfinite(value):
        raise HTTPException(400, f"{key}={text!r}: expected a finite number")
    return value


def filters_of(request: Request) -> wq.Filters:
    """The browse filters in the query string (unknown keys ignored, bad numbers refused)."""
    params = request.query_params
    values = {name: ("" if params[name] == NONE_VALUE else params[name]) for name in wq.FACETS if params.get(name)}
    ranges = {name: (_number(request, f"{name}_min"), _number(request, f"{name}_max")) for name in wq.RANGES}
    ranges = {name: bounds for name, bounds in ranges.items() if bounds != (None, None)}
    return wq.Filters(values, ranges, params.get("dataset") or None, params.get("split") or None)


def encode_cursor(row: dict[str, Any]) -> str:
    """The keyset cursor after ``row``: base64url of [path, sha256]."""
    return base64.urlsafe_b64encode(json.dumps([row["path"], row["sha256"]]).encode()).decode()


def decode_cursor(text: str | None) -> tuple[str, str] | None:
    """The (path, sha256) of a cursor, None for none; a malformed one is refused."""
    if not text:
        return None
    try:
        path, sha = json.loads(base64.urlsafe_b64decode(text.encode()))
    except (ValueError, TypeError):
        raise HTTPException(400, "after: not a cursor this server made") from None
    if not isinstance(path, str) or not isinstance(sha, str):
        raise HTTPException(400, "after: not a cursor this server made")
    return path, sha


def _browse_data(request: Request, filters: wq.Filters, after: tuple[str, str] | None) -> dict[str, Any]:
    with request.app.state.access.reading() as catalog:
        rows = wq.browse_page(catalog, filters, after, PAGE_SIZE + 1)
        return {
            "rows": rows[:PAGE_SIZE],
            "more": len(rows) > PAGE_SIZE,
            "total": wq.count_images(catalog, filters),
            "facets": wq.facet_counts(catalog, filters),
            "bounds": wq.range_bounds(catalog, filters),
            "memberships": wq.membership_counts(catalog, filters),
        }


async def browse(request: Request) -> Response:
    """GET /: thumbnails of the images matching the filters, with facet counts and a next-page link."""
    filters, after = filters_of(request), decode_cursor(request.query_params.get("after"))
    data = await run_in_threadpool(_browse_data, request, filters, after)
    params = {k: v for k, v in request.query_params.items() if k != "after"}
    next_url = None
    if data["more"]:
        next_url = str(request.url.include_query_params(after=encode_cursor(data["rows"][-1])))
    return render(
        request,
        "browse.html",
        {
            **data,
            "filters": filters,
            "params": params,
            "next_url": next_url,
            "none_value": NONE_VALUE,
            "first_page": after is None,
        },
    )


# ------------------------------------------------------------------ pictures
def cached_file(request: Request, path: Path, etag: str, media_type: str) -> Response:
    """A cached picture with a strong ETag; 304 when the browser already holds it."""
    quoted = f'"{etag}"'
    headers = {"ETag": quoted, "Cache-Control": CACHE_CONTROL}
    if quoted in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return FileResponse(path, media_type=media_type, headers=headers)


def _sha(request: Request) -> str:
    sha = checked_sha(request.path_params["sha"])
    if sha is None:
        raise HTTPException(404, "no image: an image is named by its full sha256 (64 hex digits)")
    return sha


async def _picture(request: Request, make: Any, *args: Any) -> Path:
    try:
        return await run_in_threadpool(make, request.app.state.access, *args)
    except FileNotFoundError:
        raise HTTPException(404, "no such image or mask in this catalog") from None
    except FairmicroError as exc:
        raise HTTPException(410, first_line(exc)) from None


async def thumbnail(request: Request) -> Response:
    """GET /thumbs/{sha}.jpg: the cached thumbnail."""
    sha = _sha(request)
    return cached_file(request, await _picture(request, pictures.thumbnail, sha), f"t-{sha}", "image/jpeg")


async def full_image(request: Request) -> Response:
    """GET /images/{sha}/full.png: the full-resolution picture (8-bit, data bar cropped)."""
    sha = _sha(request)
    return cached_file(request, await _picture(request, pictures.preview, sha), f"f-{sha}", "image/png")


async def mask_image(request: Request) -> Response:
    """GET /images/{sha}/mask-{source}.png: the manual or predicted mask in class colours."""
    sha, source = _sha(request), request.path_params["source"]
    if source not in ("manual", "predicted"):
        raise HTTPException(404, "mask source is manual or predicted")
    path = await _picture(request, pictures.mask_overlay, sha, source)
    return cached_file(request, path, f"m-{path.stem}", "image/png")


# ------------------------------------------------------------------ image page
def scale_bar(width_px: int | None, pixel_nm: float | None) -> dict[str, Any] | None:
    """A round scale-bar length near a fifth of the image width: its label and its width in percent."""
    if not width_px or not pixel_nm or pixel_nm <= 0:
        return None
    target = width_px * pixel_nm / 5
    step = 10 ** math.floor(math.log10(target))
    length = max(m * step for m in (1, 2, 5) if m * step <= target)
    label = f"{length / 1000:g} µm" if length >= 1000 else f"{length:g} nm"
    return {"label": label, "percent": 100 * length / (width_px * pixel_nm)}


def _image_data(request: Request, sha: str) -> dict[str, Any] | None:
    from fairmicro.catalog.masks import image_masks

    with request.app.state.access.reading() as catalog:
        row = wq.image_row(catalog, sha)
        if row is None:
            return None
        masks = {s: image_masks(catalog, [sha], source=s).get(sha) for s in ("manual", "predicted")}
        return {
            "row": row,
            "trail": wq.field_trail(catalog, sha),
            "vendor_block": wq.vendor_block(catalog, sha),
            "specimen": wq.specimen_row(catalog, row.get("specimen_id")),
            "masks": masks,
            "provenance": wq.image_provenance(catalog, sha),
        }


async def image_page(request: Request) -> Response:
    """GET /images/{sha}: the picture with scale bar and masks, every field with its trail, provenance."""
    sha = _sha(request)
    data = await run_in_threadpool(_image_data, request, sha)
    if data is None:
        raise HTTPException(404, f"no image {sha[:12]} in this catalog")
    row = data["row"]
    shown_width = row.get("width_px")
    bar = scale_bar(shown_width, row.get("pixel_size_x_nm"))
    vendor_json = json.dumps(data["vendor_block"], indent=1, ensure_ascii=False, default=str)[:200_000]
    return render(request, "image.html", {**data, "sha": sha, "bar": bar, "vendor_json": vendor_json})


ROUTES = [
    Route("/", browse),
    Route("/thumbs/{sha}.jpg", thumbnail),
    Route("/images/{sha}", image_page),
    Route("/images/{sha}/full.png", full_image),
    Route("/images/{sha}/mask-{source}.png", mask_image),
]

"""The qualification page (Safdar et al.): an uploaded or picked image scored against expert assessments.

The models and the assessment files are the server's (``fairmicro serve --clip --flava
--assessments``), never paths a request names. An upload is size-capped, recognised by its
first bytes, stored under ``<catalog>.web/uploads/`` by its sha256 and ingested, so its
qualification rows have an image to belong to, like any catalog image's.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fairmicro.catalog import web_queries as wq
from fairmicro.errors import FairmicroError, first_line
from fairmicro.web.access import checked_sha
from fairmicro.web.app import render
from fairmicro.web.forms import checked_form
from fairmicro.web.safety import MAX_UPLOAD_BYTES, sniff

DEFAULT_CALIBRATION = wq.DEFAULT_CALIBRATION
EXTENSIONS = {"tiff": ".tif", "png": ".png", "jpeg": ".jpg"}


def assessment_sets(request: Request) -> dict[str, Any]:
    """Set name -> its loaded assessment set (built-ins and the server's ``--assessments`` files)."""
    from fairmicro.models.qualifier.assessments import builtin_sets, load_assessments

    sources = {**{name: name for name in builtin_sets()}, **request.app.state.assessments}
    return {name: load_assessments(source) for name, source in sources.items()}


async def page(request: Request) -> Response:
    """GET /qualify: the form."""
    context = await run_in_threadpool(_form_context, request)
    return render(request, "qualify.html", context)


def _form_context(request: Request, **extra: Any) -> dict[str, Any]:
    with request.app.state.access.reading() as catalog:
        picks = wq.pick_images(catalog)
    try:
        sets = assessment_sets(request)
    except FairmicroError as exc:
        sets, extra = {}, {"error": first_line(exc), **extra}
    return {
        "sets": sets,
        "picks": picks,
        "models": request.app.state.models,
        "max_mb": MAX_UPLOAD_BYTES >> 20,
        "default_calibration": DEFAULT_CALIBRATION,
        "form": {},
        **extra,
    }


async def read_upload(upload: UploadFile) -> tuple[bytes, str]:
    """The upload's bytes and sniffed format; 413 over the limit, 415 for anything but TIFF/PNG/JPEG."""
    data = await upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise HTTPException(413, f"upload over {MAX_UPLOAD_BYTES >> 20} MB")
    kind = sniff(data[:16])
    if kind is None:
        raise HTTPException(415, "the upload is not an image: its bytes are not TIFF, PNG or JPEG")
    return data, kind


def store_upload(request: Request, data: bytes, kind: str) -> str:
    """Write the upload under ``<catalog>.web/uploads/<sha256>.<ext>``, ingest it, return its sha256."""
    import fairmicro as fm

    access = request.app.state.access
    sha = hashlib.sha256(data).hexdigest()
    target = access.cache_dir / "uploads" / f"{sha}{EXTENSIONS[kind]}"
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        target.write_bytes(data)
    with access.turn(), fm.Catalog.open(access.path) as catalog:
        report = catalog.ingest(target)
    if report.rejected or report.skipped:
        target.unlink(missing_ok=True)
        reason = (report.rejected or report.skipped)[0][1]
        raise FairmicroError(f"the upload could not be catalogued: {reason}")
    return sha


def subset_file(request: Request, set_name: str, chosen: list[str]) -> Path:
    """An assessment file holding only the chosen assessments (reference paths made absolute)."""
    sets = assessment_sets(request)
    if set_name not in sets:
        raise FairmicroError(f"assessment set {set_name!r} is not offered by this server")
    full = sets[set_name]
    picked = [a for a in full.assessments if a.name in chosen] if chosen else list(full.assessments)
    if not picked:
        raise FairmicroError("choose at least one assessment")
    doc = {"name": full.name, "description": full.description, "assessments": [_as_dict(a) for a in picked]}
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    path = request.app.state.access.cache_dir / "assessments" / f"{hashlib.sha256(text.encode()).hexdigest()}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _as_dict(assessment: Any) -> dict[str, Any]:
    def refs(side: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if side.where:
            out["where"] = side.where
        if side.paths:
            out["paths"] = [str(p) for p in side.paths]
        return out

    return {
        "name": assessment.name,
        "criterion": assessment.criterion,
        "positive_prompts": list(assessment.positive_prompts),
        "negative_prompts": list(assessment.negative_prompts),
        "positive_references": refs(assessment.positive_references),
        "negative_references": refs(assessment.negative_references),
    }


def _number(form: Any, key: str, default: float) -> float:
    text = str(form.get(key) or "").strip()
    try:
        return float(text) if text else default
    except ValueError:
        raise FairmicroError(f"{key} {text!r}: expected a number") from None


def run_qualification(request: Request, sha: str, form: Any) -> Any:
    """Score one catalog image with :func:`fairmicro.qualify` and the server's models."""
    import fairmicro as fm

    access, models = request.app.state.access, request.app.state.models
    assessments = subset_file(request, str(form.get("set", "")), [str(v) for v in form.getlist("assessment")])
    fusion = str(form.get("fusion") or "zsum")
    weights = (
        f"{_number(form, 'weight_clip', 0.5)},{_number(form, 'weight_flava', 0.5)}" if fusion == "weighted" else None
    )
    calibration = str(form.get("calibration") or "").strip() or DEFAULT_CALIBRATION
    with access.turn():
        return fm.qualify(
            assessments,
            wq.image_predicate(sha),
            catalog=access.path,
            clip=models["clip"],
            flava=models["flava"],
            fusion=fusion,
            fusion_weights=weights,
            threshold=_number(form, "threshold", 0.0),
            calibration=calibration,
        )


async def submit(request: Request) -> Response:
    """POST /qualify: upload (or pick) one image, score it, show deltas, z-scores, hybrid, decision, references."""
    form = await checked_form(request)
    upload = form.get("file")
    try:
        if isinstance(upload, UploadFile) and upload.filename:
            data, kind = await read_upload(upload)
            sha = await run_in_threadpool(store_upload, request, data, kind)
        else:
            picked = checked_sha(str(form.get("image", "")))
            if picked is None:
                raise FairmicroError("drop an image file or pick a catalog image")
            sha = picked
        result = await run_in_threadpool(run_qualification, request, sha, form)
    except FairmicroError as exc:
        context = await run_in_threadpool(_form_context, request, error=first_line(exc), form=form)
        return render(request, "qualify.html", context, 400)
    context = await run_in_threadpool(_form_context, request, result=result, sha=sha, form=form)
    return render(request, "qualify.html", context)


ROUTES = [Route("/qualify", page, methods=["GET"]), Route("/qualify", submit, methods=["POST"])]

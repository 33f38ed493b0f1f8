"""One qualifier run: select, embed (through the cache), score, and record it in the catalog.

Everything that can be checked without the models is checked first (options,
the assessment file, every selection); then both models are loaded; only
then does anything get written. A run writes, in one transaction, its
``model_runs`` row (task ``zero-shot``, kind ``qualify``), one
``qualifications`` row per image and assessment and the embeddings it
computed. A run that fails after its images were selected leaves a
``failed`` run row and no results.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from fairmicro.catalog import Catalog
from fairmicro.catalog import qualifications as store
from fairmicro.catalog.store import utcnow
from fairmicro.errors import FairmicroError, ModelError, first_line
from fairmicro.models.qualifier import scoring
from fairmicro.models.qualifier.assessments import AssessmentSet, load_assessments
from fairmicro.models.qualifier.embedding import Embeddings, embed
from fairmicro.models.qualifier.encoders import DEFAULT_CLIP, DEFAULT_FLAVA, Encoder, load_encoder
from fairmicro.models.qualifier.render import Skipped, check_source, with_masks
from fairmicro.models.qualifier.selection import Plan, plan

PLUGIN = "qualifier"
NORMALISATIONS = ("calibration", "batch")
KEYS = (
    "image_sha256",
    "path",
    "assessment",
    "delta_clip",
    "delta_flava",
    "z_clip",
    "z_flava",
    "hybrid",
    "decision",
    "top_k",
)


@dataclass(frozen=True)
class Options:
    """Checked options of a run."""

    where: str
    clip: str
    flava: str
    fusion: str
    weights: tuple[float, float]
    threshold: float
    calibration: str | None
    normalisation: str
    top_k: int
    render_masks: bool = False
    mask_source: str = "any"


@dataclass
class QualifyResult:
    """What a run produced: ``rows`` (one dict per image and assessment, keys :data:`KEYS`) and its record."""

    run_id: str
    rows: list[dict[str, Any]]
    metrics: dict[str, Any]
    parameters: dict[str, Any]
    explanations: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)


def check_options(
    where: str,
    clip: str,
    flava: str,
    fusion: str,
    weights: str | Sequence[float] | None,
    threshold: float,
    calibration: str | None,
    normalise: str | None,
    top_k: int,
    render_masks: bool = False,
    mask_source: str = "any",
) -> Options:
    """Every option checked before anything is read.

    Raises
    ------
    ModelError
        One line naming the option.
    """
    fused = scoring.check_fusion(fusion, weights)
    if normalise is not None and normalise not in NORMALISATIONS:
        raise ModelError(f"--normalise {normalise!r}: choose one of {', '.join(NORMALISATIONS)}")
    if calibration is not None and normalise == "batch":
        raise ModelError("give either --calibration SQL or --normalise batch, not both")
    if normalise == "calibration" and calibration is None:
        raise ModelError("--normalise calibration needs --calibration SQL (the images z-scores are normalised over)")
    if calibration is not None and not calibration.strip():
        raise ModelError("--calibration: empty selection; give an SQL predicate over image_metadata")
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise ModelError(f"--top-k {top_k}: expected a whole number of reference images, 1 or more")
    if not where.strip():
        raise ModelError("--where: empty selection; give an SQL predicate over image_metadata (e.g. TRUE)")
    check_source(mask_source)
    if mask_source != "any" and not render_masks:
        raise ModelError(f"--mask-source {mask_source} only applies with --render-masks")
    mode = "calibration" if calibration is not None else "batch"
    return Options(
        where,
        clip,
        flava,
        fusion,
        fused,
        scoring.check_threshold(threshold),
        calibration,
        mode,
        top_k,
        bool(render_masks),
        mask_source,
    )


def qualify(
    assessments: str | Path,
    where: str = "TRUE",
    *,
    catalog: str | Path | None = None,
    clip: str = DEFAULT_CLIP,
    flava: str = DEFAULT_FLAVA,
    fusion: str = "zsum",
    weights: str | Sequence[float] | None = None,
    threshold: float = 0.0,
    calibration: str | None = None,
    normalise: str | None = None,
    top_k: int = 3,
    render_masks: bool = False,
    mask_source: str = "any",
) -> QualifyResult:
    """Score catalog images against expert assessments with CLIP and FLAVA (Safdar et al.), zero-shot.

    Parameters
    ----------
    assessments
        An assessment YAML file, or the name of a built-in set (``"ni-wc"``).
    where
        SQL predicate over ``image_metadata`` choosing the images to score (runs sandboxed).
    catalog
        Catalog file (default ``./fairmicro.duckdb`` or ``$FAIRMICRO_CATALOG``).
    clip, flava
        Hub ids (``ID`` or ``ID@REVISION``) or local folders of the two models.
    fusion
        ``zsum`` (z_clip + z_flava) or ``weighted`` (``weights``: CLIP weight, FLAVA weight; sum 1).
    weights
        ``"0.6,0.4"`` or a pair of numbers; only with ``fusion="weighted"`` (default 0.5, 0.5).
    threshold
        hybrid >= threshold means ``accept``.
    calibration
        SQL predicate choosing the images mu and sigma are taken from, so a decision does not depend on the batch.
    normalise
        ``"batch"`` (the default without ``calibration``: mu and sigma over the scored images, as the paper
        did) or ``"calibration"`` (needs ``calibration``).
    top_k
        Nearest reference images listed per result.
    render_masks
        Score each image's stored segmentation mask drawn in its class colours instead of the image
        (:mod:`fairmicro.models.qualifier.render`); images without a mask are skipped and listed in
        ``QualifyResult.skipped``.
    mask_source
        With ``render_masks``: ``any`` (the manual mask, else the newest predicted one), ``manual`` or
        ``predicted``.

    Returns
    -------
    QualifyResult
        The run id, one row per image and assessment, the run's metrics and parameters.

    Raises
    ------
    FairmicroError
        One-line errors for bad options, assessment files, selections and models; nothing is written then.
    """
    options = check_options(
        where, clip, flava, fusion, weights, threshold, calibration, normalise, top_k, render_masks, mask_source
    )
    assessment_set = load_assessments(assessments)
    with Catalog.open_for_reading(catalog) as reader:
        images = plan(reader, assessment_set, options.where, options.calibration)
        skipped: list[Skipped] = []
        if options.render_masks:
            images, skipped = with_masks(reader, images, options.mask_source)
        encoders = {"clip": load_encoder("clip", options.clip), "flava": load_encoder("flava", options.flava)}
        result = _run(reader, assessment_set, images, encoders, options, skipped)
    result.skipped = skipped
    return result


def _run(
    reader: Catalog,
    assessment_set: AssessmentSet,
    images: Plan,
    encoders: dict[str, Encoder],
    options: Options,
    skipped: list[Skipped],
) -> QualifyResult:
    from fairmicro.models.provenance import new_run_id

    run_id, started = new_run_id(PLUGIN), utcnow()
    parameters = _parameters(assessment_set, encoders, options)
    try:
        embeddings = embed(reader, images, encoders)
        rows, metrics, explanations = _score(assessment_set, images, embeddings, encoders["clip"], options)
    except FairmicroError as exc:
        _record_failure(reader, run_id, parameters, started, first_line(exc))
        raise
    metrics["embeddings"] = embeddings.counts
    if options.render_masks:
        metrics["render_masks"] = {"drawn": len(images.masks), "skipped": [vars(s) for s in skipped]}
    with reader.writing() as writer, writer.transaction():
        writer.insert("model_runs", [_run_record(run_id, parameters, metrics, started, "succeeded")])
        store.add_qualifications(writer, [_qualification(run_id, row) for row in rows])
        store.store_embeddings(writer, embeddings.new_records)
    return QualifyResult(run_id, rows, metrics, parameters, explanations)


def _score(
    assessment_set: AssessmentSet, images: Plan, embeddings: Embeddings, clip: Encoder, options: Options
) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, dict[str, Any]]]:
    from fairmicro.models.qualifier.scores import score_assessment

    per_assessment = [score_assessment(a, images, embeddings, clip, options) for a in assessment_set.assessments]
    by_image: dict[str, list[dict[str, Any]]] = {}
    for scored in per_assessment:
        for row in scored.rows:
            by_image.setdefault(row["image_sha256"], []).append(row)
    ordered = sorted(images.scored, key=lambda ref: (ref.path, ref.sha256))
    rows = [row for ref in ordered for row in by_image.pop(ref.sha256, [])]
    metrics = {
        "normalisation": options.normalisation,
        "calibration": None
        if images.calibration is None
        else {"where": options.calibration, "images": len(images.calibration)},
        "images": len(images.scored),
        "statistics": {s.name: s.statistics.to_dict() for s in per_assessment},
        "accepted": {s.name: sum(r["decision"] == "accept" for r in s.rows) for s in per_assessment},
    }
    return rows, metrics, {s.name: s.explanation for s in per_assessment}


def _parameters(assessment_set: AssessmentSet, encoders: dict[str, Encoder], options: Options) -> dict[str, Any]:
    return {
        "assessments": assessment_set.source,
        "assessment_set": assessment_set.name,
        "assessments_sha256": assessment_set.sha256,
        "where": options.where,
        "clip": {"model_id": encoders["clip"].model_id, "revision": encoders["clip"].revision},
        "flava": {"model_id": encoders["flava"].model_id, "revision": encoders["flava"].revision},
        "fusion": options.fusion,
        "weights": list(options.weights) if options.fusion == "weighted" else None,
        "threshold": options.threshold,
        "normalisation": options.normalisation,
        "calibration": options.calibration,
        "top_k": options.top_k,
        "transformers": _version("transformers"),
        "render_masks": options.render_masks,
        "mask_source": options.mask_source if options.render_masks else None,
    }


def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _run_record(run_id: str, parameters: dict[str, Any], metrics: dict[str, Any], started: Any, status: str) -> Any:
    from fairmicro import __version__
    from fairmicro.models.provenance import library_versions
    from fairmicro.schema import models

    return models.ModelRun(
        run_id=run_id,
        plugin=PLUGIN,
        plugin_version=__version__,
        parameters=json.dumps(parameters, sort_keys=True),
        dataset_ref=None,
        metrics=json.dumps(metrics, sort_keys=True, default=str),
        library_versions=json.dumps(library_versions(), sort_keys=True),
        started_at=started,
        ended_at=utcnow(),
        host=platform.node(),
        status=status,
        run_kind="qualify",
        task="zero-shot",
    )


def _record_failure(reader: Catalog, run_id: str, parameters: dict[str, Any], started: Any, message: str) -> None:
    record = _run_record(run_id, parameters, {"error": message}, started, "failed")
    with reader.writing() as writer:
        writer.insert("model_runs", [record])


def _qualification(run_id: str, row: dict[str, Any]) -> Any:
    from fairmicro.schema import models

    values = {key: row[key] for key in KEYS}
    values["top_k"] = json.dumps(row["top_k"])
    return models.Qualification(model_run_id=run_id, **values)


def results_as_json(rows: list[dict[str, Any]]) -> str:
    """The rows as the JSON list ``fairmicro qualify --format json`` prints (finite floats only)."""
    return json.dumps([{key: row[key] for key in KEYS} for row in rows], ensure_ascii=False)

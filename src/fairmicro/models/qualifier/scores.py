"""One assessment scored over a run's images (the arithmetic is :mod:`.scoring`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from fairmicro.models.qualifier import scoring

if TYPE_CHECKING:
    from fairmicro.models.qualifier.assessments import Assessment
    from fairmicro.models.qualifier.embedding import Embeddings
    from fairmicro.models.qualifier.encoders import Encoder
    from fairmicro.models.qualifier.images import ImageRef
    from fairmicro.models.qualifier.run import Options
    from fairmicro.models.qualifier.selection import Plan


@dataclass(frozen=True)
class ScoredAssessment:
    """Rows of one assessment, the statistics used, and what ``--explain`` shows."""

    name: str
    rows: list[dict[str, Any]]
    statistics: scoring.Statistics
    explanation: dict[str, Any]


@dataclass(frozen=True)
class Prototypes:
    """What images are compared with: CLIP text embeddings and FLAVA reference embeddings per side."""

    text_positive: np.ndarray
    text_negative: np.ndarray
    reference_positive: np.ndarray
    reference_negative: np.ndarray
    reference_paths: list[str]

    def deltas(self, clip_images: np.ndarray, flava_images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(delta_clip, delta_flava) of image rows."""
        return (
            scoring.delta(clip_images, self.text_positive, self.text_negative),
            scoring.delta(flava_images, self.reference_positive, self.reference_negative),
        )


def prototypes(assessment: Assessment, images: Plan, embeddings: Embeddings, clip: Encoder) -> Prototypes:
    """The text and reference embeddings of ``assessment``."""
    positive = images.references[(assessment.name, "positive")]
    negative = images.references[(assessment.name, "negative")]
    return Prototypes(
        clip.text_embeddings(assessment.positive_prompts),
        clip.text_embeddings(assessment.negative_prompts),
        embeddings.matrix("flava", [r.sha256 for r in positive]),
        embeddings.matrix("flava", [r.sha256 for r in negative]),
        [r.path for r in [*positive, *negative]],
    )


def _deltas(
    refs: list[ImageRef], embeddings: Embeddings, protos: Prototypes
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    shas = [ref.sha256 for ref in refs]
    flava = embeddings.matrix("flava", shas)
    delta_clip, delta_flava = protos.deltas(embeddings.matrix("clip", shas), flava)
    return delta_clip, delta_flava, flava


def score_assessment(
    assessment: Assessment, images: Plan, embeddings: Embeddings, clip: Encoder, options: Options
) -> ScoredAssessment:
    """Deltas, z-scores, hybrid, decision and nearest references of every scored image.

    Raises
    ------
    ModelError
        If the normalisation images give a standard deviation of 0.
    """
    protos = prototypes(assessment, images, embeddings, clip)
    delta_clip, delta_flava, flava = _deltas(images.scored, embeddings, protos)
    if images.calibration is None:
        stats = scoring.statistics(assessment.name, delta_clip, delta_flava, "scored batch (--normalise batch)")
    else:
        calib_clip, calib_flava, _ = _deltas(images.calibration, embeddings, protos)
        stats = scoring.statistics(assessment.name, calib_clip, calib_flava, "--calibration selection")
    z_clip, z_flava = scoring.zscores(delta_clip, delta_flava, stats)
    hybrid = scoring.fuse(z_clip, z_flava, options.fusion, options.weights)
    decided = scoring.decisions(hybrid, options.threshold)
    references = np.vstack([protos.reference_positive, protos.reference_negative])
    rows = [
        {
            "image_sha256": ref.sha256,
            "path": ref.path,
            "assessment": assessment.name,
            "delta_clip": float(delta_clip[i]),
            "delta_flava": float(delta_flava[i]),
            "z_clip": float(z_clip[i]),
            "z_flava": float(z_flava[i]),
            "hybrid": float(hybrid[i]),
            "decision": decided[i],
            "top_k": scoring.nearest(flava[i : i + 1], references, protos.reference_paths, options.top_k),
        }
        for i, ref in enumerate(images.scored)
    ]
    return ScoredAssessment(assessment.name, rows, stats, _explanation(assessment, images))


def _explanation(assessment: Assessment, images: Plan) -> dict[str, Any]:
    return {
        "criterion": assessment.criterion,
        "positive_prompts": list(assessment.positive_prompts),
        "negative_prompts": list(assessment.negative_prompts),
        "positive_references": [r.path for r in images.references[(assessment.name, "positive")]],
        "negative_references": [r.path for r in images.references[(assessment.name, "negative")]],
    }

"""Image embeddings of a run, served from the catalog's cache where possible.

CLIP embeds the scored and calibration images; FLAVA embeds those and every
reference image. An embedding is looked up per (image sha256, model id, model
revision, preprocessing recipe); only the missing ones are computed, a batch
of images at a time, each image read and decoded once for both models. Under
``--render-masks`` an image with a stored mask is embedded as its drawn mask,
cached under the mask's own recipe (:func:`fairmicro.models.qualifier.render.recipe`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from fairmicro.catalog.qualifications import cached_embedding_pairs
from fairmicro.catalog.store import utcnow
from fairmicro.models.qualifier.encoders import BATCH, Encoder

if TYPE_CHECKING:
    from fairmicro.catalog import Catalog
    from fairmicro.models.qualifier.selection import Plan


@dataclass
class Embeddings:
    """Raw image embeddings per model kind and sha256, what was computed, and the new cache rows."""

    vectors: dict[str, dict[str, np.ndarray]]
    counts: dict[str, dict[str, int]]
    new_records: list[Any] = field(default_factory=list)

    def matrix(self, kind: str, shas: list[str]) -> np.ndarray:
        """The embeddings of ``shas`` (in order) as rows."""
        return np.vstack([self.vectors[kind][sha] for sha in shas])


def needed(images: Plan) -> dict[str, set[str]]:
    """sha256 of the images each model must embed."""
    scored = {ref.sha256 for ref in [*images.scored, *(images.calibration or [])]}
    references = {ref.sha256 for refs in images.references.values() for ref in refs}
    return {"clip": scored, "flava": scored | references}


def embed(catalog: Catalog, images: Plan, encoders: dict[str, Encoder]) -> Embeddings:
    """Every embedding the run needs; computed ones are listed in ``new_records`` for the cache.

    Raises
    ------
    ModelError
        If an image that has to be embedded cannot be read or decoded.
    """
    wanted = needed(images)
    vectors = {kind: _cached(catalog, enc, images, wanted[kind]) for kind, enc in encoders.items()}
    missing = {kind: wanted[kind] - set(vectors[kind]) for kind in encoders}
    result = Embeddings(
        vectors, {kind: {"computed": len(missing[kind]), "cached": len(vectors[kind])} for kind in encoders}
    )
    refs = images.all_images()
    todo = sorted(set().union(*missing.values()))
    now = utcnow()
    for start in range(0, len(todo), BATCH):
        chunk = todo[start : start + BATCH]
        pictures = {sha: images.picture(catalog, refs[sha]) for sha in chunk}
        for kind, encoder in encoders.items():
            shas = [sha for sha in chunk if sha in missing[kind]]
            if shas:
                rows = encoder.image_embeddings([pictures[sha] for sha in shas])
                _keep(result, encoder, dict(zip(shas, rows, strict=True)), images, now)
    return result


def _cached(catalog: Catalog, encoder: Encoder, images: Plan, shas: set[str]) -> dict[str, np.ndarray]:
    keys = {sha: (sha, images.recipe(sha)) for sha in shas}
    found = cached_embedding_pairs(catalog, encoder.model_id, encoder.revision, keys.values())
    return {sha: np.asarray(found[key], dtype=np.float64) for sha, key in keys.items() if key in found}


def _keep(result: Embeddings, encoder: Encoder, computed: dict[str, np.ndarray], images: Plan, now: datetime) -> None:
    import json

    from fairmicro.schema import models

    result.vectors[encoder.kind].update(computed)
    result.new_records.extend(
        models.ImageEmbedding(
            image_sha256=sha,
            model_id=encoder.model_id,
            model_revision=encoder.revision,
            preprocessing=images.recipe(sha),
            embedding=json.dumps([float(x) for x in vector]),
            created_at=now,
        )
        for sha, vector in computed.items()
    )

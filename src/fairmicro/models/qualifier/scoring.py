"""The qualifier's arithmetic (Safdar et al.), in numpy, on raw embeddings.

- every embedding is L2-normalised before prompt or reference embeddings are averaged;
- Delta_CLIP = cos(image, mean(text+)) - cos(image, mean(text-)), CLIP image and text embeddings;
- Delta_FLAVA = cos(image, mean(ref+)) - cos(image, mean(ref-)), FLAVA image embeddings;
- z = (Delta - mu) / sigma per assessment, sigma the population standard deviation;
- hybrid = z_CLIP + z_FLAVA (``zsum``) or w_CLIP z_CLIP + w_FLAVA z_FLAVA (``weighted``);
- hybrid >= threshold: accept.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fairmicro.errors import ModelError

FUSIONS = ("zsum", "weighted")
DEFAULT_WEIGHTS = (0.5, 0.5)


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (a zero row stays zero)."""
    vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float64))
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)


def prototype(embeddings: np.ndarray) -> np.ndarray:
    """The mean of the L2-normalised rows (not normalised again: cosine takes care of its length)."""
    return l2_normalise(embeddings).mean(axis=0)


def cosine(images: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """Cosine similarity of each image row with ``vector``."""
    norm = float(np.linalg.norm(vector))
    return l2_normalise(images) @ (vector / (norm if norm else 1.0))


def delta(images: np.ndarray, positive: np.ndarray, negative: np.ndarray) -> np.ndarray:
    """cos(image, mean positive) - cos(image, mean negative), one value per image row."""
    return cosine(images, prototype(positive)) - cosine(images, prototype(negative))


@dataclass(frozen=True)
class Statistics:
    """Mean and population standard deviation of one assessment's deltas, per model."""

    mu_clip: float
    sigma_clip: float
    mu_flava: float
    sigma_flava: float
    count: int

    def to_dict(self) -> dict[str, float]:
        """JSON-ready values."""
        return {
            "mu_clip": self.mu_clip,
            "sigma_clip": self.sigma_clip,
            "mu_flava": self.mu_flava,
            "sigma_flava": self.sigma_flava,
            "count": self.count,
        }


def statistics(assessment: str, delta_clip: np.ndarray, delta_flava: np.ndarray, source: str) -> Statistics:
    """mu and sigma (population, ``ddof=0``) of both deltas over the normalisation images.

    Raises
    ------
    ModelError
        If fewer than two images are given or a delta does not vary (sigma 0: z-scores undefined).
    """
    count = len(delta_clip)
    sigma_clip, sigma_flava = float(np.std(delta_clip)), float(np.std(delta_flava))
    if count < 2 or not (sigma_clip > 0 and sigma_flava > 0):
        raise ModelError(
            f"assessment {assessment!r}: the {count} image(s) of the {source} give a standard deviation of "
            f"0 (CLIP {sigma_clip:.3g}, FLAVA {sigma_flava:.3g}), so z-scores are undefined; normalise over at "
            "least two images whose scores differ (a larger --calibration selection or batch)"
        )
    return Statistics(float(np.mean(delta_clip)), sigma_clip, float(np.mean(delta_flava)), sigma_flava, count)


def zscores(delta_clip: np.ndarray, delta_flava: np.ndarray, stats: Statistics) -> tuple[np.ndarray, np.ndarray]:
    """(z_clip, z_flava) of each image under ``stats``."""
    return (delta_clip - stats.mu_clip) / stats.sigma_clip, (delta_flava - stats.mu_flava) / stats.sigma_flava


def fuse(z_clip: np.ndarray, z_flava: np.ndarray, fusion: str, weights: tuple[float, float]) -> np.ndarray:
    """The hybrid score: plain z-sum, or the weighted sum."""
    if fusion == "zsum":
        return z_clip + z_flava
    return weights[0] * z_clip + weights[1] * z_flava


def decisions(hybrid: np.ndarray, threshold: float) -> list[str]:
    """``accept`` where hybrid >= threshold, else ``reject``."""
    return ["accept" if value >= threshold else "reject" for value in hybrid]


def nearest(image: np.ndarray, references: np.ndarray, paths: Sequence[str], k: int) -> list[dict[str, object]]:
    """The ``k`` reference images most similar to ``image`` (FLAVA cosine), most similar first."""
    similarities = l2_normalise(references) @ l2_normalise(image)[0]
    order = sorted(range(len(paths)), key=lambda i: (-similarities[i], paths[i]))[:k]
    return [{"path": paths[i], "cosine": float(similarities[i])} for i in order]


def check_fusion(fusion: str, weights: str | Sequence[float] | None) -> tuple[float, float]:
    """The weights ``fusion`` uses, checked.

    Raises
    ------
    ModelError
        For an unknown fusion, weights with ``zsum``, or weights that are not two finite
        non-negative numbers summing to 1.
    """
    if fusion not in FUSIONS:
        raise ModelError(f"--fusion {fusion!r}: choose one of {', '.join(FUSIONS)}")
    if fusion == "zsum":
        if weights is not None:
            raise ModelError("--fusion-weights only applies to --fusion weighted (zsum adds z_clip and z_flava)")
        return (1.0, 1.0)
    if weights is None:
        return DEFAULT_WEIGHTS
    parsed = _parse_weights(weights)
    if len(parsed) != 2 or not all(math.isfinite(w) and w >= 0 for w in parsed) or abs(sum(parsed) - 1) > 1e-9:
        raise ModelError(
            f"--fusion-weights {_shown(weights)}: expected two non-negative numbers summing to 1, "
            "the CLIP weight then the FLAVA weight, e.g. 0.6,0.4"
        )
    return (parsed[0], parsed[1])


def _parse_weights(weights: str | Sequence[float]) -> list[float]:
    parts = weights.split(",") if isinstance(weights, str) else list(weights)
    try:
        return [float(part) for part in parts]
    except (TypeError, ValueError):
        raise ModelError(f"--fusion-weights {_shown(weights)}: not numbers; expected e.g. 0.5,0.5") from None


def _shown(weights: str | Sequence[float]) -> str:
    return weights if isinstance(weights, str) else ",".join(str(w) for w in weights)


def check_threshold(threshold: float) -> float:
    """``threshold`` as a finite float.

    Raises
    ------
    ModelError
        For NaN or an infinite threshold.
    """
    value = float(threshold)
    if not math.isfinite(value):
        raise ModelError(f"--threshold {threshold}: expected a finite number (default 0)")
    return value

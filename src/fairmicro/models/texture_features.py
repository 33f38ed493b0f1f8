"""Haralick (GLCM) and rotation-invariant LBP texture features.

Following Stiefel et al. (2024) and Müller et al. (2020): images are
turned into 8-bit grey (RGB as luminance, 16-bit by the training data's
range, see :class:`fairmicro.models.data.IntensityScale`), grey-level co-occurrence matrices are taken at several
distances in four directions (0, 45, 90, 135 degrees), symmetric and
normalised, and Haralick's 14 features are averaged over all of them. A
rotation-invariant uniform LBP histogram (P points on radius R; P + 2 bins)
is appended. The default set (P=12, R=2) gives 14 + 14 = 28 features.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from fairmicro.models.data import IntensityScale, grey_8bit, to_array
from fairmicro.models.deps import require
from fairmicro.models.texture_cache import FeatureCache
from fairmicro.models.texture_glcm import glcm_entries
from fairmicro.models.texture_haralick import haralick_entries, haralick_stack

HARALICK_NAMES = (
    "angular_second_moment",
    "contrast",
    "correlation",
    "sum_of_squares_variance",
    "inverse_difference_moment",
    "sum_average",
    "sum_variance",
    "sum_entropy",
    "entropy",
    "difference_variance",
    "difference_entropy",
    "info_measure_correlation_1",
    "info_measure_correlation_2",
    "maximal_correlation_coefficient",
)
ANGLES = (0.0, np.pi / 4, np.pi / 2, 3 * np.pi / 4)
COMMAND = "fairmicro train texture"


@dataclass(frozen=True)
class TextureSpec:
    """Which texture features to compute."""

    distances: tuple[int, ...] = (1, 2, 4)
    levels: int = 256
    lbp_points: int = 12
    lbp_radius: float = 2.0

    def names(self) -> list[str]:
        """Feature names, in output order."""
        lbp = [f"lbp_riu2_{i}" for i in range(self.lbp_points + 2)]
        return [f"haralick_{n}" for n in HARALICK_NAMES] + lbp


def haralick(glcm: np.ndarray) -> np.ndarray:
    """Haralick's 14 features of one GLCM (levels x levels; normalised to sum 1 here).

    Computed over the matrix's non-zero entries only (a tile's GLCM is sparse),
    which gives the same sums as the dense formulas at a fraction of the cost.
    """
    return haralick_stack(np.asarray(glcm)[None])[0]


def texture_features(image: np.ndarray, spec: TextureSpec, scale: IntensityScale | None = None) -> np.ndarray:
    """The feature vector of one image.

    Parameters
    ----------
    image
        Grey or RGB(A) pixels of any integer bit depth; read-only arrays (as
        ``datasets`` and Arrow hand them out) are fine.
    spec
        Which features to compute.
    scale
        How non-8-bit values map to 8 bit (fitted on the training split); by
        default a 16-bit image is scaled by the full 16-bit range.

    Returns
    -------
    numpy.ndarray
        ``len(spec.names())`` features: 14 Haralick, then the LBP histogram.
    """
    with one_thread():
        return _grey_features(_grey(image, spec, scale), spec)


def feature_matrix(
    images: Iterable[Any], spec: TextureSpec, scale: IntensityScale | None = None, cache: FeatureCache | None = None
) -> np.ndarray:
    """The feature vectors of many images, one row each (see :func:`texture_features`).

    Tiles seen before (same 8-bit grey pixels, same ``spec``) come from
    ``cache`` (default: the process-wide :data:`FEATURE_CACHE`).
    """
    cache = FEATURE_CACHE if cache is None else cache
    rows = []
    with one_thread():
        for image in images:
            grey = _grey(image, spec, scale)
            rows.append(cache.get_or_compute(grey, spec, _grey_features))
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(spec.names()))


def one_thread() -> Any:
    """A context in which BLAS and OpenMP run one thread, with the feature libraries already loaded.

    The per-matrix eigenproblems are small and threads only contend. The
    libraries are imported *before* the limit is set: a library loaded inside
    ``threadpool_limits`` is not limited (scipy's OpenBLAS then spun two threads
    per 256 x 256 eigensolve, 10-20x slower on a busy machine).
    """
    require("skimage.feature", COMMAND)
    require("scipy.linalg", COMMAND)
    return require("threadpoolctl", COMMAND).threadpool_limits(1)


def _grey(image: Any, spec: TextureSpec, scale: IntensityScale | None) -> np.ndarray:
    """The 8-bit grey, writable, C-contiguous pixels the features are computed from."""
    grey = grey_8bit(to_array(image), scale)
    if spec.levels < 256:
        grey = (grey.astype(np.uint16) * spec.levels // 256).astype(np.uint8)
    return np.require(grey, np.uint8, ["C_CONTIGUOUS", "WRITEABLE", "OWNDATA"])


def _grey_features(grey: np.ndarray, spec: TextureSpec) -> np.ndarray:
    feature = require("skimage.feature", COMMAND)
    k, i, j, counts = glcm_entries(grey, spec.distances, ANGLES, spec.levels)
    per_matrix = haralick_entries(k, i, j, counts, len(spec.distances) * len(ANGLES), spec.levels)
    lbp = feature.local_binary_pattern(grey, spec.lbp_points, spec.lbp_radius, method="uniform")
    bins = spec.lbp_points + 2
    histogram = np.bincount(lbp.astype(np.int64).ravel(), minlength=bins)[:bins].astype(np.float64)
    histogram /= max(histogram.sum(), 1.0)
    return np.concatenate([np.mean(per_matrix, axis=0), histogram])


FEATURE_CACHE = FeatureCache()

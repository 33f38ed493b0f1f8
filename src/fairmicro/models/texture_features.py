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

from dataclasses import dataclass

import numpy as np

from fairmicro.models.data import IntensityScale, grey_8bit, to_array
from fairmicro.models.deps import require

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
EPS = 1e-12


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


def _entropy(p: np.ndarray, axis: tuple[int, ...] | int) -> np.ndarray:
    return -(p * np.log(p + EPS)).sum(axis=axis)


def _max_correlation(p: np.ndarray, px: np.ndarray, py: np.ndarray) -> float:
    used_x, used_y = px > EPS, py > EPS
    q_part = p[np.ix_(used_x, used_y)]
    if q_part.size == 0:
        return 0.0
    # Q = (p / px)(p / py)^T is similar to B B^T with B = p / sqrt(px py^T), so its
    # eigenvalues are those of the symmetric B B^T: the MCC is the root of the second largest.
    scaled = q_part / np.sqrt(np.outer(px[used_x], py[used_y]))
    size = scaled.shape[0]
    if size < 2:
        return 0.0
    linalg = require("scipy.linalg", "fairmicro train texture")
    top_two = linalg.eigvalsh(scaled @ scaled.T, subset_by_index=[size - 2, size - 1])  # ascending
    return float(np.sqrt(max(top_two[0], 0.0)))


def haralick(glcm: np.ndarray) -> np.ndarray:
    """Haralick's 14 features of one normalised symmetric GLCM (levels x levels).

    Computed over the matrix's non-zero entries only (a tile's GLCM is sparse),
    which gives the same sums as the dense formulas at a fraction of the cost.
    """
    p_full = glcm / max(glcm.sum(), EPS)
    levels = p_full.shape[0]
    i, j = np.nonzero(p_full)
    p = p_full[i, j]
    px, py = p_full.sum(axis=1), p_full.sum(axis=0)
    k = np.arange(levels)
    mu_x, mu_y = (k * px).sum(), (k * py).sum()
    sd_x, sd_y = np.sqrt(((k - mu_x) ** 2 * px).sum()), np.sqrt(((k - mu_y) ** 2 * py).sum())
    p_sum = np.bincount(i + j, p, minlength=2 * levels - 1)
    p_diff = np.bincount(np.abs(i - j), p, minlength=levels)
    sums, diffs = np.arange(2 * levels - 1), np.arange(levels)
    sum_average = (sums * p_sum).sum()
    hxy = _entropy(p, 0)
    hx, hy = _entropy(px, 0), _entropy(py, 0)
    hxy1 = -(p * np.log(px[i] * py[j] + EPS)).sum()
    hxy2 = hx + hy  # -sum px_i py_j log(px_i py_j) over the full outer product
    difference_mean = (diffs * p_diff).sum()
    squared_difference = (i - j) ** 2
    return np.array(
        [
            (p**2).sum(),
            (squared_difference * p).sum(),
            ((i * j * p).sum() - mu_x * mu_y) / (sd_x * sd_y) if sd_x * sd_y > EPS else 0.0,
            ((i - mu_x) ** 2 * p).sum(),
            (p / (1.0 + squared_difference)).sum(),
            sum_average,
            ((sums - sum_average) ** 2 * p_sum).sum(),
            _entropy(p_sum, 0),
            hxy,
            ((diffs - difference_mean) ** 2 * p_diff).sum(),
            _entropy(p_diff, 0),
            (hxy - hxy1) / max(hx, hy) if max(hx, hy) > EPS else 0.0,
            np.sqrt(max(0.0, 1.0 - np.exp(-2.0 * (hxy2 - hxy)))),
            _max_correlation(p_full, px, py),
        ]
    )


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
    feature = require("skimage.feature", "fairmicro train texture")
    grey = grey_8bit(to_array(image), scale)
    if spec.levels < 256:
        grey = (grey.astype(np.uint16) * spec.levels // 256).astype(np.uint8)
    grey = np.require(grey, np.uint8, ["C_CONTIGUOUS", "WRITEABLE", "OWNDATA"])
    glcm = feature.graycomatrix(
        grey, distances=list(spec.distances), angles=list(ANGLES), levels=spec.levels, symmetric=True, normed=True
    )
    per_matrix = [haralick(glcm[:, :, d, a]) for d in range(glcm.shape[2]) for a in range(glcm.shape[3])]
    lbp = feature.local_binary_pattern(grey, spec.lbp_points, spec.lbp_radius, method="uniform")
    bins = spec.lbp_points + 2
    histogram = np.bincount(lbp.astype(np.int64).ravel(), minlength=bins)[:bins].astype(np.float64)
    histogram /= max(histogram.sum(), 1.0)
    return np.concatenate([np.mean(per_matrix, axis=0), histogram])

"""Haralick's 14 features of a stack of GLCMs (all distances and angles of a tile) in one pass.

Each sum runs over the stack's non-zero entries only (a tile's GLCM has a few
thousand of 65536) and is grouped per matrix with ``bincount``, so a tile's
twelve matrices cost one set of numpy calls instead of twelve, and nothing
dense is built except ``B`` for the maximal correlation coefficient, which
needs an eigensolve per matrix (see :func:`max_correlation`) over the grey
levels that occur. :func:`haralick_entries` takes the entries straight from
:mod:`fairmicro.models.texture_glcm`.
"""

from __future__ import annotations

import numpy as np

from fairmicro.models.deps import require

EPS = 1e-12
COMMAND = "fairmicro train texture"


def _entropy(p: np.ndarray, axis: tuple[int, ...] | int) -> np.ndarray:
    return -(p * np.log(p + EPS)).sum(axis=axis)


def haralick_stack(glcms: np.ndarray) -> np.ndarray:
    """Haralick's 14 features of each GLCM of ``glcms`` (shape ``(k, levels, levels)``), as ``(k, 14)``.

    Each matrix is normalised to sum 1 first; a symmetric GLCM is not required.
    """
    glcms = np.asarray(glcms, dtype=np.float64)
    count, levels = glcms.shape[0], glcms.shape[1]
    k, rest = np.divmod(np.flatnonzero(glcms), levels * levels)
    i, j = np.divmod(rest, levels)
    return haralick_entries(k, i, j, glcms[k, i, j], count, levels)


def haralick_entries(
    k: np.ndarray, i: np.ndarray, j: np.ndarray, values: np.ndarray, count: int, levels: int
) -> np.ndarray:
    """Haralick's features of ``count`` GLCMs given by their non-zero entries, as ``(count, 14)``.

    Entry ``n`` is ``values[n]`` at row ``i[n]``, column ``j[n]`` of matrix
    ``k[n]``; entries must be grouped by ``k`` in increasing order, each
    position at most once. Every matrix is normalised to sum 1.
    """
    totals = np.bincount(k, values, minlength=count)
    p = values / np.maximum(totals, EPS)[k]
    px = _grouped(k * levels + i, p, count, levels)
    py = _grouped(k * levels + j, p, count, levels)
    grey = np.arange(levels, dtype=np.float64)
    mu_x, mu_y = px @ grey, py @ grey
    sd_x = np.sqrt(((grey - mu_x[:, None]) ** 2 * px).sum(axis=1))
    sd_y = np.sqrt(((grey - mu_y[:, None]) ** 2 * py).sum(axis=1))
    p_sum = _grouped(k * (2 * levels - 1) + i + j, p, count, 2 * levels - 1)
    p_diff = _grouped(k * levels + np.abs(i - j), p, count, levels)
    features = np.empty((count, 14))
    _moments(features, k, i, j, p, count, (mu_x, mu_y, sd_x, sd_y))
    _sum_difference(features, p_sum, p_diff)
    _information(features, k, i, j, p, count, px, py)
    bounds = np.searchsorted(k, np.arange(count + 1))
    for m in range(count):
        entries = slice(bounds[m], bounds[m + 1])
        features[m, 13] = max_correlation(i[entries], j[entries], p[entries], px[m], py[m])
    return features


def max_correlation(i: np.ndarray, j: np.ndarray, p: np.ndarray, px: np.ndarray, py: np.ndarray) -> float:
    """Maximal correlation coefficient of one normalised GLCM given by its non-zero entries and marginals.

    Q = (p / px)(p / py)^T is similar to B B^T with B = p / sqrt(px py^T) over the
    grey levels that occur (empty rows and columns only add zero eigenvalues), so
    its eigenvalues are those of the symmetric B B^T: the MCC is the root of the
    second largest. ``B`` is assembled from the entries (no dense division).
    """
    used_x, used_y = px > EPS, py > EPS
    size, width = int(used_x.sum()), int(used_y.sum())
    if size < 2 or width == 0:
        return 0.0
    keep = used_x[i] & used_y[j]
    i, j, p = i[keep], j[keep], p[keep]
    scaled = np.zeros((size, width))
    scaled[(np.cumsum(used_x) - 1)[i], (np.cumsum(used_y) - 1)[j]] = p / np.sqrt(px[i] * py[j])
    linalg = require("scipy.linalg", COMMAND)
    top_two = linalg.eigvalsh(scaled @ scaled.T, subset_by_index=[size - 2, size - 1], check_finite=False)
    return float(np.sqrt(max(top_two[0], 0.0)))


def _grouped(index: np.ndarray, weights: np.ndarray, count: int, width: int) -> np.ndarray:
    return np.bincount(index, weights, minlength=count * width).reshape(count, width)


def _per_matrix(k: np.ndarray, values: np.ndarray, count: int) -> np.ndarray:
    return np.bincount(k, values, minlength=count)


def _moments(
    out: np.ndarray, k: np.ndarray, i: np.ndarray, j: np.ndarray, p: np.ndarray, count: int, stats: tuple
) -> None:
    """ASM, contrast, correlation, sum of squares (variance), inverse difference moment."""
    mu_x, mu_y, sd_x, sd_y = stats
    squared_difference = (i - j) ** 2
    out[:, 0] = _per_matrix(k, p**2, count)
    out[:, 1] = _per_matrix(k, squared_difference * p, count)
    spread = sd_x * sd_y
    covariance = _per_matrix(k, i * j * p, count) - mu_x * mu_y
    out[:, 2] = np.where(spread > EPS, covariance / np.where(spread > EPS, spread, 1.0), 0.0)
    out[:, 3] = _per_matrix(k, (i - mu_x[k]) ** 2 * p, count)
    out[:, 4] = _per_matrix(k, p / (1.0 + squared_difference), count)


def _sum_difference(out: np.ndarray, p_sum: np.ndarray, p_diff: np.ndarray) -> None:
    """Sum average, sum variance, sum entropy, difference variance, difference entropy."""
    sums, diffs = np.arange(p_sum.shape[1]), np.arange(p_diff.shape[1])
    sum_average = p_sum @ sums
    difference_mean = p_diff @ diffs
    out[:, 5] = sum_average
    out[:, 6] = ((sums - sum_average[:, None]) ** 2 * p_sum).sum(axis=1)
    out[:, 7] = _entropy(p_sum, 1)
    out[:, 9] = ((diffs - difference_mean[:, None]) ** 2 * p_diff).sum(axis=1)
    out[:, 10] = _entropy(p_diff, 1)


def _information(
    out: np.ndarray,
    k: np.ndarray,
    i: np.ndarray,
    j: np.ndarray,
    p: np.ndarray,
    count: int,
    px: np.ndarray,
    py: np.ndarray,
) -> None:
    """Entropy and the two information measures of correlation."""
    hxy = _per_matrix(k, -(p * np.log(p + EPS)), count)
    hx, hy = _entropy(px, 1), _entropy(py, 1)
    hxy1 = _per_matrix(k, -(p * np.log(px[k, i] * py[k, j] + EPS)), count)
    hxy2 = hx + hy  # -sum px_i py_j log(px_i py_j) over the full outer product
    larger = np.maximum(hx, hy)
    out[:, 8] = hxy
    out[:, 11] = np.where(larger > EPS, (hxy - hxy1) / np.where(larger > EPS, larger, 1.0), 0.0)
    out[:, 12] = np.sqrt(np.maximum(0.0, 1.0 - np.exp(-2.0 * (hxy2 - hxy))))

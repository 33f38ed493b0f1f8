"""Symmetric grey-level co-occurrence matrices of one image, as their non-zero entries.

The same counts as ``skimage.feature.graycomatrix(..., symmetric=True)`` (the
pixel offset of distance ``d`` at angle ``a`` is ``(round(sin(a) d),
round(cos(a) d))`` rounded half away from zero, as skimage does; a pair
counts once each way), but without the dense ``levels x levels x distances x
angles`` array: a 64 x 64 tile has about 4000 pairs per offset, so at 256
levels more than nine entries in ten of that array are zero, and scanning it
for the non-zero ones cost more than all the Haralick sums.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def offset(distance: float, angle: float) -> tuple[int, int]:
    """Row and column offset of the pixel pairs at ``distance`` and ``angle`` (skimage's rounding)."""
    return _away(math.sin(angle) * float(distance)), _away(math.cos(angle) * float(distance))


def _away(value: float) -> int:
    return int(value + 0.5) if value > 0.0 else int(value - 0.5)


def _pair_codes(grey: np.ndarray, row: int, col: int, levels: int) -> np.ndarray:
    """``first * levels + second`` of every pixel pair at offset (row, col), both orders."""
    rows, cols = grey.shape
    r0, r1, c0, c1 = max(0, -row), min(rows, rows - row), max(0, -col), min(cols, cols - col)
    if r1 <= r0 or c1 <= c0:
        return np.zeros(0, np.int64)
    first = grey[r0:r1, c0:c1].astype(np.int64).ravel()
    second = grey[r0 + row : r1 + row, c0 + col : c1 + col].astype(np.int64).ravel()
    return np.concatenate([first * levels + second, second * levels + first])


def glcm_entries(
    grey: np.ndarray, distances: Sequence[float], angles: Sequence[float], levels: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Non-zero entries ``(k, i, j, count)`` of the symmetric GLCMs, matrix ``k = distance index * len(angles)
    + angle index``, grouped by ``k`` in increasing order (the layout :func:`haralick_entries` takes).

    ``grey`` holds integers in ``0 .. levels - 1``.
    """
    blocks = [
        _pair_codes(grey, *offset(distance, angle), levels) + m * levels * levels
        for m, (distance, angle) in enumerate((d, a) for d in distances for a in angles)
    ]
    codes = np.concatenate(blocks)
    # one representative per distinct code (its last occurrence), found without a sort or a scan of the
    # dense matrices; codes of one matrix are contiguous, so representatives stay grouped by matrix
    last = np.empty(len(blocks) * levels * levels, np.int64)  # only the entries written below are read
    positions = np.arange(len(codes))
    last[codes] = positions
    representative = last[codes]
    chosen = representative == positions
    counts = np.bincount(representative, minlength=len(codes))[chosen]
    k, rest = np.divmod(codes[chosen], levels * levels)
    i, j = np.divmod(rest, levels)
    return k, i, j, counts.astype(np.float64)

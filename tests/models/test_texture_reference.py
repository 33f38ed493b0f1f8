"""The texture features equal a straightforward reference implementation (the code path before the speed-up).

The reference below is the pre-optimisation ``texture_features``: one skimage
GLCM array, Haralick per matrix, the maximal correlation coefficient from a
dense eigensolve of ``B B^T``. ``benchmarks/texture_features.py`` times it
against the current code. Default parameters throughout (16-bit at the default
256 levels).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import linalg
from skimage import feature
from threadpoolctl import threadpool_limits

from fairmicro.models.data import IntensityScale, grey_8bit, to_array
from fairmicro.models.texture_cache import FeatureCache
from fairmicro.models.texture_features import ANGLES, TextureSpec, feature_matrix, haralick, texture_features
from fairmicro.testing.samples import texture

EPS = 1e-12
TOLERANCE = {"rtol": 1e-9, "atol": 1e-9}


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """The reference runs single-threaded too (as the plugin always did); scipy is loaded above."""
    with threadpool_limits(1):
        yield


# ----------------------------------------------------------------- the reference
def _entropy(p: np.ndarray, axis: int) -> np.ndarray:
    return -(p * np.log(p + EPS)).sum(axis=axis)


def reference_max_correlation(p: np.ndarray, px: np.ndarray, py: np.ndarray) -> float:
    used_x, used_y = px > EPS, py > EPS
    q_part = p[np.ix_(used_x, used_y)]
    if q_part.size == 0:
        return 0.0
    scaled = q_part / np.sqrt(np.outer(px[used_x], py[used_y]))
    size = scaled.shape[0]
    if size < 2:
        return 0.0
    top_two = linalg.eigvalsh(scaled @ scaled.T, subset_by_index=[size - 2, size - 1])
    return float(np.sqrt(max(top_two[0], 0.0)))


def reference_haralick(glcm: np.ndarray) -> np.ndarray:
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
    hxy2 = hx + hy
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
            reference_max_correlation(p_full, px, py),
        ]
    )


def reference_features(image: np.ndarray, spec: TextureSpec, scale: IntensityScale | None = None) -> np.ndarray:
    grey = grey_8bit(to_array(image), scale)
    if spec.levels < 256:
        grey = (grey.astype(np.uint16) * spec.levels // 256).astype(np.uint8)
    grey = np.require(grey, np.uint8, ["C_CONTIGUOUS", "WRITEABLE", "OWNDATA"])
    glcm = feature.graycomatrix(
        grey, distances=list(spec.distances), angles=list(ANGLES), levels=spec.levels, symmetric=True, normed=True
    )
    per_matrix = [reference_haralick(glcm[:, :, d, a]) for d in range(glcm.shape[2]) for a in range(glcm.shape[3])]
    lbp = feature.local_binary_pattern(grey, spec.lbp_points, spec.lbp_radius, method="uniform")
    bins = spec.lbp_points + 2
    histogram = np.bincount(lbp.astype(np.int64).ravel(), minlength=bins)[:bins].astype(np.float64)
    histogram /= max(histogram.sum(), 1.0)
    return np.concatenate([np.mean(per_matrix, axis=0), histogram])


# ------------------------------------------------------------------------ tiles
def _rgb(shape: tuple[int, int], seed: int, dtype: str = "uint8") -> np.ndarray:
    return np.stack([texture(shape, kind=k, seed=seed + k, dtype=dtype) for k in range(3)], axis=-1)


def _dim_16bit(shape: tuple[int, int]) -> np.ndarray:
    return (texture(shape, kind=1, seed=5, dtype="uint16") // 16).astype(np.uint16)  # 12-bit data in 16 bits


TILES = {
    "8-bit": lambda: texture((64, 64), kind=0, seed=1),
    "8-bit stripes": lambda: texture((48, 80), kind=2, seed=2),
    "16-bit": lambda: texture((64, 64), kind=1, seed=3, dtype="uint16"),
    "16-bit, 12-bit range": lambda: _dim_16bit((40, 40)),
    "RGB": lambda: _rgb((64, 64), seed=4),
    "RGB 16-bit": lambda: _rgb((32, 48), seed=6, dtype="uint16"),
    "RGBA": lambda: np.dstack([_rgb((32, 32), seed=7), np.full((32, 32), 255, np.uint8)]),
    "few grey levels": lambda: (texture((40, 40), kind=1, seed=8) // 64 * 64).astype(np.uint8),
    "two levels": lambda: np.indices((24, 24)).sum(axis=0).astype(np.uint8) % 2 * 200,
    "constant": lambda: np.full((16, 16), 77, np.uint8),
    "tiny": lambda: np.array([[0, 255], [255, 0]], np.uint8),
}


@pytest.mark.parametrize("name", list(TILES))
def test_features_equal_the_reference_at_default_parameters(name):
    image = TILES[name]()
    spec = TextureSpec()
    expected = reference_features(image, spec)
    np.testing.assert_allclose(texture_features(image, spec), expected, **TOLERANCE)
    read_only = image.copy()
    read_only.setflags(write=False)
    np.testing.assert_allclose(feature_matrix([read_only], spec, cache=FeatureCache())[0], expected, **TOLERANCE)


def test_features_equal_the_reference_with_a_fitted_16_bit_scale():
    images = [texture((48, 48), kind=k, seed=k, dtype="uint16") // 4 for k in range(3)]
    scale = IntensityScale().fit(iter(images))
    expected = np.array([reference_features(image, TextureSpec(), scale) for image in images])
    np.testing.assert_allclose(
        feature_matrix(images, TextureSpec(), scale, cache=FeatureCache()), expected, **TOLERANCE
    )


@pytest.mark.parametrize(
    "spec",
    [
        TextureSpec(levels=32),
        TextureSpec(levels=2),
        TextureSpec(distances=(1, 3)),
        TextureSpec(distances=(1, 50)),  # no pixel pair at 50 px in a 40 px tile: an empty GLCM
        TextureSpec(distances=(0,)),
        TextureSpec(lbp_points=8),
    ],
)
def test_features_equal_the_reference_with_other_settings(spec):
    image = texture((40, 40), kind=2, seed=9)
    np.testing.assert_allclose(texture_features(image, spec), reference_features(image, spec), **TOLERANCE)


def _random_glcm(rng: np.random.Generator, levels: int, symmetric: bool) -> np.ndarray:
    counts = rng.poisson(0.3, size=(levels, levels)).astype(np.float64)
    counts[rng.choice(levels, levels // 3, replace=False)] = 0.0  # grey levels that never occur
    return counts + counts.T if symmetric else counts


@pytest.mark.parametrize("symmetric", [True, False])
def test_haralick_of_one_matrix_equals_the_reference(symmetric):
    rng = np.random.default_rng(11)
    for levels in (2, 5, 64, 256):
        glcm = _random_glcm(rng, levels, symmetric)
        np.testing.assert_allclose(haralick(glcm), reference_haralick(glcm), **TOLERANCE)
    for degenerate in (np.zeros((8, 8)), np.eye(1), np.diag([0.0, 3.0, 0.0])):
        np.testing.assert_allclose(haralick(degenerate), reference_haralick(degenerate), **TOLERANCE)


def test_real_micrograph_tiles_equal_the_reference(real_tiffs):
    import tifffile

    pixels = tifffile.imread(real_tiffs / "fei" / "FEI-Helios-Ebeam-8bits.tif")
    for top, left in ((0, 0), (200, 300)):
        tile = pixels[top : top + 96, left : left + 96]
        np.testing.assert_allclose(
            texture_features(tile, TextureSpec()), reference_features(tile, TextureSpec()), **TOLERANCE
        )


@pytest.mark.parametrize(
    ("shape", "distances", "angles", "levels"),
    [
        ((33, 47), (1, 2, 4), ANGLES, 256),
        ((20, 9), (0, 1, 3, 5, 25), (0.0, np.pi / 6, np.pi / 3, np.pi, -np.pi / 4, 2.5), 64),
        ((1, 1), (1,), ANGLES, 8),
    ],
)
def test_glcm_entries_are_skimage_symmetric_counts(shape, distances, angles, levels):
    from fairmicro.models.texture_glcm import glcm_entries

    grey = np.random.default_rng(0).integers(0, levels, size=shape).astype(np.uint8)
    expected = feature.graycomatrix(grey, list(distances), list(angles), levels=levels, symmetric=True)
    k, i, j, counts = glcm_entries(grey, distances, angles, levels)
    got = np.zeros((len(distances) * len(angles), levels, levels))
    got[k, i, j] = counts
    assert np.all(np.diff(k) >= 0) and len(set(zip(k.tolist(), i.tolist(), j.tolist()))) == len(k)
    assert np.array_equal(got, np.moveaxis(expected.reshape(levels, levels, -1), 2, 0))

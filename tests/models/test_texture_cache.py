"""Texture features are computed once per tile and run, and the cache can never answer for another input."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from fairmicro.models.data import IntensityScale, iter_images
from fairmicro.models.texture_cache import FeatureCache
from fairmicro.models.texture_features import FEATURE_CACHE, TextureSpec, feature_matrix, texture_features
from fairmicro.testing.samples import texture


def test_a_tile_seen_again_is_not_recomputed_and_gives_the_same_features():
    cache = FeatureCache()
    tiles = [texture((32, 32), kind=k, seed=k) for k in range(3)]
    first = feature_matrix(tiles, TextureSpec(), cache=cache)
    again = feature_matrix([t.copy() for t in reversed(tiles)], TextureSpec(), cache=cache)
    assert (cache.misses, cache.hits, len(cache)) == (3, 3, 3)
    assert np.array_equal(again, first[::-1])
    assert np.array_equal(first, np.array([texture_features(t, TextureSpec()) for t in tiles]))


def test_returned_rows_do_not_alias_the_cache():
    cache = FeatureCache()
    tile = texture((24, 24), seed=1)
    rows = feature_matrix([tile], TextureSpec(), cache=cache)
    rows[:] = -1.0  # a caller scribbling on its matrix
    assert np.array_equal(feature_matrix([tile], TextureSpec(), cache=cache)[0], texture_features(tile, TextureSpec()))


@pytest.mark.parametrize(
    "variant",
    [
        "one pixel changed",
        "transposed",
        "other levels",
        "other distances",
        "other scale",
        "grey copy of RGB",
    ],
)
def test_a_different_input_is_a_miss_never_a_stale_hit(variant):
    cache = FeatureCache()
    tile16 = texture((32, 32), kind=1, seed=2, dtype="uint16") // 8
    image, spec, scale = tile16, TextureSpec(), IntensityScale().fit(iter([tile16]))
    feature_matrix([image], spec, scale, cache=cache)
    other_image, other_spec, other_scale = image.copy(), spec, scale
    if variant == "one pixel changed":
        other_image[5, 7] = other_image[5, 7] // 2 + 1000
    elif variant == "transposed":
        other_image = image.T.copy()
    elif variant == "other levels":
        other_spec = TextureSpec(levels=64)
    elif variant == "other distances":
        other_spec = TextureSpec(distances=(1, 2))
    elif variant == "other scale":
        other_scale = IntensityScale()  # full 16-bit range: darker 8-bit grey
    else:
        image = np.stack([texture((32, 32), kind=k, seed=k) for k in range(3)], axis=-1)
        feature_matrix([image], spec, None, cache=cache)
        other_image, other_scale = image[..., 0].copy(), None
    got = feature_matrix([other_image], other_spec, other_scale, cache=cache)[0]
    assert cache.hits == 0
    assert np.array_equal(got, texture_features(other_image, other_spec, other_scale))


def test_the_cache_is_bounded_least_recently_used_first():
    cache = FeatureCache(max_entries=2)
    a, b, c = (texture((16, 16), seed=s) for s in range(3))
    feature_matrix([a, b, a, c], TextureSpec(), cache=cache)  # a was used after b: b goes
    assert len(cache) == 2 and (cache.misses, cache.hits) == (3, 1)
    feature_matrix([a], TextureSpec(), cache=cache)
    feature_matrix([b], TextureSpec(), cache=cache)
    assert (cache.misses, cache.hits) == (4, 2)


def _digest(image: np.ndarray) -> bytes:
    return hashlib.sha256(np.ascontiguousarray(image).tobytes() + str(image.shape).encode()).digest()


@pytest.mark.slow
def test_a_hybrid_run_with_the_shuffle_checks_computes_each_tile_once(textured):
    from fairmicro.builders.resolve import resolve_dataset
    from fairmicro.models.runner import train

    cli, dataset = textured
    splits = resolve_dataset(str(dataset), catalog=cli.catalog).dataset
    n_train, n_validation = len(splits["train"]), len(splits["validation"])
    distinct = {_digest(image) for name in ("train", "validation") for image in iter_images(splits[name])}
    FEATURE_CACHE.clear()
    result = train(
        "texture",
        str(dataset),
        {"mode": "hybrid"},
        catalog=cli.catalog,
        runs_dir=cli.cwd / "runs",
        shuffle_metadata_check=True,
    )
    assert "accuracy" in result.metrics["shuffled_metadata_at_training"]
    assert "accuracy" in result.metrics["shuffled_metadata_at_evaluation"]
    # fit (train), evaluation, shuffled evaluation, shuffled refit (train), its evaluation
    assert FEATURE_CACHE.misses + FEATURE_CACHE.hits == 2 * n_train + 3 * n_validation
    assert FEATURE_CACHE.misses == len(distinct)

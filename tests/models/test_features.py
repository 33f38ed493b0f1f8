"""Haralick/LBP features and metadata preprocessing, checked against independent computations."""

from __future__ import annotations

import datasets
import numpy as np
import pytest
from skimage.feature import graycomatrix, graycoprops

from fairmicro.models.metadata import MetadataPreprocessor, parse_metadata_option
from fairmicro.models.texture_features import (
    HARALICK_NAMES,
    TextureSpec,
    haralick,
    texture_features,
)
from fairmicro.testing.samples import texture


@pytest.mark.parametrize(("index", "prop"), [(0, "ASM"), (1, "contrast"), (2, "correlation"), (4, "homogeneity")])
def test_haralick_agrees_with_skimage(index, prop):
    image = texture((48, 48), kind=1, seed=3)
    glcm = graycomatrix(image, [2], [np.pi / 4], levels=256, symmetric=True, normed=True)
    assert haralick(glcm[:, :, 0, 0])[index] == pytest.approx(graycoprops(glcm, prop)[0, 0], rel=1e-9)


def test_maximal_correlation_coefficient_of_perfectly_dependent_levels_is_one():
    glcm = np.diag([0.25, 0.25, 0.25, 0.25])  # j is a function of i
    assert haralick(glcm)[13] == pytest.approx(1.0)
    independent = np.full((4, 4), 1 / 16)
    assert haralick(independent)[13] == pytest.approx(0.0, abs=1e-6)  # sqrt of rounding noise


def test_default_feature_set_has_28_named_features_and_16_bit_works():
    spec = TextureSpec()
    assert len(spec.names()) == 28 and len(HARALICK_NAMES) == 14
    features = texture_features(texture((40, 40), dtype="uint16"), spec)
    assert features.shape == (28,) and np.isfinite(features).all()
    assert features[14:].sum() == pytest.approx(1.0)  # the LBP histogram is normalised


def _split(values: dict) -> datasets.Dataset:
    return datasets.Dataset.from_dict(values)


def test_preprocessor_is_fitted_on_training_rows_only():
    train = _split(
        {
            "accelerating_voltage_kv": [5.0, 15.0, None],
            "detector": ["ETD", "InLens", "ETD"],
            "magnification": [100.0, 100.0, 100.0],
            "label": [0, 1, 0],
        }
    )
    test = _split(
        {
            "accelerating_voltage_kv": [1000.0, None],
            "detector": ["HE-SE2", None],
            "magnification": [5.0, 5.0],
            "label": [0, 1],
        }
    )
    pre = MetadataPreprocessor("auto").fit(train)
    assert pre.chosen_columns == ["accelerating_voltage_kv", "detector"]  # magnification does not vary
    assert pre.feature_names() == [
        "accelerating_voltage_kv",
        "accelerating_voltage_kv__missing",
        "detector=ETD",
        "detector=InLens",
    ]
    matrix = pre.transform(test)
    assert matrix[0, 0] == pytest.approx((1000.0 - 10.0) / 5.0)  # scaled with training mean/std
    assert matrix[1, 0] == 0.0 and matrix[1, 1] == 1.0  # imputed with the mean, flagged
    assert matrix[0, 2:].tolist() == [0.0, 0.0]  # an unseen detector is all zeros
    restored = MetadataPreprocessor.from_dict(pre.to_dict())
    assert np.array_equal(restored.transform(test), matrix)


def test_identity_and_file_columns_are_never_metadata():
    train = _split(
        {
            "image_sha256": ["a", "b"],
            "specimen_id": ["S1", "S2"],
            "size_bytes": [1, 2],
            "tile_x_px": [0, 32],
            "working_distance_mm": [4.0, 5.0],
            "label": [0, 1],
        }
    )
    assert MetadataPreprocessor("auto").fit(train).chosen_columns == ["working_distance_mm"]


@pytest.mark.parametrize(("text", "expected"), [(None, "auto"), ("auto", "auto"), ("none", []), ("a, b", ["a", "b"])])
def test_parse_metadata_option(text, expected):
    assert parse_metadata_option(text) == expected


def test_a_feature_constant_within_each_class_ranks_first_not_last():
    # f_classif's total-minus-between cancels to a tiny negative within-class sum for such a feature,
    # giving it a huge negative F: the one column that carries the label was ranked last and dropped.
    from fairmicro.models.texture import anova_f

    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 8)
    separator = np.array([800.0, 970.0, 1100.0])[y]
    scaled = (separator - separator.mean()) / separator.std()  # as the pipeline's scaler hands it over
    noise = rng.normal(size=(24, 3))
    scores, p_values = anova_f(np.column_stack([noise, scaled]), y)
    assert np.argmax(scores) == 3
    assert scores[3] > 1e300 and p_values[3] == 0.0
    assert np.all(np.isfinite(scores)) and np.all(scores >= 0)

"""The qualifier's arithmetic, options and assessment files (no models needed)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from fairmicro.errors import ModelError
from fairmicro.models.qualifier import scoring
from fairmicro.models.qualifier.assessments import builtin_sets, load_assessments
from fairmicro.models.qualifier.run import check_options

NI_WC = ["dilution", "heat-affected zone", "reinforcement", "porosity", "carbide dissolution", "carbide distribution"]


# ----------------------------------------------------------------- arithmetic
def test_delta_normalises_every_embedding_before_averaging():
    image = np.array([[1.0, 0.0]])
    # a long positive prompt vector would dominate an unnormalised mean
    positive = np.array([[10.0, 10.0], [0.0, -1.0]])
    negative = np.array([[0.0, 1.0]])
    unit = positive / np.linalg.norm(positive, axis=1, keepdims=True)
    mean = unit.mean(axis=0)
    expected = (image[0] @ mean) / np.linalg.norm(mean) - 0.0
    assert scoring.delta(image, positive, negative)[0] == pytest.approx(expected, abs=1e-12)
    unnormalised = positive.mean(axis=0)
    assert expected != pytest.approx((image[0] @ unnormalised) / np.linalg.norm(unnormalised))


def test_statistics_use_the_population_standard_deviation():
    clip, flava = np.array([0.1, 0.2, 0.6]), np.array([1.0, 3.0, 2.0])
    stats = scoring.statistics("a", clip, flava, "batch")
    assert stats.sigma_clip == pytest.approx(np.sqrt(np.mean((clip - clip.mean()) ** 2)))
    assert stats.sigma_flava == pytest.approx(np.sqrt(2 / 3))
    _, z_flava = scoring.zscores(clip, flava, stats)
    assert z_flava.tolist() == pytest.approx([-np.sqrt(1.5), np.sqrt(1.5), 0.0])


@pytest.mark.parametrize("clip, flava", [([0.3], [0.1]), ([0.2, 0.2], [0.1, 0.5]), ([0.1, 0.4], [0.3, 0.3])])
def test_statistics_refuse_a_zero_standard_deviation(clip, flava):
    with pytest.raises(ModelError, match="standard deviation of 0"):
        scoring.statistics("porosity", np.array(clip), np.array(flava), "batch")


def test_fusion_and_threshold_edge():
    z_clip, z_flava = np.array([1.0, -1.0, 0.5]), np.array([-1.0, 0.5, 0.5])
    assert scoring.fuse(z_clip, z_flava, "zsum", (1.0, 1.0)).tolist() == [0.0, -0.5, 1.0]
    assert scoring.fuse(z_clip, z_flava, "weighted", (0.25, 0.75)).tolist() == pytest.approx([-0.5, 0.125, 0.5])
    assert scoring.decisions(np.array([0.0, -1e-12, 1.0]), 0.0) == ["accept", "reject", "accept"]
    assert scoring.decisions(np.array([0.5]), 0.5) == ["accept"]


def test_nearest_lists_references_most_similar_first():
    refs = np.array([[0.0, 1.0], [1.0, 0.1], [1.0, 0.0]])
    found = scoring.nearest(np.array([[2.0, 0.0]]), refs, ["a", "b", "c"], 2)
    assert [n["path"] for n in found] == ["c", "b"]
    assert found[0]["cosine"] == pytest.approx(1.0)
    assert set(found[0]) == {"path", "cosine"}


# -------------------------------------------------------------------- options
@pytest.mark.parametrize(
    "fusion, weights, message",
    [
        ("mean", None, "--fusion 'mean'"),
        ("zsum", "0.5,0.5", "only applies to --fusion weighted"),
        ("weighted", "0.5,0.6", "summing to 1"),
        ("weighted", "a,b", "not numbers"),
        ("weighted", "1", "two non-negative numbers"),
        ("weighted", "-0.5,1.5", "non-negative"),
        ("weighted", "nan,0.5", "summing to 1"),
        ("weighted", "0.2,0.3,0.5", "two non-negative"),
        ("weighted", "", "not numbers"),
    ],
)
def test_bad_fusion_options_are_one_line_errors(fusion, weights, message):
    with pytest.raises(ModelError, match=message) as caught:
        check_options("TRUE", "c", "f", fusion, weights, 0.0, None, None, 3)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "calibration, normalise, threshold, top_k, message",
    [
        ("TRUE", "batch", 0.0, 3, "not both"),
        (None, "calibration", 0.0, 3, "needs --calibration"),
        (None, "zscore", 0.0, 3, "--normalise 'zscore'"),
        ("  ", None, 0.0, 3, "empty selection"),
        (None, None, float("nan"), 3, "--threshold"),
        (None, None, float("inf"), 3, "--threshold"),
        (None, None, 0.0, 0, "--top-k"),
    ],
)
def test_bad_normalisation_options(calibration, normalise, threshold, top_k, message):
    with pytest.raises(ModelError, match=message):
        check_options("TRUE", "c", "f", "zsum", None, threshold, calibration, normalise, top_k)


def test_default_options():
    options = check_options("TRUE", "c", "f", "zsum", None, 0, None, None, 3)
    assert (options.normalisation, options.threshold, options.fusion) == ("batch", 0.0, "zsum")
    weighted = check_options("TRUE", "c", "f", "weighted", None, 0, "label = 'x'", None, 3)
    assert weighted.weights == (0.5, 0.5) and weighted.normalisation == "calibration"


# --------------------------------------------------------------- assessments
def test_builtin_ni_wc_set_has_the_six_assessments():
    assert "ni-wc" in builtin_sets()
    loaded = load_assessments("ni-wc")
    assert [a.name for a in loaded.assessments] == NI_WC
    for assessment in loaded.assessments:
        assert assessment.positive_prompts and assessment.negative_prompts and assessment.criterion
        assert assessment.positive_references.where and assessment.negative_references.where


VALID = """\
name: lab
assessments:
  - name: porosity
    criterion: dense
    positive_prompts: [a dense coating]
    negative_prompts: [a porous coating]
    positive_references: {paths: [good.png]}
    negative_references: {where: "label = 'bad'"}
"""


@pytest.fixture
def assessment_folder(tmp_path: Path) -> Path:
    (tmp_path / "good.png").write_bytes(b"not read when loading")
    return tmp_path


@pytest.mark.parametrize(
    "text, message",
    [
        ("name: [unclosed", "not valid YAML (line 1"),
        ("- just\n- a list\n", "expected a mapping"),
        (VALID.replace("[a dense coating]", "[]"), "assessments[0] (porosity).positive_prompts: empty list"),
        (VALID.replace("[a porous coating]", "['  ']"), "negative_prompts: an empty prompt"),
        (
            VALID.replace("    criterion: dense\n", "    criterion: dense\n    colour: red\n"),
            "assessments[0] (porosity).colour: unknown key",
        ),
        (VALID.replace("name: lab\n", "name: lab\nauthor: me\n"), "author: unknown key"),
        (VALID.replace("good.png", "missing.png"), "positive_references.paths: reference image missing.png does not"),
        (VALID.replace("{paths: [good.png]}", "{}"), "positive_references: no reference images"),
        (VALID.replace("    negative_references: {where: \"label = 'bad'\"}\n", ""), "negative_references: missing"),
        (VALID.replace("name: lab\n", ""), "name: missing"),
        (VALID.replace("assessments:\n", "assessments: []\nx:\n"), "assessments: empty list"),
        (VALID + VALID.split("assessments:\n")[1], "the name 'porosity' is used twice"),
    ],
)
def test_bad_assessment_files_are_one_line_errors_naming_file_and_key(assessment_folder, text, message):
    path = assessment_folder / "ea.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ModelError) as caught:
        load_assessments(path)
    assert str(path) in str(caught.value) and message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_valid_file_resolves_reference_paths_beside_it(assessment_folder):
    path = assessment_folder / "ea.yaml"
    path.write_text(VALID, encoding="utf-8")
    loaded = load_assessments(path)
    assert loaded.assessments[0].positive_references.paths == (assessment_folder / "good.png",)
    assert loaded.assessments[0].negative_references.where == "label = 'bad'"


def test_unknown_assessment_set_names_the_built_in_ones(tmp_path):
    with pytest.raises(ModelError, match="not a built-in set \\(ni-wc\\)"):
        load_assessments(str(tmp_path / "nope.yaml"))


def test_importing_the_qualifier_imports_no_torch_or_transformers():
    code = textwrap.dedent("""
        import sys
        import fairmicro.models.qualifier, fairmicro.models.qualifier.run, fairmicro.cli.qualify_cmds
        print(sorted(m for m in ("torch", "transformers") if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"

"""`fairmicro qualify --render-masks`: stored masks drawn in class colours, skipped images, the embedding cache."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from fairmicro.catalog import Catalog
from fairmicro.catalog.masks import ClassMap, MaskClass
from fairmicro.models.qualifier.render import DEFAULT_PALETTE, class_colours, draw
from fairmicro.testing.samples import write_png
from tests.conftest import Cli

KEYS = {
    "image_sha256",
    "path",
    "assessment",
    "delta_clip",
    "delta_flava",
    "z_clip",
    "z_flava",
    "hybrid",
    "decision",
    "top_k",
}
COLOURS = "pore=#000000,carbide=#ff0000"
BLUE = (0x1F, 0x77, 0xB4)  # the first palette colour: background has none of its own
SHAPE = (24, 32)
ASSESSMENTS = """\
name: mask-set
assessments:
  - name: porosity
    criterion: Few black pores.
    positive_prompts: [a blue field with few black dots]
    negative_prompts: [many black pores]
    positive_references: {paths: [refs/good/g0.png, refs/good/g1.png]}
    negative_references: {paths: [refs/bad/b0.png, refs/bad/b1.png]}
"""


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


# ------------------------------------------------------------- drawing, by hand
def test_class_colours_use_their_own_then_the_documented_palette_skipping_used_colours():
    classes = ClassMap(
        (
            MaskClass(0, "background"),
            MaskClass(1, "pore", "#1f77b4"),
            MaskClass(2, "wc"),
            MaskClass(3, "carbide", "#ff0000"),
        )
    )
    colours = class_colours(classes)
    assert _hex(colours[1]) == "#1f77b4" and _hex(colours[3]) == "#ff0000"
    assert _hex(colours[0]) == DEFAULT_PALETTE[1] and _hex(colours[2]) == DEFAULT_PALETTE[2]  # #1f77b4 is taken
    label_map = np.array([[0, 1], [2, 3], [3, 255]], np.uint8)
    drawn = draw(label_map, classes)
    assert drawn.shape == (3, 2, 3) and drawn.dtype == np.uint8
    assert [_hex(tuple(int(v) for v in drawn[i, j])) for i in range(3) for j in range(2)] == [
        DEFAULT_PALETTE[1],
        "#1f77b4",
        DEFAULT_PALETTE[2],
        "#ff0000",
        "#ff0000",
        "#000000",
    ]  # 255: no class, black


def test_a_label_map_without_colours_is_drawn_in_palette_order():
    drawn = draw(np.array([[2, 1, 0]], np.uint8), ClassMap.from_names(["a", "b", "c"]))
    assert [_hex(tuple(int(v) for v in px)) for px in drawn[0]] == [
        DEFAULT_PALETTE[2],
        DEFAULT_PALETTE[1],
        DEFAULT_PALETTE[0],
    ]


# ------------------------------------------------------------------- the lab
def _colour_mask(seed: int) -> np.ndarray:
    """An RGB mask: background (white, no class colour), pores black, carbides red."""
    rng = np.random.default_rng(seed)
    mask = np.full((*SHAPE, 3), 255, np.uint8)
    mask[rng.random(SHAPE) < 0.1 * (seed + 1)] = (0, 0, 0)
    mask[rng.random(SHAPE) < 0.05 * (3 - seed)] = (255, 0, 0)
    return mask


def expected_picture(mask: np.ndarray) -> np.ndarray:
    """The mask as --render-masks must draw it: background blue (palette), pores black, carbides red."""
    out = np.empty_like(mask)
    out[:] = BLUE
    out[(mask == (0, 0, 0)).all(axis=-1)] = (0, 0, 0)
    out[(mask == (255, 0, 0)).all(axis=-1)] = (255, 0, 0)
    return out


def _make_lab(root: Path) -> None:
    rng = np.random.default_rng(5)
    for i in range(4):  # grey images; scan #3 has no mask
        write_png(root / "scan" / f"scan #{i} é.png", (rng.random(SHAPE) * 80 * (i + 1)).astype(np.uint8))
    for i in range(3):
        write_png(root / "masks" / f"scan #{i} é.png", _colour_mask(i))
    for i in range(2):
        write_png(root / "refs" / "good" / f"g{i}.png", expected_picture(_colour_mask(0)))
        write_png(root / "refs" / "bad" / f"b{i}.png", expected_picture(_colour_mask(2 - i)))
    cli = Cli(root / "catalog.duckdb", root)
    cli("ingest", str(root / "scan"), "--label-from-folder", "--masks", str(root / "masks"), "--mask-colors", COLOURS)
    (root / "ea.yaml").write_text(ASSESSMENTS, encoding="utf-8")


@pytest.fixture(scope="session")
def _mask_lab(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("qualify-masks")
    _make_lab(root)
    return root


@pytest.fixture
def lab(_mask_lab, tmp_path) -> tuple[Cli, Path]:
    """(cli on a private copy, its folder): scan/ (3 of 4 images with colour masks), refs/, ea.yaml."""
    root = tmp_path / "lab"
    shutil.copytree(_mask_lab, root)
    catalog = root / "catalog.duckdb"
    with Catalog.open(catalog) as opened:  # masks were paired under the session folder: point them here
        opened.execute("UPDATE annotations SET mask_path = replace(mask_path, ?, ?)", [str(_mask_lab), str(root)])
    return Cli(catalog, root), root


@pytest.fixture(scope="session")
def models(tmp_path_factory) -> tuple[str, str]:
    pytest.importorskip("transformers")
    from fairmicro.models.qualifier.tiny import build_tiny_clip, build_tiny_flava

    root = tmp_path_factory.mktemp("mask-models")
    return str(build_tiny_clip(root / "clip")), str(build_tiny_flava(root / "flava"))


def _qualify(cli: Cli, models: tuple[str, str], *args: str, check: bool = True):
    return cli(
        "qualify",
        "--assessments",
        "ea.yaml",
        "--where",
        "label = 'scan'",
        "--clip",
        models[0],
        "--flava",
        models[1],
        *args,
        check=check,
    )


def _nothing_written(cli: Cli) -> None:
    assert cli.rows("SELECT count(*) AS n FROM qualifications")[0]["n"] == 0
    assert cli.rows("SELECT count(*) AS n FROM model_runs")[0]["n"] == 0
    assert cli.rows("SELECT count(*) AS n FROM image_embeddings")[0]["n"] == 0


# ------------------------------------------------------------ through the CLI
@pytest.mark.slow
def test_render_masks_scores_masked_images_and_names_each_skipped_one(lab, models):
    cli, _ = lab
    result = _qualify(cli, models, "--render-masks", "--format", "json")
    rows = json.loads(result.stdout)
    assert sorted(Path(r["path"]).name for r in rows) == [f"scan #{i} é.png" for i in range(3)]
    assert all(set(r) == KEYS for r in rows)
    skipped = [line for line in result.stderr.splitlines() if line.startswith("warning: skipped")]
    assert len(skipped) == 1 and skipped[0].startswith("warning: skipped /")  # the image's full path
    assert skipped[0].endswith("/scan/scan #3 é.png: no stored mask")
    assert "1 image(s) skipped without a mask" in result.stderr
    run = cli.rows("SELECT parameters, metrics FROM model_runs")[0]
    assert json.loads(run["parameters"])["render_masks"] is True
    assert json.loads(run["metrics"])["render_masks"]["skipped"] == [
        {"path": skipped[0].split("skipped ", 1)[1].rsplit(": ", 1)[0], "reason": "no stored mask"}
    ]
    assert cli.rows("SELECT count(*) AS n FROM qualifications")[0]["n"] == 3


def test_the_models_see_the_drawn_masks_not_the_grey_images(lab, models, monkeypatch):
    from fairmicro.models.qualifier import qualify
    from fairmicro.models.qualifier.encoders import Encoder

    seen: dict[str, list[np.ndarray]] = {"clip": [], "flava": []}
    original = Encoder.image_embeddings

    def spy(self, pictures):
        seen[self.kind].extend(np.asarray(p) for p in pictures)
        return original(self, pictures)

    monkeypatch.setattr(Encoder, "image_embeddings", spy)
    cli, root = lab
    qualify(root / "ea.yaml", "label = 'scan'", catalog=cli.catalog, clip=models[0], flava=models[1], render_masks=True)
    expected = [expected_picture(_colour_mask(i)) for i in range(3)]
    assert len(seen["clip"]) == 3
    for picture in seen["clip"]:
        assert any(np.array_equal(picture, e) for e in expected)


def _api(root: Path, models: tuple[str, str], **kwargs):
    from fairmicro.models.qualifier import qualify

    return qualify(
        root / "ea.yaml", "label = 'scan'", catalog=root / "catalog.duckdb", clip=models[0], flava=models[1], **kwargs
    )


def test_a_cached_raw_embedding_is_never_reused_for_the_drawn_mask(lab, models):
    cli, root = lab
    assert _api(root, models).metrics["embeddings"]["clip"] == {"computed": 4, "cached": 0}
    drawn = _api(root, models, render_masks=True)
    assert drawn.metrics["embeddings"]["clip"] == {"computed": 3, "cached": 0}  # raw embeddings not reused
    again = _api(root, models, render_masks=True)
    assert again.metrics["embeddings"]["clip"] == {"computed": 0, "cached": 3}
    assert again.rows == drawn.rows
    with Catalog.open(root / "catalog.duckdb", read_only=True) as catalog:
        cached = catalog.query(
            "SELECT image_sha256, preprocessing, embedding FROM image_embeddings WHERE model_id = ?",
            [drawn.parameters["clip"]["model_id"]],
        ).rows
    by_image: dict[str, list[tuple]] = {}
    for row in cached:
        by_image.setdefault(row[0], []).append(row)
    masked = [rows for rows in by_image.values() if len(rows) == 2]
    assert len(masked) == 3  # one raw and one drawn-mask embedding per masked image, under different recipes
    for first, second in masked:
        assert first[1] != second[1] and first[2] != second[2]

    # a re-paired mask with other content is embedded again
    write_png(root / "masks" / "scan #0 é.png", _colour_mask(2))
    cli("ingest", str(root / "scan"), "--label-from-folder", "--masks", str(root / "masks"), "--mask-colors", COLOURS)
    assert _api(root, models, render_masks=True).metrics["embeddings"]["clip"] == {"computed": 1, "cached": 2}


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--render-masks", "--where", "path LIKE '%scan #3%'"],
            "none of the 1 image(s) --where selects has a stored mask",
        ),
        (["--render-masks", "--mask-source", "predicted"], "none of the 4 image(s) --where selects has a stored mask"),
        (["--render-masks", "--mask-source", "drawn"], "--mask-source 'drawn': choose one of any, manual, predicted"),
        (["--mask-source", "manual"], "--mask-source manual only applies with --render-masks"),
    ],
)
def test_bad_render_options_are_one_line_and_write_nothing(lab, models, args, message):
    cli, _ = lab
    result = _qualify(cli, models, *args, check=False)
    assert result.returncode != 0 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    _nothing_written(cli)


def test_a_mask_changed_after_pairing_is_one_line_and_stores_no_results(lab, models):
    from fairmicro.errors import ModelError

    _, root = lab
    write_png(root / "masks" / "scan #1 é.png", _colour_mask(0))
    with pytest.raises(ModelError, match="scan #1 é.png: content changed since it was paired") as caught:
        _api(root, models, render_masks=True)
    assert "\n" not in str(caught.value)
    with Catalog.open(root / "catalog.duckdb", read_only=True) as catalog:
        assert catalog.query("SELECT count(*) FROM qualifications").rows == [(0,)]
        assert catalog.query("SELECT status FROM model_runs").rows == [("failed",)]

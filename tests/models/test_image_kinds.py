"""Every plugin reads every kind of image the builder writes, with default parameters.

Generated files of each kind (8-bit grey and RGB, 16-bit, palette, 1-bit, RGBA; TIFF,
PNG, JPEG, BMP) go through the real chain: ``fairmicro ingest`` -> ``fairmicro build``
-> ``fairmicro train texture`` (defaults) -> ``fairmicro evaluate``, and hybrid-cnn
(``weights=none``, one epoch; otherwise defaults) fits and predicts on the same dataset.
Before the fix, default texture crashed on every 8-bit dataset (read-only buffer),
palette images were stored as palette indices and grey + alpha was refused.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from fairmicro.builders.pixels import decode
from fairmicro.testing.samples import texture
from tests.conftest import Cli

SHAPE = (48, 48)
CLASSES = ("coarse", "fine")
SPECIMENS_PER_CLASS = 4


def _grey(kind: int, seed: int) -> np.ndarray:
    return texture(SHAPE, kind=2 * kind, seed=seed)


def _rgb(kind: int, seed: int) -> np.ndarray:
    grey = _grey(kind, seed)
    return np.stack([grey, 255 - grey // 2, grey // 3], axis=-1)


def _pil(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _tiff(array: np.ndarray, **options: object) -> bytes:
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, array, **options)
    return buffer.getvalue()


def _one_bit(kind: int, seed: int) -> Image.Image:
    return Image.fromarray(_grey(kind, seed)).convert("1", dither=Image.Dither.NONE)


GREY_RAMP = np.tile(np.arange(256, dtype=np.uint16) * 257, (3, 1))
# name -> (suffix, writer(kind, seed) -> bytes)
KINDS: dict[str, tuple[str, Callable[[int, int], bytes]]] = {
    "tiff-grey8": (".tif", lambda k, s: _tiff(_grey(k, s))),
    "tiff-rgb8": (".tif", lambda k, s: _tiff(_rgb(k, s), photometric="rgb")),
    "tiff-grey16": (".tif", lambda k, s: _tiff(texture(SHAPE, kind=2 * k, seed=s, dtype="uint16") // 16)),  # 12-bit
    "tiff-palette": (".tif", lambda k, s: _tiff(_grey(k, s), photometric="palette", colormap=GREY_RAMP)),
    "tiff-1bit": (".tif", lambda k, s: _pil(_one_bit(k, s), "TIFF", compression="group4")),
    "png-grey8": (".png", lambda k, s: _pil(Image.fromarray(_grey(k, s)), "PNG")),
    "png-rgb8": (".png", lambda k, s: _pil(Image.fromarray(_rgb(k, s)), "PNG")),
    "png-grey16": (
        ".png",
        lambda k, s: _pil(Image.fromarray(texture(SHAPE, kind=2 * k, seed=s, dtype="uint16")), "PNG"),
    ),
    "png-palette": (".png", lambda k, s: _pil(Image.fromarray(_rgb(k, s)).quantize(64), "PNG")),
    "png-1bit": (".png", lambda k, s: _pil(_one_bit(k, s), "PNG")),
    "png-rgba": (".png", lambda k, s: _pil(Image.fromarray(_rgb(k, s)).convert("RGBA"), "PNG")),
    "png-grey-alpha": (".png", lambda k, s: _pil(Image.fromarray(_grey(k, s)).convert("LA"), "PNG")),
    "jpeg-grey": (".jpg", lambda k, s: _pil(Image.fromarray(_grey(k, s)), "JPEG", quality=95)),
    "jpeg-rgb": (".jpg", lambda k, s: _pil(Image.fromarray(_rgb(k, s)), "JPEG", quality=95)),
    "bmp-grey": (".bmp", lambda k, s: _pil(Image.fromarray(_grey(k, s)), "BMP")),
    "bmp-rgb": (".bmp", lambda k, s: _pil(Image.fromarray(_rgb(k, s)), "BMP")),
    "bmp-1bit": (".bmp", lambda k, s: _pil(_one_bit(k, s), "BMP")),
}


def write_collection(folder: Path, kind_name: str) -> None:
    """Class folders of ``S01_0.ext`` ... (one image per specimen) in one image kind."""
    suffix, writer = KINDS[kind_name]
    for index in range(SPECIMENS_PER_CLASS * len(CLASSES)):
        label = index % len(CLASSES)
        path = folder / CLASSES[label] / f"S{index + 1:02d}_0{suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(writer(label, index))


def built_dataset(root: Path, kind_name: str) -> tuple[Cli, Path]:
    cli = Cli(root / "catalog.duckdb", root)
    write_collection(root / "lab", kind_name)
    cli("ingest", str(root / "lab"), "--specimen-pattern", r"(?P<specimen_id>S\d+)_", "--label-from-folder")
    cli(
        "build",
        "kinds",
        "--tile",
        "24",
        "--split-by",
        "specimen_id",
        "--splits",
        "0.5,0.25,0.25",
        "--seed",
        "0",
        "--license",
        "CC-BY-4.0",
        "--no-validate",  # crates and Croissant are validated in tests/builders; here only the pixels matter
        "--out",
        str(root / "ds"),
    )
    return cli, root / "ds"


# ------------------------------------------------------------------ decoding (fast)
@pytest.mark.parametrize("kind_name", sorted(KINDS))
def test_builder_stores_pixel_values_not_codes(kind_name):
    suffix, writer = KINDS[kind_name]
    pixels = decode(writer(0, 1), "tiff" if suffix == ".tif" else suffix[1:], 0, f"x{suffix}")
    assert pixels.dtype in (np.uint8, np.uint16)
    assert pixels.ndim == 2 or pixels.shape[-1] in (3, 4)
    if kind_name in ("tiff-palette", "tiff-grey8", "png-grey8", "bmp-grey", "png-grey-alpha"):
        assert np.array_equal(pixels, _grey(0, 1))  # a grey palette is applied, not stored as indices
    if kind_name.endswith("1bit"):
        assert set(np.unique(pixels)) <= {0, 255}
        assert np.array_equal(pixels > 0, _grey(0, 1) >= 128)  # white stays white (min-is-white applied)
    if kind_name == "png-palette":
        assert pixels.shape == (*SHAPE, 3)  # colours, not palette indices
        assert np.abs(pixels.astype(int) - _rgb(0, 1)).mean() < 8


# ------------------------------------------------------------- the chain (slow)
@pytest.fixture(scope="module", params=sorted(KINDS))
def kind_dataset(request, tmp_path_factory):
    return request.param, *built_dataset(tmp_path_factory.mktemp(request.param), request.param)


@pytest.mark.slow
def test_default_texture_trains_and_evaluates_on_every_image_kind(kind_dataset):
    _, cli, dataset = kind_dataset
    trained = cli("train", "texture", "--dataset", str(dataset), check=False)
    assert trained.returncode == 0, trained.stderr
    assert "Traceback" not in trained.stderr and "validation accuracy" in trained.stdout
    assert "grouped CV" in trained.stdout and "leaky ungrouped CV" in trained.stdout
    run_id = trained.stdout.split()[1].rstrip(":")
    assert "test accuracy" in cli("evaluate", run_id).stdout


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
def test_hybrid_cnn_fits_and_predicts_on_every_image_kind(kind_dataset):
    from fairmicro.builders.resolve import resolve_dataset
    from fairmicro.models.hybrid_cnn import HybridCnnPlugin

    _, cli, dataset = kind_dataset
    splits = resolve_dataset(str(dataset), catalog=cli.catalog).dataset
    model = HybridCnnPlugin(weights="none", epochs=1).fit(splits["train"], splits["validation"])
    probabilities = model.predict_proba(splits["test"])
    assert probabilities.shape == (len(splits["test"]), len(CLASSES))
    assert np.isfinite(probabilities).all() and np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)


EBC2 = Path(__file__).resolve().parents[3] / "shared" / "data" / "segmentation" / "ebc2"


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
def test_plugins_fit_and_predict_on_real_8bit_rgb_micrographs():
    """The 10 real 1024x1024 RGB uint8 TIFFs of ebc2, as 128 px tiles; label = acquisition series."""
    import datasets

    from fairmicro.models.hybrid_cnn import HybridCnnPlugin
    from fairmicro.models.texture import TexturePlugin

    files = (
        sorted(p for split in ("train", "val", "test") for p in (EBC2 / split).glob("*.tif")) if EBC2.is_dir() else []
    )
    if len(files) < 4:
        pytest.skip(f"real ebc2 micrographs not found at {EBC2}")
    rows: dict[str, list] = {"image": [], "label": [], "specimen_id": [], "image_sha256": []}
    for path in files:
        pixels = decode(path.read_bytes(), "tiff", 0, path.name)
        assert pixels.dtype == np.uint8 and pixels.ndim == 3
        series = path.name.split("_")[0]
        for y in range(0, 512, 128):
            rows["image"].append(pixels[y : y + 128, :128])
            rows["label"].append(int(series.split("#")[0] > "050000"))
            rows["specimen_id"].append(series)
            rows["image_sha256"].append(path.name)
    features = datasets.Features(
        {
            "image": datasets.Image(),
            "label": datasets.ClassLabel(names=["early", "late"]),
            "specimen_id": datasets.Value("string"),
            "image_sha256": datasets.Value("string"),
        }
    )
    data = datasets.Dataset.from_dict(rows, features=features)
    texture_model = TexturePlugin().fit(data)
    assert texture_model.predict_proba(data).shape == (len(data), 2)
    assert texture_model.report()["cv"]["group_column"] == "specimen_id"
    cnn = HybridCnnPlugin(weights="none", epochs=1).fit(data)
    assert np.isfinite(cnn.predict_proba(data)).all()

"""hybrid-cnn: backbones, learning, the metadata branch, persistence, weights and backends.

Datasets are generated in code: two synthetic textures (``fairmicro.testing.samples.texture``)
and a heat-treatment temperature that carries the label on one set and is noise on the other.
Every model uses ``weights="none"`` (nothing downloads) and a tiny input size.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path

import datasets  # the [dev] extra installs [models]: a missing package must fail, not skip
import numpy as np
import pytest

from fairmicro.errors import ModelError
from fairmicro.models.evaluation import shuffle_metadata
from fairmicro.models.hybrid_cnn import HybridCnnPlugin
from fairmicro.models.hybrid_cnn.backend import import_keras
from fairmicro.models.hybrid_cnn.images import prepare_image, to_8bit_range
from fairmicro.models.hybrid_cnn.plugin import class_weights
from fairmicro.testing.samples import texture

# Keras' torch backend calls np.array(tensor, copy=False) on every weight read (Keras, not us).
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

CLASSES = ["pearlite", "spheroidite"]
SIGNAL = "heat_treatment_temperature_c"
# vgg16 at its 32 px minimum learns the textures in a few epochs, even from random frozen weights.
FAST = {
    "backbone": "vgg16",
    "weights": "none",
    "input_size": 32,
    "epochs": 8,
    "batch_size": 16,
    "learning_rate": 1e-2,
    "patience": 4,
}
TINY = {**FAST, "epochs": 1, "batch_size": 8}
REPO = Path(__file__).resolve().parents[2]


def split(
    n: int,
    seed: int,
    *,
    image_signal: bool,
    metadata_signal: bool,
    shape: tuple[int, int] = (32, 32),
    dtype: str = "uint8",
) -> datasets.Dataset:
    """``n`` rows, classes alternating; a constant ``detector`` column that ``auto`` must drop."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    images = [texture(shape, int(c) if image_signal else 0, seed * 1000 + i, dtype) for i, c in enumerate(y)]
    noise = rng.standard_normal(n)
    temperature = 700 + 100 * y + 5 * noise if metadata_signal else 750 + 50 * noise
    features = datasets.Features(
        {
            "image": datasets.Image(),
            "label": datasets.ClassLabel(names=CLASSES),
            SIGNAL: datasets.Value("float64"),
            "detector": datasets.Value("string"),
        }
    )
    return datasets.Dataset.from_dict(
        {"image": images, "label": y.tolist(), SIGNAL: temperature.tolist(), "detector": ["SE"] * n}, features=features
    )


def dataset(**kwargs) -> datasets.DatasetDict:
    return datasets.DatasetDict(
        {"train": split(48, 1, **kwargs), "validation": split(16, 2, **kwargs), "test": split(48, 3, **kwargs)}
    )


def accuracy(model: HybridCnnPlugin, data: datasets.Dataset) -> float:
    return float((model.predict_proba(data).argmax(axis=1) == np.asarray(data["label"])).mean())


@pytest.fixture(scope="module")
def learnable() -> datasets.DatasetDict:
    """Images carry the label; the temperature is noise."""
    return dataset(image_signal=True, metadata_signal=False)


@pytest.fixture(scope="module")
def carrying() -> datasets.DatasetDict:
    """Every image has the same texture; only the temperature carries the label."""
    return dataset(image_signal=False, metadata_signal=True)


@pytest.fixture(scope="module")
def tiny() -> datasets.Dataset:
    return split(8, 5, image_signal=True, metadata_signal=True, shape=(16, 16))


@pytest.fixture(scope="module")
def trained(learnable) -> HybridCnnPlugin:
    return HybridCnnPlugin(**FAST).fit(learnable["train"], learnable["validation"])


@pytest.fixture(scope="module")
def on_carrying(carrying) -> dict[str, HybridCnnPlugin]:
    fit = {"hybrid": {}, "image-only": {"metadata": "none"}}
    return {
        name: HybridCnnPlugin(**FAST, **extra).fit(carrying["train"], carrying["validation"])
        for name, extra in fit.items()
    }


# ------------------------------------------------------------------ backbones
def head_parameters(width: int, n_metadata: int = 1, n_classes: int = 2) -> int:
    """Trainable parameters of the head: BN(width), dense 128, dense 32, metadata dense 16, softmax."""
    image = 2 * width + (width * 128 + 128) + (128 * 32 + 32)
    return image + (n_metadata * 16 + 16) + ((32 + 16) * n_classes + n_classes)


@pytest.mark.parametrize(
    ("backbone", "size", "width"),
    [
        ("resnet50", 32, 2048),
        ("vgg16", 32, 512),
        ("inception_v3", 75, 2048),
        ("xception", 71, 2048),
        ("efficientnet_b0", 32, 1280),
    ],
)
def test_each_backbone_builds_frozen_and_predicts(tiny, backbone, size, width):
    model = HybridCnnPlugin(**{**TINY, "backbone": backbone, "input_size": size}).fit(tiny)
    probabilities = model.predict_proba(tiny)
    assert probabilities.shape == (len(tiny), 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert tuple(model.model_.get_layer("image").batch_shape) == (None, size, size, 3)
    assert model.report()["trainable_parameters"] == head_parameters(width)  # the backbone is frozen


# ------------------------------------------------------------------- learning
def test_learns_the_textures_far_above_chance(trained, learnable):
    assert trained.metadata_columns_ == [SIGNAL]  # the constant detector column is dropped
    assert accuracy(trained, learnable["test"]) >= 0.85  # chance is 0.5


def test_history_feeds_the_training_curves(trained):
    history = trained.history_
    assert set(history) == {"loss", "val_loss", "accuracy", "val_accuracy"}
    assert 1 <= len(history["loss"]) <= FAST["epochs"]
    assert {len(values) for values in history.values()} == {len(history["loss"])}


@pytest.mark.parametrize(
    ("model", "shuffled", "low", "high"),
    [
        ("hybrid", False, 0.9, 1.0),  # the temperature gives the label away
        ("image-only", False, 0.0, 0.7),  # the images do not
        ("hybrid", True, 0.0, 0.7),  # shuffling the temperature removes the gain
    ],
)
def test_metadata_branch_helps_only_through_the_metadata(on_carrying, carrying, model, shuffled, low, high):
    data = (
        shuffle_metadata(carrying["test"], on_carrying[model].metadata_columns_, seed=0)
        if shuffled
        else carrying["test"]
    )
    assert low <= accuracy(on_carrying[model], data) <= high


def test_image_only_model_has_the_same_image_branch(on_carrying):
    hybrid, image_only = ({layer.name for layer in on_carrying[k].model_.layers} for k in ("hybrid", "image-only"))
    assert hybrid - image_only == {"metadata", "metadata_dense", "metadata_dropout", "fuse"}
    assert image_only <= hybrid
    assert on_carrying["image-only"].metadata_columns_ == []


def test_sixteen_bit_images_predict_like_their_eight_bit_twins(trained):
    eight = split(24, 7, image_signal=True, metadata_signal=False)
    sixteen = split(24, 7, image_signal=True, metadata_signal=False, dtype="uint16")
    assert np.asarray(sixteen[0]["image"]).dtype == np.uint16
    np.testing.assert_allclose(trained.predict_proba(sixteen), trained.predict_proba(eight), atol=0.05)
    assert accuracy(trained, sixteen) >= 0.85


def test_same_seed_gives_the_same_model_and_another_seed_another(tiny):
    runs = [HybridCnnPlugin(**{**TINY, "epochs": 2, "seed": seed}).fit(tiny).predict_proba(tiny) for seed in (3, 3, 4)]
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.allclose(runs[0], runs[2])


# ---------------------------------------------------------------- persistence
def test_save_and_load_give_identical_predictions(trained, learnable, tmp_path):
    written = trained.save(tmp_path / "model")
    assert sorted(path.name for path in written) == ["hybrid_cnn.json", "model.keras"]
    state = json.loads((tmp_path / "model" / "hybrid_cnn.json").read_text())
    assert state["classes"] == CLASSES and state["params"]["backbone"] == "vgg16"
    loaded = HybridCnnPlugin.load(tmp_path / "model")
    test = learnable["test"]
    np.testing.assert_array_equal(loaded.predict_proba(test), trained.predict_proba(test))
    assert (loaded.classes_, loaded.metadata_columns_) == (trained.classes_, trained.metadata_columns_)


def test_loading_a_folder_without_a_model_says_so(tmp_path):
    with pytest.raises(ModelError, match="no hybrid_cnn.json"):
        HybridCnnPlugin.load(tmp_path)


# -------------------------------------------------------------------- weights
def test_weights_from_a_local_file_are_loaded_into_the_backbone(tiny, tmp_path):
    keras = import_keras()
    keras.utils.set_random_seed(11)
    source = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    source.save_weights(tmp_path / "vgg16.weights.h5")
    model = HybridCnnPlugin(**{**TINY, "weights": str(tmp_path / "vgg16.weights.h5")}).fit(tiny)
    for loaded, saved in zip(model.model_.get_layer("vgg16").get_weights(), source.get_weights(), strict=True):
        np.testing.assert_array_equal(loaded, saved)


def imagenet_cached(backbone: str) -> bool:
    cache = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"
    return any(cache.glob(f"{backbone}_weights*notop.h5"))


@pytest.fixture
def no_cached_vgg16():
    if imagenet_cached("vgg16"):
        pytest.skip("the vgg16 ImageNet weights are in the Keras cache, so nothing would download")


def test_imagenet_offline_fails_with_one_clear_error(tiny, monkeypatch, no_cached_vgg16):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    expected = r"ImageNet weights of vgg16 could not be downloaded .*HF_HUB_OFFLINE.*--weights"
    with pytest.raises(ModelError, match=expected):
        HybridCnnPlugin(**{**TINY, "weights": "imagenet"}).fit(tiny)


@pytest.fixture
def silent_proxy(monkeypatch):
    """Route HTTPS through a local proxy that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    proxy = f"http://127.0.0.1:{server.getsockname()[1]}"
    for name in ("https_proxy", "HTTPS_PROXY"):
        monkeypatch.setenv(name, proxy)
    for name in ("no_proxy", "NO_PROXY", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(urllib.request, "_opener", None)  # the next urlopen reads the proxy settings
    yield
    server.close()


def test_imagenet_download_that_hangs_times_out(tiny, silent_proxy, no_cached_vgg16):
    with pytest.raises(ModelError, match=r"could not be downloaded .*timed out"):
        HybridCnnPlugin(**{**TINY, "weights": "imagenet", "download_timeout": 1}).fit(tiny)


# ------------------------------------------------------------ wrong settings
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"backbone": "alexnet"}, "backbone 'alexnet' is not one of resnet50"),
        ({"backbone": "inception_v3", "input_size": 64}, "below the 75 px that inception_v3 accepts"),
        ({"intensity": "log"}, "intensity 'log' is not one of range, dtype, minmax"),
        ({"class_weight": "auto"}, "class_weight 'auto' is not one of balanced, none"),
        ({"weights": "/nonexistent/vgg16.weights.h5"}, "neither imagenet, none nor an existing file"),
    ],
)
def test_wrong_settings_fail_with_a_clear_error(tiny, params, message):
    with pytest.raises(ModelError, match=message):
        HybridCnnPlugin(**{**TINY, **params}).fit(tiny)


def test_unknown_parameter_is_refused():
    with pytest.raises(ModelError, match="unknown parameter"):
        HybridCnnPlugin(colour="red")


@pytest.mark.parametrize(
    ("y", "option", "expected"),
    [
        ([0, 0, 0, 1], "balanced", [4 / 6, 2.0]),
        ([0, 1, 0, 1], "balanced", [1.0, 1.0]),
        ([0, 0, 2, 2], "balanced", [1.0, 1.0, 1.0]),  # an absent class keeps weight 1
        ([0, 0, 0, 1], "none", None),
    ],
)
def test_class_weights(y, option, expected):
    weights = class_weights(np.array(y), len(expected or [0, 0]), option)
    assert (weights is None) if expected is None else np.allclose(weights, expected)


# --------------------------------------------------------------------- images
@pytest.mark.parametrize(
    ("pixels", "intensity", "expected"),
    [
        (np.array([[0, 255]], np.uint8), "dtype", [0.0, 255.0]),
        (np.array([[0, 257, 65535]], np.uint16), "dtype", [0.0, 1.0, 255.0]),
        (np.array([[0, 4095]], np.uint16), "minmax", [0.0, 255.0]),  # 12-bit data in 16 bits
        (np.array([[0.5, 1.5]], np.float32), "dtype", [0.0, 255.0]),  # floats are always stretched
        (np.array([[7, 7]], np.uint16), "minmax", [0.0, 0.0]),
    ],
)
def test_intensity_scaling(pixels, intensity, expected):
    np.testing.assert_allclose(to_8bit_range(pixels, intensity).ravel(), expected, atol=1e-4)


@pytest.mark.parametrize("shape", [(20, 24), (40, 40, 3)])
def test_images_become_three_channel_inputs_of_the_requested_size(shape):
    prepared = prepare_image(np.full(shape, 128, np.uint8), 32)
    assert prepared.shape == (32, 32, 3) and prepared.dtype == np.float32
    np.testing.assert_allclose(prepared, 128.0, atol=1e-3)


# ------------------------------------------------------------------- backends
def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"} | env
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        check=False,
        capture_output=True,
        text=True,
        env=environment,
        cwd=REPO,
        timeout=600,
    )


def test_import_is_light_and_keras_defaults_to_torch():
    if importlib.util.find_spec("torch") is None:
        pytest.skip("torch is not installed")
    result = run_python("""
        import sys
        import fairmicro.models.hybrid_cnn
        assert "keras" not in sys.modules and "torch" not in sys.modules, "heavy import at import time"
        from fairmicro.models.hybrid_cnn.backend import import_keras
        print(import_keras().backend.backend())
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "torch"


def test_tensorflow_backend_trains_and_its_model_loads_here(tiny, tmp_path):
    if importlib.util.find_spec("tensorflow") is None:
        pytest.skip("tensorflow is not installed (pip install 'fairmicro[tf]')")
    tiny.save_to_disk(tmp_path / "data")
    result = run_python(
        f"""
        import datasets, numpy as np
        from fairmicro.models.hybrid_cnn import HybridCnnPlugin
        data = datasets.load_from_disk({str(tmp_path / "data")!r})
        model = HybridCnnPlugin(**{TINY!r}).fit(data)
        model.save(__import__("pathlib").Path({str(tmp_path / "model")!r}))
        np.save({str(tmp_path / "proba.npy")!r}, model.predict_proba(data))
        print(model.report()["backend"])
    """,
        KERAS_BACKEND="tensorflow",
        TF_CPP_MIN_LOG_LEVEL="2",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "tensorflow"
    loaded = HybridCnnPlugin.load(tmp_path / "model")  # on this process's backend (torch by default)
    np.testing.assert_allclose(loaded.predict_proba(tiny), np.load(tmp_path / "proba.npy"), atol=1e-5)

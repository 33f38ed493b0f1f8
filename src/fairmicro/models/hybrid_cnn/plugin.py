"""``hybrid-cnn``: the hybrid image + metadata CNN of Stiefel et al. (2024).

A frozen ImageNet backbone (resnet50, vgg16, inception_v3, xception,
efficientnet_b0) with a small trainable head, fused with a dense branch on the
preprocessed metadata (see :mod:`.network`). Keras 3 runs it on torch unless
``KERAS_BACKEND`` names another backend (tensorflow is tested too). Images
stream from the dataset batch by batch (:mod:`.feed`); class weights balance
unbalanced splits; early stopping on the validation loss restores the best
epoch. Saved as ``model.keras`` plus ``hybrid_cnn.json`` (classes, parameters,
metadata preprocessing), which is all :meth:`HybridCnnPlugin.load` needs.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from fairmicro.errors import ModelError
from fairmicro.models.base import ModelPlugin, PluginParams
from fairmicro.models.data import IntensityScale, class_names, iter_images, labels
from fairmicro.models.hybrid_cnn.backbones import Backbone, backbone, input_size
from fairmicro.models.hybrid_cnn.backend import import_keras
from fairmicro.models.hybrid_cnn.images import check_intensity
from fairmicro.models.hybrid_cnn.network import Head, build_network, compile_network
from fairmicro.models.hybrid_cnn.weights import build_backbone
from fairmicro.models.metadata import MetadataPreprocessor, parse_metadata_option

log = logging.getLogger(__name__)

MODEL_FILE = "model.keras"
STATE_FILE = "hybrid_cnn.json"
HISTORY_KEYS = ("loss", "val_loss", "accuracy", "val_accuracy")


class HybridCnnParams(PluginParams):
    """Parameters of the ``hybrid-cnn`` plugin (values outside the listed choices are refused by ``fit``)."""

    backbone: str = Field("resnet50", description="resnet50, vgg16, inception_v3, xception or efficientnet_b0.")
    weights: str | None = Field(
        "imagenet", description="imagenet, none, or the path of a local .weights.h5/.h5/.keras."
    )
    input_size: int | None = Field(None, description="Input pixels (square); empty: the backbone's default.")
    metadata: str | list[str] | None = Field(
        "auto", description="auto, none (image-only model of the same shape), or a list of columns."
    )
    freeze_backbone: bool = Field(True, description="Keep the backbone's weights fixed.")
    metadata_units: int = Field(16, description="Units of the metadata branch.")
    dropout: float = Field(0.3, description="Dropout before the classifier.")
    norm_momentum: float = Field(0.9, description="Batch-norm moving average; 0.9 settles within small datasets.")
    augment: bool = Field(True, description="Random flips and zoom while training.")
    zoom: float = Field(0.1, description="Largest random zoom (fraction).")
    flip: str = Field("horizontal_and_vertical", description="horizontal_and_vertical, horizontal, vertical or none.")
    intensity: str = Field(
        "range", description="range (training data's 16-bit range), dtype (full 16-bit) or minmax (per image)."
    )
    class_weight: str | None = Field("balanced", description="balanced or none.")
    epochs: int = Field(30, description="Most epochs (early stopping may end sooner).")
    batch_size: int = Field(32, description="Images per batch.")
    learning_rate: float = Field(1e-3, description="Adam learning rate.")
    patience: int = Field(5, description="Epochs without improvement before early stopping.")
    seed: int = Field(0, description="Random seed.")
    download_timeout: float = Field(30.0, description="Seconds per network wait while ImageNet weights download.")


class HybridCnnPlugin(ModelPlugin):
    """Frozen-backbone CNN with an optional metadata branch (Keras 3, torch backend by default)."""

    name: ClassVar[str] = "hybrid-cnn"
    task: ClassVar[str] = "classification"
    Params: ClassVar[type[PluginParams]] = HybridCnnParams

    # ----------------------------------------------------------------- fit
    def fit(self, train: Any, validation: Any | None = None) -> HybridCnnPlugin:
        """Fit the head (and metadata branch) on ``train``; ``validation`` drives early stopping."""
        p = self.params
        chosen, size = self._backbone()
        check_intensity(p["intensity"])
        self.classes_, y = class_names(train), labels(train)
        weights = class_weights(y, len(self.classes_), p["class_weight"])
        self.preprocessor_ = MetadataPreprocessor(self._metadata_option()).fit(train)
        self.metadata_columns_ = self.preprocessor_.chosen_columns
        self.input_size_ = size
        self.intensity_ = IntensityScale()
        if p["intensity"] == "range":
            self.intensity_.fit(iter_images(train))
        keras = import_keras()
        keras.utils.set_random_seed(int(p["seed"]))
        self.model_ = self._network(keras, chosen, size)
        compile_network(keras, self.model_, float(p["learning_rate"]))
        feed = self._feed(train, labels=y, class_weights=weights, shuffle_seed=int(p["seed"]))
        checked = self._feed(validation, labels=labels(validation)) if validation is not None else None
        history = self.model_.fit(
            feed,
            validation_data=checked,
            epochs=int(p["epochs"]),
            verbose=0,
            callbacks=self._callbacks(keras, checked is not None),
        )
        self.history_ = {key: [float(v) for v in history.history.get(key, [])] for key in HISTORY_KEYS}
        self.backend_ = keras.backend.backend()
        return self

    def _backbone(self) -> tuple[Backbone, int]:
        chosen = backbone(self.params["backbone"])
        return chosen, input_size(chosen, self.params["input_size"])

    def _metadata_option(self) -> str | list[str]:
        option = self.params["metadata"]
        if option is None:
            return []
        return parse_metadata_option(option) if isinstance(option, str) else list(option)

    def _network(self, keras: Any, chosen: Backbone, size: int) -> Any:
        p = self.params
        weights = "none" if p["weights"] in (None, "none") else str(p["weights"])
        base = build_backbone(keras, chosen, size, weights, float(p["download_timeout"]))
        base.trainable = not p["freeze_backbone"]
        head = Head(
            metadata_units=int(p["metadata_units"]),
            dropout=float(p["dropout"]),
            norm_momentum=float(p["norm_momentum"]),
            zoom=float(p["zoom"]),
            flip=str(p["flip"]),
            augment=bool(p["augment"]),
            seed=int(p["seed"]),
        )
        n_metadata = len(self.preprocessor_.feature_names())
        if not n_metadata:
            log.info("hybrid-cnn: no metadata features; training the image-only model")
        return build_network(keras, base, head, n_metadata, len(self.classes_))

    def _callbacks(self, keras: Any, validated: bool) -> list[Any]:
        monitor = "val_loss" if validated else "loss"
        stop = keras.callbacks.EarlyStopping(
            monitor=monitor, patience=int(self.params["patience"]), restore_best_weights=True
        )
        progress = keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: log.info(
                "hybrid-cnn epoch %d: %s", epoch + 1, {k: round(float(v), 4) for k, v in (logs or {}).items()}
            )
        )
        return [stop, progress]

    # ------------------------------------------------------------- predict
    def predict_proba(self, data: Any) -> np.ndarray:
        """Class probabilities, one row per dataset row, columns in ``classes_`` order."""
        if len(data) == 0:
            return np.zeros((0, len(self.classes_)))
        import_keras()
        return np.asarray(self.model_.predict(self._feed(data), verbose=0), dtype=np.float64)

    def _feed(self, data: Any, **kwargs: Any) -> Any:
        from fairmicro.models.hybrid_cnn.feed import Feed

        metadata = self.preprocessor_.transform(data) if self.preprocessor_.feature_names() else None
        return Feed(
            data,
            backbone=backbone(self.params["backbone"]),
            size=self.input_size_,
            intensity=self.params["intensity"],
            batch_size=int(self.params["batch_size"]),
            scale=self.intensity_,
            metadata=metadata,
            **kwargs,
        )

    # --------------------------------------------------------- persistence
    def save(self, folder: Path) -> list[Path]:
        """``model.keras`` (architecture + weights) and ``hybrid_cnn.json`` (everything else)."""
        folder.mkdir(parents=True, exist_ok=True)
        model_path, state_path = folder / MODEL_FILE, folder / STATE_FILE
        self.model_.save(model_path)
        state = {
            "params": self.params,
            "classes": self.classes_,
            "input_size": self.input_size_,
            "preprocessor": self.preprocessor_.to_dict(),
            "intensity": self.intensity_.to_dict(),
            "history": self.history_,
            "backend": self.backend_,
        }
        state_path.write_text(json.dumps(state, indent=2, default=str), encoding="utf-8")
        return [model_path, state_path]

    @classmethod
    def load(cls, folder: Path) -> HybridCnnPlugin:
        """Read a model written by :meth:`save` (on any Keras backend)."""
        state_path = folder / STATE_FILE
        if not state_path.is_file():
            raise ModelError(f"hybrid-cnn: {folder} has no {STATE_FILE}; is it a saved hybrid-cnn model?")
        state = json.loads(state_path.read_text(encoding="utf-8"))
        model = cls(**state["params"])
        keras = import_keras()
        model.model_ = keras.saving.load_model(folder / MODEL_FILE, compile=False)
        model.classes_, model.input_size_ = state["classes"], state["input_size"]
        model.preprocessor_ = MetadataPreprocessor.from_dict(state["preprocessor"])
        model.metadata_columns_ = model.preprocessor_.chosen_columns
        model.intensity_ = IntensityScale.from_dict(state.get("intensity"))
        model.history_, model.backend_ = state["history"], state["backend"]
        return model

    def report(self) -> dict[str, Any]:
        """What the run records beyond metrics: backend, epochs, best epoch, metadata features."""
        val_loss = (self.history_ or {}).get("val_loss") or []
        return {
            "backend": self.backend_,
            "epochs_run": len((self.history_ or {}).get("loss", [])),
            "best_epoch": int(np.argmin(val_loss)) + 1 if val_loss else None,
            "metadata_features": self.preprocessor_.feature_names(),
            "trainable_parameters": int(sum(np.prod(w.shape) for w in self.model_.trainable_weights)),
        }


def class_weights(y: np.ndarray, n_classes: int, option: str | None) -> np.ndarray | None:
    """Per-class loss weights: ``balanced`` gives n / (classes present x class count), as
    scikit-learn does, so every class present weighs the same in total; ``none`` gives ``None``."""
    if option in (None, "none"):
        return None
    if option != "balanced":
        raise ModelError(f"hybrid-cnn: class_weight {option!r} is not one of balanced, none")
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    present = counts > 0
    weights = np.ones_like(counts)
    weights[present] = len(y) / (present.sum() * counts[present])
    return weights

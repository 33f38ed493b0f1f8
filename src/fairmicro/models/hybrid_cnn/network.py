"""The hybrid image + metadata network of Stiefel et al. (2024) as a Keras functional model.

Image branch: (training-only augmentation) -> frozen backbone -> global
average pooling -> batch normalisation -> dense 128 -> dropout -> dense 32 ->
dropout. Metadata branch: dense -> dropout. Both are concatenated before the
softmax; with no metadata features the image branch feeds the softmax alone,
so the image-only model has the same shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

IMAGE_INPUT = "image"
METADATA_INPUT = "metadata"
IMAGE_UNITS = (128, 32)


@dataclass(frozen=True)
class Head:
    """Settings of the trainable layers around the backbone."""

    metadata_units: int = 16
    dropout: float = 0.3
    norm_momentum: float = 0.9
    zoom: float = 0.1
    flip: str = "horizontal_and_vertical"
    augment: bool = True
    seed: int = 0


def build_network(keras: Any, backbone: Any, head: Head, n_metadata: int, n_classes: int) -> Any:
    """The functional model; inputs are a dict keyed ``image`` (and ``metadata`` when used).

    Parameters
    ----------
    keras
        The imported Keras module.
    backbone
        A ``keras.applications`` model without top, already holding its weights.
    head
        Layer settings.
    n_metadata
        Width of the preprocessed metadata vector; 0 builds the image-only model.
    n_classes
        Number of output classes.
    """
    layers = keras.layers
    image = keras.Input(shape=backbone.input_shape[1:], name=IMAGE_INPUT)
    x = image
    for layer in _augmentation(keras, head):
        x = layer(x)
    x = backbone(x, training=False)  # batch-norm statistics stay those of the backbone
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    x = layers.BatchNormalization(momentum=head.norm_momentum, name="pool_norm")(x)
    for units in IMAGE_UNITS:
        x = layers.Dense(units, activation="relu", name=f"image_dense_{units}")(x)
        x = layers.Dropout(head.dropout, seed=head.seed, name=f"image_dropout_{units}")(x)
    inputs = {IMAGE_INPUT: image}
    if n_metadata:
        metadata = keras.Input(shape=(n_metadata,), name=METADATA_INPUT)
        m = layers.Dense(head.metadata_units, activation="relu", name="metadata_dense")(metadata)
        m = layers.Dropout(head.dropout, seed=head.seed, name="metadata_dropout")(m)
        x = layers.Concatenate(name="fuse")([x, m])
        inputs[METADATA_INPUT] = metadata
    output = layers.Dense(n_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs=inputs, outputs=output, name="hybrid_cnn")


def _augmentation(keras: Any, head: Head) -> list[Any]:
    """Random zoom and flips; Keras preprocessing layers act only while training."""
    layers = []
    if head.augment and head.zoom:
        layers.append(keras.layers.RandomZoom(head.zoom, fill_mode="reflect", seed=head.seed, name="zoom"))
    if head.augment and head.flip != "none":
        layers.append(keras.layers.RandomFlip(head.flip, seed=head.seed, name="flip"))
    return layers


def compile_network(keras: Any, model: Any, learning_rate: float) -> None:
    """Adam on sparse categorical cross-entropy, reporting accuracy."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )

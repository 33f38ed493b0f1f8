"""Streaming a ``datasets.Dataset`` split into Keras batch by batch.

Imported only from inside the plugin's methods: importing it imports Keras
(with the torch backend unless ``KERAS_BACKEND`` says otherwise).
"""

from __future__ import annotations

import importlib
import math
from typing import Any

import numpy as np

from fairmicro.models.data import IMAGE, IntensityScale, images_at
from fairmicro.models.hybrid_cnn.backbones import Backbone
from fairmicro.models.hybrid_cnn.backend import import_keras
from fairmicro.models.hybrid_cnn.images import prepare_image
from fairmicro.models.hybrid_cnn.network import IMAGE_INPUT, METADATA_INPUT

keras = import_keras()
_PyDataset: Any = keras.utils.PyDataset  # a base chosen at run time: Keras has no type stubs


class Feed(_PyDataset):
    """Batches of backbone-ready images (plus metadata, labels and sample weights).

    Only one batch of images is decoded at a time. With ``shuffle_seed`` the
    row order is permuted anew after every epoch, repeatably.

    Parameters
    ----------
    data
        The split.
    backbone, size, intensity, scale
        Which ``preprocess_input`` to apply, the input size, the intensity mode and
        the value ranges fitted on the training split.
    batch_size
        Rows per batch.
    metadata
        Preprocessed metadata matrix (one row per dataset row), or ``None`` for image-only.
    labels
        Integer labels, or ``None`` when predicting.
    class_weights
        Weight per class, turned into per-sample weights; ``None`` for unweighted.
    shuffle_seed
        Seed of the per-epoch shuffling; ``None`` keeps dataset order.
    """

    def __init__(
        self,
        data: Any,
        *,
        backbone: Backbone,
        size: int,
        intensity: str,
        batch_size: int,
        scale: IntensityScale | None = None,
        metadata: np.ndarray | None = None,
        labels: np.ndarray | None = None,
        class_weights: np.ndarray | None = None,
        shuffle_seed: int | None = None,
    ) -> None:
        super().__init__()
        self.images = data.select_columns([IMAGE])
        self.size, self.intensity, self.batch_size, self.scale = size, intensity, batch_size, scale
        self.preprocess = importlib.import_module(f"keras.applications.{backbone.module}").preprocess_input
        self.metadata, self.labels, self.class_weights = metadata, labels, class_weights
        self.shuffle_seed, self.epoch = shuffle_seed, 0
        self.order = self._order()

    def __len__(self) -> int:
        return math.ceil(len(self.images) / self.batch_size)

    def __getitem__(self, index: int) -> Any:
        rows = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        decoded = images_at(self.images, rows.tolist())
        pixels = np.stack([prepare_image(image, self.size, self.intensity, self.scale) for image in decoded])
        inputs = {IMAGE_INPUT: self.preprocess(pixels)}
        if self.metadata is not None:
            inputs[METADATA_INPUT] = self.metadata[rows].astype(np.float32)
        if self.labels is None:
            return inputs
        targets = self.labels[rows]
        if self.class_weights is None:
            return inputs, targets
        return inputs, targets, self.class_weights[targets].astype(np.float32)

    def on_epoch_end(self) -> None:
        """Draw the next epoch's row order."""
        self.epoch += 1
        self.order = self._order()

    def _order(self) -> np.ndarray:
        if self.shuffle_seed is None:
            return np.arange(len(self.images))
        return np.random.default_rng([self.shuffle_seed, self.epoch]).permutation(len(self.images))

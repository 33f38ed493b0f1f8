"""The image backbones hybrid-cnn can use: a table, read without importing Keras."""

from __future__ import annotations

from dataclasses import dataclass

from fairmicro.errors import ModelError


@dataclass(frozen=True)
class Backbone:
    """One ``keras.applications`` network used as a frozen feature extractor.

    Attributes
    ----------
    name
        The name users give (``--backbone``).
    application
        The constructor in ``keras.applications``.
    module
        The ``keras.applications`` submodule holding its ``preprocess_input``.
    default_size
        The input size (pixels) it was trained at on ImageNet.
    min_size
        The smallest input size Keras accepts for it.
    """

    name: str
    application: str
    module: str
    default_size: int
    min_size: int


BACKBONES: dict[str, Backbone] = {
    b.name: b
    for b in (
        Backbone("resnet50", "ResNet50", "resnet50", 224, 32),
        Backbone("vgg16", "VGG16", "vgg16", 224, 32),
        Backbone("inception_v3", "InceptionV3", "inception_v3", 299, 75),
        Backbone("xception", "Xception", "xception", 299, 71),
        Backbone("efficientnet_b0", "EfficientNetB0", "efficientnet", 224, 32),
    )
}


def backbone(name: str) -> Backbone:
    """The backbone called ``name``; a :class:`ModelError` lists the known ones otherwise."""
    try:
        return BACKBONES[name]
    except KeyError:
        raise ModelError(f"hybrid-cnn: backbone {name!r} is not one of {', '.join(BACKBONES)}") from None


def input_size(chosen: Backbone, size: int | None) -> int:
    """The square input size in pixels: ``size``, or the backbone's default when ``None``."""
    if size is None:
        return chosen.default_size
    if int(size) < chosen.min_size:
        raise ModelError(
            f"hybrid-cnn: input_size {size} is below the {chosen.min_size} px that {chosen.name} "
            f"accepts; use --input-size {chosen.min_size} or larger"
        )
    return int(size)

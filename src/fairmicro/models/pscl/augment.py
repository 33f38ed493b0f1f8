"""Augmentations written in torch, deterministic for a given ``torch.Generator``.

Geometric transforms are the eight rot90/flip symmetries, so they can be undone
exactly on feature maps: two views of one crop are compared location by location.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import torch
import torch.nn.functional as F

IGNORE = 255
MaskT = TypeVar("MaskT", torch.Tensor, None)  # a label map comes back as it went in: a tensor, or no mask


def _randint(high: int, generator: torch.Generator) -> int:
    return int(torch.randint(high, (1,), generator=generator).item())


def _uniform(low: float, high: float, generator: torch.Generator) -> float:
    return low + (high - low) * float(torch.rand(1, generator=generator).item())


def pad_to(image: torch.Tensor, mask: MaskT, size: int) -> tuple[torch.Tensor, MaskT]:
    """Pad ``C x H x W`` (and its ``H x W`` mask, with 255 = ignore) up to at least ``size`` per side."""
    pad_h, pad_w = max(0, size - image.shape[-2]), max(0, size - image.shape[-1])
    if not (pad_h or pad_w):
        return image, mask
    image = F.pad(image[None], (0, pad_w, 0, pad_h), mode="replicate")[0]
    if mask is not None:
        mask = F.pad(mask, (0, pad_w, 0, pad_h), value=IGNORE)
    return image, mask


def random_crop(image: torch.Tensor, mask: MaskT, size: int, generator: torch.Generator) -> tuple[torch.Tensor, MaskT]:
    """A ``size x size`` crop at a random position (padded first when the image is smaller)."""
    image, mask = pad_to(image, mask, size)
    top = _randint(image.shape[-2] - size + 1, generator)
    left = _randint(image.shape[-1] - size + 1, generator)
    crop = image[:, top : top + size, left : left + size]
    return crop, None if mask is None else mask[top : top + size, left : left + size]


@dataclass(frozen=True)
class Symmetry:
    """One of the eight square symmetries: ``rotations`` quarter turns after an optional horizontal flip."""

    rotations: int = 0
    flip: bool = False

    @classmethod
    def random(cls, generator: torch.Generator) -> Symmetry:
        """A uniformly drawn symmetry."""
        return cls(_randint(4, generator), bool(_randint(2, generator)))

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        """Transform the last two axes."""
        if self.flip:
            x = x.flip(-1)
        return torch.rot90(x, self.rotations, dims=(-2, -1))

    def undo(self, x: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`apply`."""
        x = torch.rot90(x, -self.rotations, dims=(-2, -1))
        return x.flip(-1) if self.flip else x


def photometric(
    x: torch.Tensor, generator: torch.Generator, strength: float = 0.2, noise: float = 0.05
) -> torch.Tensor:
    """Random brightness and contrast, then Gaussian noise (inputs are standardised images)."""
    contrast = _uniform(1 - strength, 1 + strength, generator)
    brightness = _uniform(-strength, strength, generator)
    mean = x.mean()
    x = (x - mean) * contrast + mean + brightness
    return x + noise * torch.randn(x.shape, generator=generator)


def training_crop(
    image: torch.Tensor, mask: MaskT, size: int, generator: torch.Generator
) -> tuple[torch.Tensor, MaskT]:
    """Crop, random symmetry and photometric change (the fine-tuning augmentation)."""
    crop, crop_mask = random_crop(image, mask, size, generator)
    symmetry = Symmetry.random(generator)
    crop = photometric(symmetry.apply(crop), generator)
    return crop, None if crop_mask is None else symmetry.apply(crop_mask)

"""The PSCL networks: a UNet (encoder/decoder), its segmentation head and the projection heads.

Pure torch, no torchvision. GroupNorm instead of BatchNorm: fine-tuning sees
batches of crops from one labelled image, and pretraining batches are small on
CPU; GroupNorm behaves the same at every batch size and in ``eval()``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

MULTIPLE = 16  # four 2x poolings: inputs are padded to a multiple of 16 and cropped back


def _norm(channels: int) -> nn.GroupNorm:
    groups = 8 if channels % 8 == 0 else 1
    return nn.GroupNorm(groups, channels)


class DoubleConv(nn.Sequential):
    """Two 3x3 convolutions, each followed by GroupNorm and ReLU."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
            _norm(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            _norm(out_channels),
            nn.ReLU(inplace=True),
        )


class Up(nn.Module):
    """Bilinear 2x upsampling, concatenation with the skip connection, DoubleConv."""

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = DoubleConv(in_channels + skip_channels, out_channels)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.conv(torch.cat([skip, x], dim=1))


def widths(base_channels: int) -> tuple[int, int, int, int]:
    """The four UNet widths (32, 64, 128, 256 for the paper's ``base_channels=32``)."""
    return (base_channels, base_channels * 2, base_channels * 4, base_channels * 8)


class UNet(nn.Module):
    """UNet returning full-resolution features plus the bottleneck and decoder scales.

    Parameters
    ----------
    in_channels : int
        1 (grey) or 3 (RGB).
    base_channels : int
        Width of the first level; the levels are ``base * (1, 2, 4, 8)``.
    """

    def __init__(self, in_channels: int = 1, base_channels: int = 32) -> None:
        super().__init__()
        c1, c2, c3, c4 = widths(base_channels)
        self.in_channels, self.base_channels = in_channels, base_channels
        self.inc = DoubleConv(in_channels, c1)
        self.down = nn.ModuleList([DoubleConv(c1, c2), DoubleConv(c2, c3), DoubleConv(c3, c4), DoubleConv(c4, c4)])
        self.up = nn.ModuleList([Up(c4, c4, c3), Up(c3, c3, c2), Up(c2, c2, c1), Up(c1, c1, c1)])

    def encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Encoder features, full resolution first, bottleneck (1/16) last."""
        features = [self.inc(x)]
        for block in self.down:
            features.append(block(F.max_pool2d(features[-1], 2)))
        return features

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """``(full-resolution features, bottleneck, decoder features at 1/8, 1/4, 1/2 and 1)``.

        ``x`` must have height and width divisible by 16 (see :func:`pad_to_multiple`).
        """
        skips = self.encode(x)
        x = skips[-1]
        scales = []
        for block, skip in zip(self.up, reversed(skips[:-1]), strict=True):
            x = block(x, skip)
            scales.append(x)
        return x, skips[-1], scales


class Segmenter(nn.Module):
    """UNet plus a 1x1 convolution to class logits; any input size."""

    def __init__(self, unet: UNet, n_classes: int) -> None:
        super().__init__()
        self.unet = unet
        self.head = nn.Conv2d(unet.base_channels, n_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padded, (height, width) = pad_to_multiple(x)
        features, _, _ = self.unet(padded)
        return self.head(features)[..., :height, :width]


class Projector(nn.Module):
    """One image-level embedding (pooled bottleneck, MLP) and patch embeddings at the decoder scales.

    The scales are 1/8, 1/4, 1/2 and, with ``full_resolution``, 1 (the block the
    segmentation head reads). Every embedding is L2-normalised along the channel axis.
    """

    def __init__(self, base_channels: int, dim: int = 64, hidden: int = 128, full_resolution: bool = False) -> None:
        super().__init__()
        c1, c2, c3, c4 = widths(base_channels)
        self.n_scales = 4 if full_resolution else 3
        self.image = nn.Sequential(nn.Linear(c4, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, dim))
        self.patches = nn.ModuleList(
            [
                nn.Sequential(nn.Conv2d(c, hidden, 1), nn.ReLU(inplace=True), nn.Conv2d(hidden, dim, 1))
                for c in (c3, c2, c1, c1)[: self.n_scales]
            ]
        )

    def forward(self, bottleneck: torch.Tensor, scales: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """``(image embeddings B x D, [patch embeddings B x D x h x w per scale])``."""
        pooled = F.adaptive_avg_pool2d(bottleneck, 1).flatten(1)
        image = F.normalize(self.image(pooled), dim=1)
        patches = [F.normalize(head(s), dim=1) for head, s in zip(self.patches, scales[: self.n_scales], strict=True)]
        return image, patches


class PretrainNet(nn.Module):
    """UNet + projector: what contrastive pretraining optimises."""

    def __init__(self, in_channels: int, base_channels: int, dim: int = 64, full_resolution: bool = False) -> None:
        super().__init__()
        self.unet = UNet(in_channels, base_channels)
        self.projector = Projector(base_channels, dim, full_resolution=full_resolution)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Embeddings of a batch whose sides are multiples of 16."""
        _, bottleneck, scales = self.unet(x)
        return self.projector(bottleneck, scales)


def pad_to_multiple(x: torch.Tensor, multiple: int = MULTIPLE) -> tuple[torch.Tensor, tuple[int, int]]:
    """Reflect-pad (replicate when too small to reflect) the bottom/right to a multiple; returns the original size."""
    height, width = x.shape[-2:]
    pad_h, pad_w = (-height) % multiple, (-width) % multiple
    if not (pad_h or pad_w):
        return x, (height, width)
    mode = "reflect" if pad_h < height and pad_w < width else "replicate"
    return F.pad(x, (0, pad_w, 0, pad_h), mode=mode), (height, width)


def encoder_parameters(unet: UNet) -> list[nn.Parameter]:
    """The encoder's parameters (fine-tuned at the lower learning rate)."""
    return [*unet.inc.parameters(), *unet.down.parameters()]


def decoder_parameters(model: Segmenter) -> list[nn.Parameter]:
    """Decoder and head parameters (fine-tuned at the higher learning rate)."""
    return [*model.unet.up.parameters(), *model.head.parameters()]

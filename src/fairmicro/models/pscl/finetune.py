"""Fine-tuning the UNet on the labelled image(s) and whole-image inference.

Loss = ``ce_weight`` x class-weighted cross-entropy + (1 - ``ce_weight``) x soft
Dice, both over labelled pixels only (255 = no label). Class weights are the
inverse square root of each class's pixel frequency in the labelled image(s),
scaled to mean 1 over the classes present. The encoder learns at ``lr_encoder``,
decoder and head at ``lr_decoder`` (Adam).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from fairmicro.errors import ModelError
from fairmicro.models.pscl.augment import IGNORE, training_crop
from fairmicro.models.pscl.head import fit_head
from fairmicro.models.pscl.net import Segmenter, UNet, decoder_parameters, encoder_parameters


@dataclass
class FinetuneConfig:
    """Fine-tuning settings (paper defaults for the learning rates and the loss)."""

    epochs: int = 50
    steps_per_epoch: int = 10
    batch_size: int = 4
    crop: int = 256
    lr_encoder: float = 1e-4
    lr_decoder: float = 1e-3
    ce_weight: float = 0.5
    head_steps: int = 100
    seed: int = 0
    device: str = "cpu"


def class_counts(masks: list[np.ndarray], n_classes: int) -> np.ndarray:
    """Labelled pixels per class (255 and values >= ``n_classes`` left out)."""
    counts = np.zeros(n_classes)
    for mask in masks:
        counts += np.bincount(mask[mask != IGNORE].ravel(), minlength=256)[:n_classes]
    return counts


def class_weights(masks: list[np.ndarray], n_classes: int) -> np.ndarray:
    """Inverse-sqrt-frequency weights of the classes present (mean 1), 0 for absent ones."""
    counts = class_counts(masks, n_classes)
    present = counts > 0
    weights = np.zeros(n_classes)
    weights[present] = 1 / np.sqrt(counts[present] / counts.sum())
    return weights / weights[present].mean() if present.any() else np.ones(n_classes)


def prior_bias(masks: list[np.ndarray], n_classes: int, floor: float = 1e-4) -> np.ndarray:
    """Log class frequencies of the labelled pixels (each at least ``floor``): the head's starting bias.

    A randomly initialised head predicts an arbitrary class everywhere, and Adam moves
    each weight by about the learning rate per step, so a short fine-tune could not even
    reach the majority class (ebc2, 40 steps: crack everywhere, background Dice 0).
    Starting from the prior makes the untrained model predict the majority class.
    """
    counts = class_counts(masks, n_classes)
    total = counts.sum()
    frequencies = counts / total if total else np.full(n_classes, 1 / n_classes)
    return np.log(np.maximum(frequencies, floor))


def start_from_prior(model: Segmenter, masks: list[np.ndarray], n_classes: int) -> None:
    """Zero head weights and the log class prior as bias: the untrained model predicts the prior everywhere."""
    bias = model.head.bias
    assert bias is not None  # the head is an nn.Conv2d with its default bias=True
    with torch.no_grad():
        model.head.weight.zero_()
        bias.copy_(torch.from_numpy(prior_bias(masks, n_classes)))


def dice_loss(logits: torch.Tensor, target: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    """1 - mean soft Dice over ``classes``, labelled pixels only."""
    valid = (target != IGNORE).unsqueeze(1).float()
    probs = logits.softmax(dim=1) * valid
    onehot = F.one_hot(target.clamp(max=logits.shape[1] - 1).long(), logits.shape[1]).permute(0, 3, 1, 2) * valid
    inter = (probs * onehot).sum(dim=(0, 2, 3))
    total = probs.sum(dim=(0, 2, 3)) + onehot.sum(dim=(0, 2, 3))
    dice = (2 * inter + 1) / (total + 1)
    return 1 - dice[classes].mean()


def _batch(
    images: list[torch.Tensor], masks: list[torch.Tensor], cfg: FinetuneConfig, crop: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    pairs = []
    for _ in range(cfg.batch_size):
        index = int(torch.randint(len(images), (1,), generator=generator).item())
        pairs.append(training_crop(images[index], masks[index], crop, generator))
    return torch.stack([p[0] for p in pairs]), torch.stack([p[1] for p in pairs]).long()


def finetune(
    unet: UNet, images: list[np.ndarray], masks: list[np.ndarray], n_classes: int, cfg: FinetuneConfig
) -> tuple[Segmenter, dict[str, list[float]]]:
    """Train a :class:`Segmenter` around ``unet`` on standardised images and their label maps."""
    torch.manual_seed(cfg.seed)
    generator = torch.Generator().manual_seed(cfg.seed)
    device = torch.device(cfg.device)
    model = Segmenter(unet, n_classes)
    start_from_prior(model, masks, n_classes)
    model = model.to(device)
    optimizer = torch.optim.Adam(
        [
            {"params": encoder_parameters(unet), "lr": cfg.lr_encoder},
            {"params": decoder_parameters(model), "lr": cfg.lr_decoder},
        ]
    )
    weights = torch.tensor(class_weights(masks, n_classes), dtype=torch.float32, device=device)
    present = torch.nonzero(weights > 0).flatten()
    largest = max(max(m.shape) for m in masks)
    crop = min(cfg.crop, largest + (-largest) % 16)
    tensors = [torch.from_numpy(i) for i in images]
    labels = [torch.from_numpy(m.astype(np.int64)) for m in masks]
    history: dict[str, list[float]] = {"loss": []}
    if cfg.head_steps:  # 0: the prior head, and the same crops as before the head fit existed
        probe = [_batch(tensors, labels, cfg, crop, generator) for _ in range(4)]
        fit_head(model, [(x.to(device), y.to(device)) for x, y in probe], weights, cfg.head_steps, generator)
    model.train()
    for _ in range(cfg.epochs):
        total = 0.0
        for _ in range(cfg.steps_per_epoch):
            x, y = _batch(tensors, labels, cfg, crop, generator)
            x, y = x.to(device), y.to(device)
            logits = model(x)
            ce = (
                F.cross_entropy(logits, y, weight=weights, ignore_index=IGNORE)
                if bool((y != IGNORE).any())
                else logits.sum() * 0
            )
            loss = cfg.ce_weight * ce + (1 - cfg.ce_weight) * dice_loss(logits, y, present)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
        history["loss"].append(total / cfg.steps_per_epoch)
    model.eval()
    return model, history


@torch.no_grad()
def probabilities(models: list[Segmenter], image: np.ndarray, device: str = "cpu", window: int = 1024) -> np.ndarray:
    """Mean class probabilities (``K x H x W``) of ``models`` on one standardised image.

    Images larger than ``window`` on a side are predicted window by window
    (half-window overlap, overlapping predictions averaged). Give the side the
    models were trained on (their crop): GroupNorm normalises over the whole
    input, so a window of another size sees other statistics than training did
    (ebc2, crop 256: whole 1024 px images scored background Dice 0.42, oxide 0.00;
    256 px windows 0.57, 0.24).
    """
    x = torch.from_numpy(image)[None].to(device)
    height, width = image.shape[-2:]
    total: torch.Tensor | None = None
    for model in models:
        model.eval()
        probs = _windowed(model, x, window) if max(height, width) > window else model(x).softmax(dim=1)[0]
        total = probs if total is None else total + probs
    if total is None:
        raise ModelError("pscl-seg: no fine-tuned model to predict with")
    return (total / len(models)).cpu().numpy()


def taper(size: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Blending weights of a ``size``-px window side: a tent, highest in the middle, never 0."""
    position = (torch.arange(size, device=device, dtype=torch.float32) + 0.5) / size
    return 1e-3 + 1 - (2 * position - 1).abs()


def _windowed(model: Segmenter, x: torch.Tensor, window: int) -> torch.Tensor:
    """Half-overlapping windows, blended with tent weights so window borders leave no seams."""
    height, width = x.shape[-2:]
    step = max(1, window // 2)
    out: torch.Tensor | None = None
    hits = torch.zeros((height, width), device=x.device)
    for top in sorted({*range(0, max(1, height - window + 1), step), max(0, height - window)}):
        for left in sorted({*range(0, max(1, width - window + 1), step), max(0, width - window)}):
            probs = model(x[..., top : top + window, left : left + window]).softmax(dim=1)[0]
            weight = taper(probs.shape[-2], x.device)[:, None] * taper(probs.shape[-1], x.device)[None, :]
            out = torch.zeros((probs.shape[0], height, width), device=x.device) if out is None else out
            out[:, top : top + window, left : left + window] += probs * weight
            hits[top : top + window, left : left + window] += weight
    assert out is not None  # both window ranges hold at least one start
    return out / hits

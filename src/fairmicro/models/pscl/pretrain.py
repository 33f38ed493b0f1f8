"""Contrastive pretraining (PSCL-SimCLR and PSCL-MoCo) of the UNet on unlabelled images.

Each step takes a batch of random crops, makes two views of each (independent
rot90/flip symmetry and brightness/contrast/noise), undoes the symmetry on the
patch embeddings so both views line up location by location, and minimises
``image_weight * image-level InfoNCE + (1 - image_weight) * patch-level InfoNCE``
(patch loss averaged over the three decoder scales).
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from fairmicro.models.pscl import contrast
from fairmicro.models.pscl.augment import Symmetry, pad_to, photometric, random_crop
from fairmicro.models.pscl.budget import announce_pretraining
from fairmicro.models.pscl.net import PretrainNet, pad_to_multiple
from fairmicro.models.tasks.pretraining import STEP_LOSSES

TOP_K = {"simclr": 4, "moco": 30}


@dataclass
class PretrainConfig:
    """Pretraining settings (the plugin's defaults; the paper's apart from ``noise`` and ``full_resolution``)."""

    variant: str = "simclr"
    epochs: int = 100
    min_steps: int = 0
    batch_size: int = 8
    crop: int = 128
    base_channels: int = 32
    lr: float = 1e-4
    temperature: float = 0.5
    image_weight: float = 0.3
    top_k: int | None = None
    queue_size: int = 504
    momentum: float = 0.99
    dim: int = 64
    noise: float = 0.0
    full_resolution: bool = True
    seed: int = 0
    device: str = "cpu"


@dataclass
class Labelled:
    """The one labelled image guiding patch sampling (standardised image, label map, class count)."""

    image: np.ndarray
    mask: np.ndarray
    n_classes: int


@dataclass
class _Step:
    """The labelled crop's label map when the batch starts with one (row 0), else None."""

    mask: torch.Tensor | None = None
    n_classes: int = 0


@dataclass
class _State:
    net: PretrainNet
    key_net: PretrainNet | None
    queues: list[contrast.Queue] = field(default_factory=list)
    protos: list[tuple[torch.Tensor, torch.Tensor]] | None = None


def _views(crops: torch.Tensor, generator: torch.Generator, noise: float) -> list[tuple[torch.Tensor, list[Symmetry]]]:
    views = []
    for _ in range(2):
        symmetries = [Symmetry.random(generator) for _ in range(len(crops))]
        batch = torch.stack(
            [photometric(s.apply(c), generator, noise=noise) for s, c in zip(symmetries, crops, strict=True)]
        )
        views.append((batch, symmetries))
    return views


def _embed(
    net: PretrainNet, batch: torch.Tensor, symmetries: list[Symmetry]
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    image, patches = net(batch)
    aligned = [torch.stack([s.undo(p) for s, p in zip(symmetries, scale, strict=True)]) for scale in patches]
    return image, aligned


@torch.no_grad()
def _prototypes(net: PretrainNet, labelled: Labelled, device: torch.device) -> list[tuple[torch.Tensor, torch.Tensor]]:
    net.eval()
    padded, _ = pad_to_multiple(torch.from_numpy(labelled.image)[None].to(device))
    _, patches = net(padded)
    net.train()
    mask = torch.from_numpy(labelled.mask.astype(np.int64))
    mask = torch.nn.functional.pad(
        mask, (0, padded.shape[-1] - mask.shape[-1], 0, padded.shape[-2] - mask.shape[-2]), value=contrast.IGNORE
    ).to(device)
    return [contrast.prototypes(p[0], mask, labelled.n_classes) for p in patches]


def _update_prototypes(
    protos: list[tuple[torch.Tensor, torch.Tensor]],
    scale: int,
    embedding: torch.Tensor,
    mask: torch.Tensor,
    n_classes: int,
) -> None:
    """Replace the prototypes of the classes present in this step's labelled crop by their current mean."""
    found, ids = contrast.prototypes(embedding.detach(), mask, n_classes)
    old, old_ids = protos[scale]
    keep = [i for i, c in enumerate(old_ids.tolist()) if c not in ids.tolist()]
    protos[scale] = (torch.cat([old[keep], found.to(old.device)]), torch.cat([old_ids[keep], ids]))


def _sample(
    state: _State, scale: int, mean: torch.Tensor, step: _Step, k: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sampled patches as flat ``(patch id, class)``; ``id = image * locations + location``."""
    locations = mean.shape[-2] * mean.shape[-1]
    if step.mask is None or state.protos is None:
        image, where, _ = contrast.select_random(mean, k * 2, generator)
        ids = image * locations + where
        return ids, ids
    _update_prototypes(state.protos, scale, mean[0], step.mask, step.n_classes)
    protos, proto_ids = state.protos[scale]
    where_l, class_l = contrast.select_labelled(mean[0], step.mask, protos, proto_ids, k)
    image, where, classes = contrast.select_by_prototype(mean[1:], protos, proto_ids, k)
    ids = torch.cat([where_l, (image + 1) * locations + where])
    return ids, torch.cat([class_l, classes])


def _at(embedding: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    locations = embedding.shape[-2] * embedding.shape[-1]
    return contrast.gather(embedding, ids // locations, ids % locations)


def _simclr_loss(
    state: _State, views: list, step: _Step, cfg: PretrainConfig, k: int, generator: torch.Generator
) -> tuple:
    (img1, patches1), (img2, patches2) = (_embed(state.net, b, s) for b, s in views)
    batch = len(img1)
    ids = torch.arange(batch, device=img1.device).repeat(2)
    both = torch.cat([img1, img2])
    image_loss = contrast.info_nce(both, ids, both, ids, cfg.temperature, exclude_self=True)
    patch_losses = []
    for scale, (p1, p2) in enumerate(zip(patches1, patches2, strict=True)):
        patch_ids, classes = _sample(state, scale, ((p1 + p2) / 2).detach(), step, k, generator)
        anchors = torch.cat([_at(p1, patch_ids), _at(p2, patch_ids)])
        classes = classes.repeat(2)
        patch_losses.append(contrast.info_nce(anchors, classes, anchors, classes, cfg.temperature, exclude_self=True))
    return image_loss, torch.stack(patch_losses).mean()


def _moco_loss(
    state: _State, views: list, step: _Step, cfg: PretrainConfig, k: int, generator: torch.Generator
) -> tuple:
    (batch1, sym1), (batch2, sym2) = views
    assert state.key_net is not None  # _new_state gives a moco state its key network
    q_img, q_patches = _embed(state.net, batch1, sym1)
    with torch.no_grad():
        k_img, k_patches = _embed(state.key_net, batch2, sym2)
    ids = torch.arange(len(q_img), device=q_img.device)
    queue = state.queues[0]
    image_loss = contrast.info_nce(
        q_img,
        ids,
        torch.cat([k_img, queue.keys]),
        torch.cat([ids, torch.full_like(queue.labels, contrast.NO_MATCH)]),
        cfg.temperature,
    )
    queue.push(k_img, ids)
    patch_losses = []
    masked = step.mask is not None and state.protos is not None
    for scale, (qp, kp) in enumerate(zip(q_patches, k_patches, strict=True)):
        patch_ids, classes = _sample(state, scale, (qp.detach() + kp) / 2, step, k, generator)
        anchors, keys = _at(qp, patch_ids), _at(kp, patch_ids)
        scale_queue = state.queues[scale + 1]
        patch_losses.append(
            contrast.info_nce(
                anchors,
                classes,
                torch.cat([keys, scale_queue.keys]),
                torch.cat([classes, scale_queue.labels]),
                cfg.temperature,
            )
        )
        scale_queue.push(keys, classes if masked else torch.full_like(classes, contrast.NO_MATCH))
    return image_loss, torch.stack(patch_losses).mean()


@torch.no_grad()
def _momentum_update(net: PretrainNet, key_net: PretrainNet, momentum: float) -> None:
    for q, k in zip(net.parameters(), key_net.parameters(), strict=True):
        k.mul_(momentum).add_(q.detach(), alpha=1 - momentum)


def steps_per_epoch(n_images: int, cfg: PretrainConfig) -> int:
    """Optimiser steps per epoch: one pass over the images, and at least ``min_steps`` over all epochs."""
    natural = max(1, math.ceil(n_images / cfg.batch_size))
    return max(natural, math.ceil(cfg.min_steps / cfg.epochs))


def _labelled_crop(labelled: Labelled, size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """A crop of the labelled image centred on a pixel of a class drawn uniformly (rare classes get seen)."""
    mask = torch.from_numpy(labelled.mask.astype(np.int64))
    image, mask = pad_to(torch.from_numpy(labelled.image), mask, size)
    classes = [c for c in torch.unique(mask).tolist() if c != contrast.IGNORE]
    if not classes:
        return random_crop(image, mask, size, generator)
    where = torch.nonzero(mask == classes[int(torch.randint(len(classes), (1,), generator=generator))])
    y, x = where[int(torch.randint(len(where), (1,), generator=generator))].tolist()
    top = min(max(0, y - size // 2), image.shape[-2] - size)
    left = min(max(0, x - size // 2), image.shape[-1] - size)
    return image[:, top : top + size, left : left + size], mask[top : top + size, left : left + size]


def _batches(images: list[np.ndarray], cfg: PretrainConfig, labelled: Labelled | None, generator: torch.Generator):
    steps = steps_per_epoch(len(images), cfg)
    order = torch.randperm(len(images), generator=generator).tolist()
    cycle = [order[i % len(order)] for i in range(steps * cfg.batch_size)]
    for step in range(steps):
        chosen = cycle[step * cfg.batch_size : (step + 1) * cfg.batch_size]
        crops = [random_crop(torch.from_numpy(images[i]), None, cfg.crop, generator)[0] for i in chosen]
        if labelled is None:
            yield torch.stack(crops), _Step()
            continue
        image, mask = _labelled_crop(labelled, cfg.crop, generator)
        yield torch.stack([image, *crops]), _Step(mask, labelled.n_classes)


def _new_state(in_channels: int, cfg: PretrainConfig, device: torch.device, generator: torch.Generator) -> _State:
    net = PretrainNet(in_channels, cfg.base_channels, cfg.dim, cfg.full_resolution).to(device)
    if cfg.variant != "moco":
        return _State(net, None)
    key_net = copy.deepcopy(net)
    for parameter in key_net.parameters():
        parameter.requires_grad_(False)
    queues = [contrast.Queue(cfg.queue_size, cfg.dim, device, generator) for _ in range(net.projector.n_scales + 1)]
    return _State(net, key_net, queues)


def pretrain(
    images: list[np.ndarray], cfg: PretrainConfig, labelled: Labelled | None = None
) -> tuple[PretrainNet, dict[str, list[float]]]:
    """Pretrain on standardised ``C x H x W`` images; returns the network and per-epoch mean losses
    (plus ``loss_steps``: the loss of every step)."""
    torch.manual_seed(cfg.seed)
    generator = torch.Generator().manual_seed(cfg.seed)
    device = torch.device(cfg.device)
    cfg.crop = cfg.crop - cfg.crop % 16 or 16
    state = _new_state(images[0].shape[0], cfg, device, generator)
    optimizer = torch.optim.Adam(state.net.parameters(), lr=cfg.lr)
    k = cfg.top_k or TOP_K[cfg.variant]
    loss_fn = _moco_loss if cfg.variant == "moco" else _simclr_loss
    history: dict[str, list[float]] = {"loss": [], "image_loss": [], "patch_loss": []}
    per_step: list[float] = []
    if labelled is not None:
        state.protos = _prototypes(state.key_net or state.net, labelled, device)
    total_steps, clock = cfg.epochs * steps_per_epoch(len(images), cfg), [time.perf_counter()]
    for epoch in range(cfg.epochs):
        sums = np.zeros(3)
        count = 0
        for crops, step in _batches(images, cfg, labelled, generator):
            views = [(b.to(device), s) for b, s in _views(crops, generator, cfg.noise)]
            step.mask = None if step.mask is None else step.mask.to(device)
            image_loss, patch_loss = loss_fn(state, views, step, cfg, k, generator)
            loss = cfg.image_weight * image_loss + (1 - cfg.image_weight) * patch_loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if state.key_net is not None:
                _momentum_update(state.net, state.key_net, cfg.momentum)
            step_loss = loss.item()
            sums += [step_loss, image_loss.item(), patch_loss.item()]
            per_step.append(step_loss)
            count += 1
            if epoch == 0 and count <= 2:  # the second step, after warm-up, is the one timed
                clock.append(time.perf_counter())
                if count == 2:
                    announce_pretraining(clock[2] - clock[1], total_steps, cfg)
        for key, value in zip(history, sums / count, strict=True):
            history[key].append(float(value))
    return state.net, {**history, STEP_LOSSES: per_step}

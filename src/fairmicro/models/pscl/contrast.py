"""Patch sampling and the contrastive losses of PSCL.

Patch positives are chosen by feature similarity to class prototypes taken
from the one labelled mask: every location is assigned to its most similar
prototype, and per class the ``k`` most similar locations of each image are
sampled. Sampled patches of the same class attract each other (across both
views, and in MoCo across the queue); patches of other classes repel. Without
a labelled mask every location is its own class (dense contrast): ``k`` random
locations per image, positive only with the same location in the other view.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from fairmicro.models.pscl.augment import IGNORE

NO_MATCH = -1  # label of queue entries that are negatives only


def info_nce(
    anchors: torch.Tensor,
    anchor_labels: torch.Tensor,
    keys: torch.Tensor,
    key_labels: torch.Tensor,
    temperature: float,
    exclude_self: bool = False,
    exclude: torch.Tensor | None = None,
) -> torch.Tensor:
    """Supervised InfoNCE: mean over anchors of -mean log p(positive) among all keys.

    ``exclude_self`` when ``keys`` is ``anchors`` (SimCLR): an anchor is neither
    its own positive nor in its own denominator. ``exclude`` (anchors x keys,
    bool) leaves further keys out of an anchor's denominator. Anchors without any
    positive are left out; with none at all the loss is 0.
    """
    logits = anchors @ keys.T / temperature
    positive = anchor_labels[:, None] == key_labels[None, :]
    if exclude is not None:
        logits = logits.masked_fill(exclude & ~positive, float("-inf"))
    if exclude_self:
        eye = torch.eye(len(anchors), dtype=torch.bool, device=anchors.device)
        logits = logits.masked_fill(eye, float("-inf"))
        positive = positive & ~eye
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    counts = positive.sum(dim=1)
    keep = counts > 0
    if not bool(keep.any()):
        return logits.new_zeros(())
    summed = torch.where(positive, log_prob, torch.zeros_like(log_prob)).sum(dim=1)
    return -(summed[keep] / counts[keep]).mean()


def select_labelled(
    embedding: torch.Tensor, mask: torch.Tensor, protos: torch.Tensor, proto_ids: torch.Tensor, k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-``k`` locations per class of a *labelled* crop, within the class's true region.

    ``embedding`` is ``D x h x w`` (normalised), ``mask`` any size (resized).
    Locations are ranked by similarity to their class prototype; a class without a
    prototype yet ranks its locations at random. Returns ``(location index, class id)``.
    """
    labels = resize_mask(mask, (embedding.shape[-2], embedding.shape[-1])).flatten().to(embedding.device)
    flat = embedding.flatten(1)
    where_all, class_all = [], []
    for cls in labels.unique().tolist():
        if cls == IGNORE:
            continue
        where = torch.nonzero(labels == cls).flatten()
        match = (proto_ids == cls).nonzero().flatten()
        score = protos[match[0]] @ flat[:, where] if len(match) else torch.rand(len(where), device=flat.device)
        where = where[score.topk(min(k, len(where))).indices]
        where_all.append(where)
        class_all.append(torch.full_like(where, cls))
    if not where_all:
        empty = torch.zeros(0, dtype=torch.long, device=embedding.device)
        return empty, empty
    return torch.cat(where_all), torch.cat(class_all)


def resize_mask(mask: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Nearest-neighbour resize of an ``H x W`` label map."""
    resized = F.interpolate(mask[None, None].float(), size=size, mode="nearest")
    return resized[0, 0].to(torch.long)


def prototypes(embedding: torch.Tensor, mask: torch.Tensor, n_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (L2-normalised) embedding of each class present in ``mask``.

    ``embedding`` is ``D x h x w``; ``mask`` any size (resized to ``h x w``).
    Returns ``(P x D prototypes, P class ids)``.
    """
    labels = resize_mask(mask, (embedding.shape[-2], embedding.shape[-1])).flatten()
    flat = embedding.flatten(1)
    found, ids = [], []
    for cls in range(n_classes):
        where = labels == cls
        if bool(where.any()) and cls != IGNORE:
            found.append(F.normalize(flat[:, where].mean(dim=1), dim=0))
            ids.append(cls)
    if not found:
        return embedding.new_zeros((0, embedding.shape[0])), torch.zeros(0, dtype=torch.long)
    return torch.stack(found), torch.tensor(ids, dtype=torch.long)


def select_by_prototype(
    embedding: torch.Tensor, protos: torch.Tensor, proto_ids: torch.Tensor, k: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Top-``k`` locations per class and image by cosine similarity to the prototypes.

    ``embedding`` is ``B x D x h x w`` (normalised). Returns flat
    ``(image index, location index, class id)`` of the sampled patches.
    """
    batch = embedding.shape[0]
    similarity = torch.einsum("bdn,pd->bpn", embedding.flatten(2), protos)
    best = similarity.argmax(dim=1, keepdim=True)
    owned = torch.arange(len(protos), device=embedding.device)[None, :, None] == best
    scores = similarity.masked_fill(~owned, float("-inf"))
    top, where = scores.topk(min(k, scores.shape[-1]), dim=-1)
    image = torch.arange(batch, device=embedding.device)[:, None, None].expand_as(where)
    classes = proto_ids.to(embedding.device)[None, :, None].expand_as(where)
    valid = torch.isfinite(top)
    return image[valid], where[valid], classes[valid]


def select_random(embedding: torch.Tensor, k: int, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
    """``k`` random locations per image, each its own class."""
    batch, locations = embedding.shape[0], embedding.shape[-2] * embedding.shape[-1]
    picks = [torch.randperm(locations, generator=generator)[:k] for _ in range(batch)]
    where = torch.stack(picks).to(embedding.device)
    image = torch.arange(batch, device=embedding.device)[:, None].expand_as(where)
    labels = image * locations + where
    return image.flatten(), where.flatten(), labels.flatten()


def gather(embedding: torch.Tensor, image: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
    """Embeddings (``N x D``) at the given image/location pairs."""
    return embedding.flatten(2)[image, :, where]


class Queue:
    """A FIFO of keys for MoCo, ``size`` entries, first filled with random unit vectors.

    The random start (as in MoCo) keeps the number of negatives, and so the
    scale of the loss, the same from the first step on.
    """

    def __init__(self, size: int, dim: int, device: torch.device, generator: torch.Generator) -> None:
        self.size = size
        self.keys = F.normalize(torch.randn((size, dim), generator=generator), dim=1).to(device)
        self.labels = torch.full((size,), NO_MATCH, dtype=torch.long, device=device)

    def push(self, keys: torch.Tensor, labels: torch.Tensor) -> None:
        """Append, dropping the oldest entries beyond ``size``."""
        self.keys = torch.cat([self.keys, keys.detach()])[-self.size :]
        self.labels = torch.cat([self.labels, labels])[-self.size :]

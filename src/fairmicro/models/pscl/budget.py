"""How long a fine-tuning budget takes here: one timed step, extrapolated, and one warning line on a slow device.

The defaults are the paper's (5 repeats x 50 epochs x 10 steps of 4 crops of 256 px at width 32), meant
for a GPU; on a CPU they take hours. They are kept, but the user is told before the hours start.
"""

from __future__ import annotations

import copy
import logging
import time

import torch
import torch.nn.functional as F

from fairmicro.models.pscl.net import Segmenter, UNet

log = logging.getLogger(__name__)
WARN_SECONDS = 600.0


def seconds_per_step(unet: UNet, n_classes: int, batch_size: int, crop: int, device: str = "cpu") -> float:
    """Wall time of one forward/backward/Adam step on a random batch (a throwaway copy of ``unet``)."""
    model = Segmenter(copy.deepcopy(unet), n_classes).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    x = torch.randn((batch_size, unet.in_channels, crop, crop), device=device)
    y = torch.zeros((batch_size, crop, crop), dtype=torch.long, device=device)
    start = time.perf_counter()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
    return time.perf_counter() - start


def describe(seconds: float) -> str:
    """``about 3 h 20 min`` / ``about 12 min`` / ``about 40 s``."""
    if seconds >= 3600:
        return f"about {int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"
    return f"about {int(seconds // 60)} min" if seconds >= 60 else f"about {int(seconds)} s"


def warn_if_long(unet: UNet, n_classes: int, params: dict, device: str) -> float | None:
    """On a CPU, time one step and log one warning line when the whole fine-tune exceeds ``WARN_SECONDS``.

    Returns the estimate in seconds (``None`` on a GPU, where nothing is timed).
    """
    if not str(device).startswith("cpu"):
        return None
    steps = params["repeats"] * params["epochs"] * params["steps_per_epoch"]
    estimate = steps * seconds_per_step(unet, n_classes, params["batch_size"], params["crop"])
    if estimate > WARN_SECONDS:
        log.warning(
            "pscl-seg on cpu: %d repeat(s) x %d steps of %d crop(s) of %d px at width %d, %s here; "
            "the defaults are the paper's, meant for a GPU (smaller --repeats, --epochs, --crop, "
            "--base-channels for a CPU trial)",
            params["repeats"],
            params["epochs"] * params["steps_per_epoch"],
            params["batch_size"],
            params["crop"],
            unet.base_channels,
            describe(estimate),
        )
    return estimate


def announce_pretraining(step_seconds: float, total_steps: int, cfg: object) -> float | None:
    """On a CPU, one warning line when ``total_steps`` of ``step_seconds`` exceed ``WARN_SECONDS``.

    ``cfg`` is a :class:`~fairmicro.models.pscl.pretrain.PretrainConfig`; pretraining times its second
    step (the first includes warm-up). Returns the estimate in seconds (``None`` on a GPU).
    """
    if not str(getattr(cfg, "device", "cpu")).startswith("cpu"):
        return None
    estimate = step_seconds * total_steps
    if estimate > WARN_SECONDS:
        log.warning(
            "pscl on cpu: %d steps of %d crop(s) of %d px at width %d, %s here; "
            "smaller --epochs/--min-steps, --crop, --base-channels for a CPU trial",
            total_steps,
            getattr(cfg, "batch_size", 0),
            getattr(cfg, "crop", 0),
            getattr(cfg, "base_channels", 0),
            describe(estimate),
        )
    return estimate

"""``pscl``: patch-sampled contrastive pretraining of a UNet (Bao et al. 2025), a pretraining plugin.

``fairmicro pretrain pscl --dataset D [--variant simclr|moco] [--epochs N] [--device auto]``.
Masks are not needed; when the training split has a ``mask`` column, the one
labelled image chosen by ``seed`` guides patch sampling (class prototypes), as
in the paper. The saved UNet is what ``pscl-seg --init RUN_ID`` starts from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field

from fairmicro.errors import ModelError
from fairmicro.models.base import ModelPlugin, PluginParams
from fairmicro.models.pscl.checkpoint import read_checkpoint, write_checkpoint

WEIGHTS = "unet.pt"
MIN_STEPS = 200  # a floor so a small --epochs on a tiny set still trains; not shown to be enough (docs/pscl.md)
CONFIG = "pscl.json"


class PsclParams(PluginParams):
    """Parameters of ``pscl`` (defaults: the paper's)."""

    variant: Literal["simclr", "moco"] = Field("simclr", description="Contrastive framework: simclr or moco.")
    epochs: int = Field(100, ge=1, description="Passes over the training images.")
    min_steps: int = Field(MIN_STEPS, ge=0, description="Fewest optimiser steps in all (tiny sets: epochs get longer).")
    batch_size: int = Field(8, ge=1, description="Crops per step.")
    crop: int = Field(128, ge=16, description="Side of the random crops (rounded down to a multiple of 16).")
    base_channels: int = Field(32, ge=1, description="UNet width of the first level (levels: x1, x2, x4, x8).")
    lr: float = Field(1e-4, gt=0, description="Adam learning rate.")
    temperature: float = Field(0.5, gt=0, description="InfoNCE temperature.")
    image_weight: float = Field(0.3, ge=0, le=1, description="Weight of the image-level loss (patch level: 1 - this).")
    top_k: int | None = Field(None, ge=1, description="Patches per class and image (default: 4 simclr, 30 moco).")
    queue_size: int = Field(504, ge=1, description="MoCo queue length.")
    momentum: float = Field(0.99, ge=0, le=1, description="MoCo key-encoder momentum.")
    noise: float = Field(0.0, ge=0, description="Std of the Gaussian noise added to each view (0: none).")
    full_resolution: bool = Field(
        True, description="Also contrast patches at full resolution (pretrains the block the segmentation head reads)."
    )
    prototypes: bool = Field(True, description="Use one labelled mask of the split (if any) for patch sampling.")
    channels: Literal["auto", "grey", "rgb"] = Field(
        "auto", description="Input channels (auto: rgb if any image has colour)."
    )
    seed: int = Field(0, description="Random seed (crops, views, labelled image, initial weights).")
    device: str = Field("auto", description="auto (cuda if available), cpu, cuda, cuda:N.")


def resolve_device(name: str) -> str:
    """``auto`` -> ``cuda`` when available, else ``cpu``; anything else must be a device torch knows."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise ModelError(f"device {name!r}: {exc}; use auto, cpu or cuda") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ModelError(f"device {name!r}: CUDA is not available here; use --device auto or cpu")
    return name


def channel_count(choice: str, arrays: list[Any]) -> int:
    """1 or 3 input channels from the ``channels`` parameter and the images."""
    from fairmicro.models.pscl.data import detect_channels

    return {"grey": 1, "rgb": 3}.get(choice) or detect_channels(arrays)


class PsclPlugin(ModelPlugin):
    """PSCL pretraining (SimCLR or MoCo variant) on unlabelled images."""

    name: ClassVar[str] = "pscl"
    task: ClassVar[str] = "pretraining"
    Params: ClassVar[type[PluginParams]] = PsclParams

    in_channels_: int
    unet_state_: dict[str, Any]
    labelled_sha256_: str | None = None

    def fit(self, train: Any, validation: Any | None = None) -> PsclPlugin:
        """Pretrain on the images of ``train`` (labels and masks are not required)."""
        from fairmicro.models.pscl.pretrain import PretrainConfig, pretrain

        if not len(train):
            raise ModelError("pscl: the training split has no images")
        from fairmicro.models.pscl.data import raw_images, standardise

        raw = raw_images(train, range(len(train)))
        self.in_channels_ = channel_count(self.params["channels"], raw)
        images = [standardise(a, self.in_channels_) for a in raw]
        del raw
        labelled = self._labelled(train, images)
        keys = set(PretrainConfig.__dataclass_fields__) - {"device"}
        config = PretrainConfig(
            **{k: v for k, v in self.params.items() if k in keys}, device=resolve_device(self.params["device"])
        )
        net, self.history_ = pretrain(images, config, labelled)
        self.unet_state_ = {k: v.detach().cpu() for k, v in net.unet.state_dict().items()}
        return self

    def _labelled(self, train: Any, images: list[Any]) -> Any:
        """The one labelled image guiding patch sampling (None without masks)."""
        from fairmicro.models.pscl.pretrain import Labelled
        from fairmicro.models.pscl.selection import labelled_rows, mask_class_names

        if not self.params["prototypes"] or "mask" not in train.column_names:
            return None
        chosen = labelled_rows(train, 1, self.params["seed"], quiet=True)
        if not chosen.rows:
            return None
        from fairmicro.models.pscl.data import rows_masks

        row = chosen.rows[0]
        self.labelled_sha256_ = chosen.sha256[0]
        return Labelled(images[row], rows_masks(train, [row])[0], len(mask_class_names(train)))

    def report(self) -> dict[str, Any]:
        """Which labelled image guided patch sampling."""
        found = self.labelled_sha256_
        return {
            "labelled_sha256": found,
            "summary": [
                f"patch sampling guided by labelled image {found[:12]}"
                if found
                else "patch sampling without labelled mask (dense contrast)"
            ],
        }

    def save(self, folder: Path) -> list[Path]:
        """``unet.pt`` (encoder/decoder weights) and ``pscl.json``."""
        config = {
            "params": self.params,
            "in_channels": self.in_channels_,
            "history": self.history_,
            "labelled_sha256": self.labelled_sha256_,
        }
        return write_checkpoint(folder, WEIGHTS, self.unet_state_, CONFIG, config)

    @classmethod
    def load(cls, folder: Path) -> PsclPlugin:
        """Read what :meth:`save` wrote."""
        state, config = read_checkpoint(folder, WEIGHTS, CONFIG)
        model = cls(**config["params"])
        model.in_channels_, model.history_ = config["in_channels"], config["history"]
        model.labelled_sha256_ = config.get("labelled_sha256")
        model.unet_state_ = state
        return model

    def new_unet(self) -> Any:
        """A UNet carrying the pretrained weights."""
        from fairmicro.models.pscl.net import UNet

        unet = UNet(self.in_channels_, self.params["base_channels"])
        unet.load_state_dict(self.unet_state_)
        return unet

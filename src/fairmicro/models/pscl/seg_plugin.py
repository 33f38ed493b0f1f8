"""``pscl-seg``: one-shot fine-tuning of a (PSCL-pretrained) UNet, a segmentation plugin.

``fairmicro train pscl-seg --dataset D --labelled 1 --init RUN_ID|none [--repeats 5] [--epochs N]``.
Each repeat ``r`` draws its labelled image(s) from the train split with seed
``seed + r`` and fine-tunes a fresh copy of the initial weights; the task
scores every repeat. Predictions average the repeats' class probabilities.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from fairmicro.errors import ModelError
from fairmicro.models.base import ModelPlugin, PluginParams
from fairmicro.models.pscl.checkpoint import read_checkpoint, write_checkpoint
from fairmicro.models.pscl.pretrain_plugin import channel_count, resolve_device

WEIGHTS = "members.pt"
CONFIG = "pscl_seg.json"


class PsclSegParams(PluginParams):
    """Parameters of ``pscl-seg`` (learning rates and loss: the paper's)."""

    labelled: int = Field(1, ge=1, description="Labelled training images per repeat (all tiles of each).")
    init: str = Field("none", description="A pscl pretraining run id to start from, or none (random weights).")
    repeats: int = Field(5, ge=1, description="Fine-tunings with different labelled images and seeds.")
    epochs: int = Field(50, ge=1, description="Fine-tuning epochs per repeat.")
    steps_per_epoch: int = Field(10, ge=1, description="Optimiser steps per epoch.")
    batch_size: int = Field(4, ge=1, description="Crops per step.")
    crop: int = Field(256, ge=16, description="Side of the random training crops.")
    lr_encoder: float = Field(1e-4, gt=0, description="Adam learning rate of the encoder.")
    lr_decoder: float = Field(1e-3, gt=0, description="Adam learning rate of decoder and head.")
    ce_weight: float = Field(0.5, ge=0, le=1, description="Weight of cross-entropy (Dice: 1 - this).")
    head_steps: int = Field(
        100, ge=0, description="Steps fitting the head on frozen features before fine-tuning (0: class prior only)."
    )
    base_channels: int = Field(32, ge=1, description="UNet width without --init (with it: the pretrained one).")
    channels: Literal["auto", "grey", "rgb"] = Field("auto", description="Input channels without --init.")
    seed: int = Field(0, description="Base seed; repeat r uses seed + r.")
    device: str = Field("auto", description="auto (cuda if available), cpu, cuda, cuda:N.")


class PsclSegPlugin(ModelPlugin):
    """UNet segmentation fine-tuned from one labelled image, repeated over seeds."""

    name: ClassVar[str] = "pscl-seg"
    task: ClassVar[str] = "segmentation"
    Params: ClassVar[type[PluginParams]] = PsclSegParams

    classes_: list[str]
    members_: list[dict[str, Any]]
    labelled_: list[list[str]]
    in_channels_: int
    base_channels_: int
    init_model_: Any = None
    init_run_id_: str | None = None

    def set_init(self, pretrained: ModelPlugin, run_id: str) -> None:
        """Start from a pretraining run's model (checked by the segmentation task)."""
        if not hasattr(pretrained, "new_unet"):
            raise ModelError(
                f"--init {run_id}: a {pretrained.name} model has no UNet to fine-tune; "
                "give a `fairmicro pretrain pscl` run"
            )
        self.init_model_, self.init_run_id_ = pretrained, run_id

    def _start_unet(self, seed: int) -> Any:
        import torch

        from fairmicro.models.pscl.net import UNet

        if self.init_model_ is not None:
            return self.init_model_.new_unet()
        torch.manual_seed(seed)
        return UNet(self.in_channels_, self.base_channels_)

    def fit(self, train: Any, validation: Any | None = None) -> PsclSegPlugin:
        """Fine-tune ``repeats`` times, each on ``labelled`` image(s) of ``train``."""
        from fairmicro.models.pscl.selection import labelled_rows, mask_class_names

        if self.params["init"] != "none" and self.init_model_ is None:
            raise ModelError(f"--init {self.params['init']}: the pretraining run was not loaded (run through the CLI)")
        self.classes_ = mask_class_names(train)
        choices = [
            labelled_rows(train, self.params["labelled"], self.params["seed"] + r)
            for r in range(self.params["repeats"])
        ]
        self._set_shape(train, choices)
        self._warn_if_long()
        self.members_, self.labelled_, curves = [], [], []
        for repeat, choice in enumerate(choices):
            state, history = self._fit_one(train, choice.rows, self.params["seed"] + repeat)
            self.members_.append(state)
            self.labelled_.append(choice.sha256)
            curves.append(history["loss"])
        self.history_ = {
            "loss": np.mean(curves, axis=0).tolist(),
            **{f"loss_repeat_{r}": c for r, c in enumerate(curves)},
        }
        return self

    def _warn_if_long(self) -> None:
        """One warning line when the budget takes long on a CPU (the paper's defaults: hours)."""
        from fairmicro.models.pscl.budget import warn_if_long

        warn_if_long(
            self._start_unet(self.params["seed"]),
            len(self.classes_),
            self.params,
            resolve_device(self.params["device"]),
        )

    def _set_shape(self, train: Any, choices: list[Any]) -> None:
        from fairmicro.models.pscl.data import raw_images

        if self.init_model_ is not None:
            self.in_channels_ = self.init_model_.in_channels_
            self.base_channels_ = self.init_model_.params["base_channels"]
            return
        rows = sorted({row for choice in choices for row in choice.rows})
        self.in_channels_ = channel_count(self.params["channels"], raw_images(train, rows))
        self.base_channels_ = self.params["base_channels"]

    def _fit_one(self, train: Any, rows: list[int], seed: int) -> tuple[dict[str, Any], dict[str, list[float]]]:
        from fairmicro.models.pscl.data import check_pair, rows_images, rows_masks
        from fairmicro.models.pscl.finetune import FinetuneConfig, finetune

        images, masks = rows_images(train, rows, self.in_channels_), rows_masks(train, rows)
        for row, image, mask in zip(rows, images, masks, strict=True):
            check_pair(image, mask, row)
        keys = set(FinetuneConfig.__dataclass_fields__) - {"device", "seed"}
        config = FinetuneConfig(
            **{k: v for k, v in self.params.items() if k in keys},
            seed=seed,
            device=resolve_device(self.params["device"]),
        )
        model, history = finetune(self._start_unet(seed), images, masks, len(self.classes_), config)
        return {k: v.detach().cpu() for k, v in model.state_dict().items()}, history

    @property
    def n_members_(self) -> int:
        """How many fine-tuned models (repeats) there are."""
        return len(self.members_)

    def _segmenters(self, members: list[int]) -> list[Any]:
        from fairmicro.models.pscl.net import Segmenter, UNet

        device = resolve_device(self.params["device"])
        models = []
        for index in members:
            model = Segmenter(UNet(self.in_channels_, self.base_channels_), len(self.classes_))
            model.load_state_dict(self.members_[index])
            models.append(model.to(device).eval())
        return models

    def predict_masks(self, data: Any, member: int | None = None) -> Iterator[np.ndarray]:
        """One ``uint8`` label map per row (repeat ``member``, or all repeats' mean probabilities)."""
        from fairmicro.models.pscl.data import rows_images
        from fairmicro.models.pscl.finetune import probabilities

        models = self._segmenters(list(range(self.n_members_)) if member is None else [member])
        device = resolve_device(self.params["device"])
        for row in range(len(data)):
            image = rows_images(data, [row], self.in_channels_)[0]
            yield probabilities(models, image, device, window=self.params["crop"]).argmax(axis=0).astype(np.uint8)

    def report(self) -> dict[str, Any]:
        """Initial weights and the labelled images of every repeat (sha256)."""
        init = self.init_run_id_ or "none (random weights)"
        return {
            "init_run_id": self.init_run_id_,
            "labelled_sha256": self.labelled_,
            "summary": [
                f"initialised from {init}; labelled image(s) per repeat: "
                + "; ".join(",".join(s[:12] for s in shas) for shas in self.labelled_)
            ],
        }

    def save(self, folder: Path) -> list[Path]:
        """``members.pt`` (one state dict per repeat) and ``pscl_seg.json``."""
        config = {
            "params": self.params,
            "classes": self.classes_,
            "labelled": self.labelled_,
            "in_channels": self.in_channels_,
            "base_channels": self.base_channels_,
            "init_run_id": self.init_run_id_,
            "history": self.history_,
        }
        return write_checkpoint(folder, WEIGHTS, self.members_, CONFIG, config)

    @classmethod
    def load(cls, folder: Path) -> PsclSegPlugin:
        """Read what :meth:`save` wrote."""
        members, config = read_checkpoint(folder, WEIGHTS, CONFIG)
        model = cls(**config["params"])
        model.classes_, model.labelled_ = config["classes"], config["labelled"]
        model.in_channels_, model.base_channels_ = config["in_channels"], config["base_channels"]
        model.init_run_id_, model.history_ = config["init_run_id"], config["history"]
        model.members_ = members
        return model

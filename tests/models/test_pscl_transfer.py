"""Transfer from PSCL pretraining to fine-tuning: which weights and learning rates fine-tuning starts from.

A test that pretrained beats scratch in Dice is NOT here yet: in the measurements
of docs/pscl.md ("Does pretraining help?") it did not hold, and an assertion that
does not hold across seeds would be either flaky or weakened.
"""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("datasets")


def test_fine_tuning_starts_from_every_pretrained_tensor_and_splits_learning_rates():
    """Encoder and decoder weights are both carried over; encoder and decoder+head partition the parameters."""
    import torch

    from fairmicro.models.pscl.net import Segmenter, decoder_parameters, encoder_parameters
    from fairmicro.models.pscl.pretrain_plugin import PsclPlugin
    from fairmicro.models.pscl.synthetic import segmentation_dataset

    data = segmentation_dataset({"train": 2}, size=32, phases=2)
    pretrained = PsclPlugin(epochs=1, min_steps=1, base_channels=4, crop=32, batch_size=2, device="cpu").fit(
        data["train"]
    )
    unet = pretrained.new_unet()
    state = unet.state_dict()
    assert set(state) == set(pretrained.unet_state_)
    assert any(k.startswith("up.") for k in state) and any(k.startswith("down.") for k in state)
    assert all(torch.equal(state[k], pretrained.unet_state_[k]) for k in state)
    model = Segmenter(unet, 2)
    encoder, decoder = {id(p) for p in encoder_parameters(unet)}, {id(p) for p in decoder_parameters(model)}
    assert not encoder & decoder and encoder | decoder == {id(p) for p in model.parameters()}

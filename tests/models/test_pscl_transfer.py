"""Transfer from PSCL pretraining to fine-tuning: which weights and learning rates fine-tuning starts from.

That pretrained beats scratch in Dice is tested in test_pscl_pretraining_helps.py.
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


def test_head_fitted_on_frozen_features_predicts_a_middle_class_the_prior_head_never_does():
    """Symptom: pretrained repeats lost the middle phase (Dice 0.0); its features lay between the other two."""
    import torch

    class Features(torch.nn.Module):  # a stand-in UNet whose full-resolution features are its input
        def forward(self, x):
            return x, None, []

    from fairmicro.models.pscl.finetune import start_from_prior
    from fairmicro.models.pscl.head import fit_head
    from fairmicro.models.pscl.net import Segmenter, UNet

    labels = torch.arange(3).repeat_interleave(16 * 16 // 3 + 1)[: 16 * 16].reshape(1, 16, 16)
    features = torch.stack([labels.float() - 1, torch.zeros_like(labels, dtype=torch.float32)], dim=1)
    model = Segmenter(UNet(1, 2), 3)
    model.unet = Features()
    start_from_prior(model, [labels[0].numpy().astype("uint8")], 3)
    assert model.head(features).argmax(dim=1).unique().numel() == 1
    fit_head(model, [(features, labels)], torch.ones(3), steps=100, generator=torch.Generator().manual_seed(0))
    predicted = model.head(features).argmax(dim=1)
    assert (predicted == labels).float().mean() > 0.95

import itertools

import pytest
import torch
import torch.nn.functional as F

from qgis_noisyseg.backend.models import (
    DECODERS,
    ENCODERS,
    build_model,
    freeze,
    named_blocks,
    resolve_config,
    transfer_weights,
    unfreeze,
)
from qgis_noisyseg.core.errors import UserError


def tiny_config(encoder="resnet18", decoder="unet", in_channels=3, num_classes=5, **extra):
    return dict(encoder=encoder, decoder=decoder, in_channels=in_channels,
                num_classes=num_classes, base_width=8, **extra)


@pytest.mark.parametrize("encoder,decoder", list(itertools.product(ENCODERS, DECODERS)))
@pytest.mark.parametrize("in_channels", [1, 3, 4])
def test_every_architecture_gives_logits_at_input_resolution(encoder, decoder, in_channels):
    torch.manual_seed(0)
    model = build_model(tiny_config(encoder, decoder, in_channels, num_classes=5))
    logits = model(torch.randn(2, in_channels, 32, 64))
    assert logits.shape == (2, 5, 32, 64)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("encoder", ENCODERS)
def test_encoder_features_match_declared_channels_and_strides(encoder):
    model = build_model(tiny_config(encoder))
    features = model.encoder(torch.randn(1, 3, 64, 64))
    assert [f.shape[1] for f in features] == model.encoder.out_channels
    assert [64 // f.shape[-1] for f in features] == list(model.encoder.reductions)


def test_standard_width_resnets_have_torchvision_parameter_counts():
    # torchvision's counts without the 1000-class fc layer.
    for name, expected in [("resnet18", 11_176_512), ("resnet50", 23_508_032)]:
        encoder = ENCODERS[name](in_channels=3, base_width=64)
        assert sum(p.numel() for p in encoder.parameters()) == expected


@pytest.mark.parametrize("decoder,decoder_blocks", [
    ("unet", ["block1", "block2", "block3", "block4", "block5"]),
    ("fpn", ["lateral", "semantic"]),
    ("deeplabv3plus", ["aspp", "low_level", "fuse"]),
])
def test_named_blocks_are_stable_and_cover_every_parameter(decoder, decoder_blocks):
    model = build_model(tiny_config(decoder=decoder))
    blocks = named_blocks(model)
    assert [name for name, _ in blocks] == (
        ["encoder.stem", "encoder.layer1", "encoder.layer2", "encoder.layer3", "encoder.layer4"]
        + [f"decoder.{b}" for b in decoder_blocks]
        + ["head"]
    )
    in_blocks = sum(p.numel() for _, block in blocks for p in block.parameters())
    assert in_blocks == sum(p.numel() for p in model.parameters())


def test_frozen_parts_stay_unchanged_after_an_optimizer_step():
    torch.manual_seed(0)
    model = build_model(tiny_config())
    freeze(model, ["encoder", "block1"])
    model.train()
    frozen = {k: v.clone() for k, v in model.state_dict().items()
              if k.startswith(("encoder.", "decoder.block1."))}
    head_before = model.head.conv.weight.clone()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)

    loss = model(torch.randn(2, 3, 32, 32)).square().mean()
    loss.backward()
    optimizer.step()

    state = model.state_dict()
    for key, value in frozen.items():  # weights and BatchNorm running statistics
        assert torch.equal(state[key], value), key
    assert not torch.equal(model.head.conv.weight, head_before)
    assert not model.encoder.stem.bn.training and model.decoder.block2.conv1.bn.training


def test_unfreeze_restores_training():
    model = build_model(tiny_config())
    freeze(model, ["layer1"])
    assert not any(p.requires_grad for p in model.encoder.layer1.parameters())
    assert all(p.requires_grad for p in model.encoder.layer2.parameters())
    unfreeze(model, ["encoder.layer1"])
    model.train()
    assert all(p.requires_grad for p in model.parameters())
    assert all(m.training for m in model.modules())


def test_freeze_rejects_unknown_parts():
    with pytest.raises(UserError, match="layer9"):
        freeze(build_model(tiny_config()), ["layer9"])


def test_transfer_copies_the_encoder_exactly():
    torch.manual_seed(0)
    source = build_model(tiny_config())
    torch.manual_seed(1)
    target = build_model(tiny_config())
    decoder_before = {k: v.clone() for k, v in target.decoder.state_dict().items()}

    report = transfer_weights(target, source.state_dict(), parts=("encoder",))

    assert report["copied"] == len(source.encoder.state_dict())
    assert report["skipped_shape_mismatch"] == [] and report["missing"] == []
    for key, value in source.encoder.state_dict().items():
        assert torch.equal(target.encoder.state_dict()[key], value)
    for key, value in target.decoder.state_dict().items():
        assert torch.equal(value, decoder_before[key])


def test_transfer_reports_band_and_class_mismatches_without_crashing():
    source = build_model(tiny_config(in_channels=3, num_classes=5))
    target = build_model(tiny_config(in_channels=4, num_classes=2))
    head_before = target.head.conv.weight.clone()

    report = transfer_weights(target, source.state_dict(), parts=("encoder", "decoder", "head"))

    assert report["skipped_shape_mismatch"] == [
        "encoder.stem.conv.weight", "head.conv.weight", "head.conv.bias"
    ]
    assert report["missing"] == []
    assert report["copied"] == len(target.state_dict()) - 3
    assert torch.equal(target.head.conv.weight, head_before)
    assert torch.equal(target.encoder.layer1[0].conv1.weight, source.encoder.layer1[0].conv1.weight)


def test_transfer_reports_keys_missing_from_the_source():
    source = build_model(tiny_config(decoder="fpn"))
    target = build_model(tiny_config(decoder="unet"))
    report = transfer_weights(target, source.state_dict(), parts=("encoder", "decoder"))
    assert report["copied"] == len(target.encoder.state_dict())
    assert len(report["missing"]) == len(target.decoder.state_dict())


def test_tiny_model_overfits_a_fixed_batch():
    torch.manual_seed(0)
    model = build_model(tiny_config(num_classes=3))
    images = torch.randn(4, 3, 32, 32)
    # Labels constant on 8x8 cells, so they are learnable at the decoder's resolution.
    labels = torch.randint(0, 3, (4, 4, 4)).repeat_interleave(8, 1).repeat_interleave(8, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    losses = []
    for _ in range(50):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 10


@pytest.mark.parametrize("key", ["encoder", "decoder"])
def test_unknown_architecture_names_raise_user_error_listing_the_valid_ones(key):
    with pytest.raises(UserError) as error:
        build_model({**tiny_config(), key: "vit"})
    assert "'vit'" in str(error.value)
    assert all(name in str(error.value) for name in (ENCODERS if key == "encoder" else DECODERS))


def test_resolve_config_fills_defaults_and_checks_sizes():
    config = {"encoder": "resnet34", "decoder": "fpn", "in_channels": 4, "num_classes": 3,
              "classes": ["ignored"]}
    assert resolve_config(config) == {
        "encoder": "resnet34", "decoder": "fpn", "in_channels": 4, "num_classes": 3,
        "base_width": 64, "decoder_channels": 256,
    }
    with pytest.raises(UserError, match="in_channels"):
        resolve_config({**config, "in_channels": 0})
    with pytest.raises(UserError, match="num_classes"):
        resolve_config({k: v for k, v in config.items() if k != "num_classes"})


def test_torch_free_architecture_names_match_the_registry():
    from qgis_noisyseg.backend.architectures import DECODER_NAMES, DEFAULT_BASE_WIDTH, ENCODER_NAMES
    from qgis_noisyseg.backend.models.registry import DECODERS, ENCODERS

    assert ENCODER_NAMES == tuple(ENCODERS) and DECODER_NAMES == tuple(DECODERS) and DEFAULT_BASE_WIDTH == 64

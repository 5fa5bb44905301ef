import math

import pytest
import torch

from qgis_noisyseg.backend.models import build_model, transfer_weights
from qgis_noisyseg.backend.models.encoders import resnet18
from qgis_noisyseg.backend.simclr import SimCLRAugment, SimCLRModel, nt_xent_loss


def seeded(seed):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("n", [1, 4, 16])
def test_nt_xent_is_log_of_negatives_plus_one_when_all_embeddings_are_equal(n):
    z = torch.ones(n, 8)
    assert nt_xent_loss(z, z.clone(), temperature=0.2).item() == pytest.approx(
        math.log(2 * n - 1), abs=1e-5
    )


def test_nt_xent_is_lower_for_matched_pairs_than_for_random_ones():
    z1 = torch.randn(16, 32, generator=seeded(0))
    z2 = torch.randn(16, 32, generator=seeded(1))
    assert nt_xent_loss(z1, z1.clone()) < nt_xent_loss(z1, z2)


def test_nt_xent_is_symmetric_in_its_views():
    z1 = torch.randn(8, 16, generator=seeded(0))
    z2 = torch.randn(8, 16, generator=seeded(1))
    assert nt_xent_loss(z1, z2).item() == pytest.approx(nt_xent_loss(z2, z1).item(), abs=1e-6)


@pytest.mark.parametrize("bands", [1, 3, 5])
def test_augment_keeps_shape_and_is_reproducible(bands):
    images = torch.randn(6, bands, 32, 32, generator=seeded(0))
    augment = SimCLRAugment()
    view = augment(images, seeded(7))
    assert view.shape == images.shape
    assert torch.isfinite(view).all()
    assert torch.equal(view, augment(images, seeded(7)))
    assert not torch.allclose(view, augment(images, seeded(8)))
    assert not torch.allclose(view, images)


def test_augment_keeps_shape_of_non_square_tiles():
    images = torch.randn(3, 4, 32, 64, generator=seeded(0))
    assert SimCLRAugment()(images, seeded(0)).shape == images.shape


def test_augment_without_randomness_is_the_identity():
    images = torch.randn(4, 3, 16, 16, generator=seeded(0))
    augment = SimCLRAugment(crop_scale=(1.0, 1.0), crop_ratio=(1.0, 1.0), flip_p=0.0,
                            rotate=False, jitter_p=0.0, blur_p=0.0)
    torch.testing.assert_close(augment(images, seeded(0)), images)


def test_full_crop_flips_and_turns_are_exact_dihedral_transforms():
    images = torch.randn(8, 2, 16, 16, generator=seeded(0))
    augment = SimCLRAugment(crop_scale=(1.0, 1.0), crop_ratio=(1.0, 1.0), jitter_p=0.0, blur_p=0.0)
    views = augment(images, seeded(3))
    for image, view in zip(images, views):
        candidates = [torch.rot90(flipped, k, dims=(1, 2))
                      for flipped in (image, image.flip(-1)) for k in range(4)]
        assert min((view - c).abs().max().item() for c in candidates) < 1e-5


def test_simclr_model_embeds_views_and_transfers_only_its_encoder():
    torch.manual_seed(0)
    simclr = SimCLRModel(resnet18(in_channels=5, base_width=8), projection_dim=16)
    views = torch.randn(4, 5, 32, 32)
    assert simclr(views).shape == (4, 16)

    segmentation = build_model(dict(encoder="resnet18", decoder="fpn", in_channels=5,
                                    num_classes=3, base_width=8))
    report = transfer_weights(segmentation, simclr.state_dict(), parts=("encoder",))
    assert report["copied"] == len(simclr.encoder.state_dict())
    assert report["skipped_shape_mismatch"] == [] and report["missing"] == []
    assert not any(key.startswith("projection") for key in segmentation.state_dict())

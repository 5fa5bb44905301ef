"""SimCLR (Chen et al. 2020) for multispectral tiles: augmentation, projection head, NT-Xent.

The views come from ``SimCLRAugment`` on normalised imagery of any band count; colour jitter
(brightness/contrast/saturation/hue, defined for RGB) becomes a per-band brightness/contrast
jitter, and there is no random grayscale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .models.segmentation import set_train_mode

# 0.1 was best at batch 4096; small batches of tiles from one scene hold near-duplicate
# negatives, which a softer temperature penalises less.
DEFAULT_TEMPERATURE = 0.2
DEFAULT_PROJECTION_DIM = 128


def _uniform(
    shape: tuple[int, ...], low: float, high: float, generator: Optional[torch.Generator]
) -> Tensor:
    device = generator.device if generator is not None else None
    return low + (high - low) * torch.rand(shape, generator=generator, device=device)


def _bernoulli(n: int, p: float, generator: Optional[torch.Generator]) -> Tensor:
    return _uniform((n,), 0.0, 1.0, generator) < p


@dataclass(frozen=True)
class SimCLRAugment:
    """One random view of a batch ``[N, C, H, W]`` of normalised imagery, drawn per sample.

    In order: a random resized crop (area fraction ``crop_scale``, aspect ratio ``crop_ratio``,
    resampled bilinearly to the input size) combined with flips and 90-degree turns (only 180
    for non-square inputs) into one affine resampling; with probability ``jitter_p`` contrast
    about each band's mean, ``x' = (x - mean) * c + mean + b``, with ``c`` in ``1 ± contrast`` and
    ``b`` in ``± brightness`` (normalised units) per sample, each perturbed per band by
    ``band_jitter``; with probability ``blur_p`` a separable Gaussian blur, sigma in
    ``blur_sigma`` pixels. Crops too wide or tall for the tile are clipped to it.

    All random numbers come from ``generator`` (on its device), so a seeded generator
    reproduces the views.
    """

    crop_scale: tuple[float, float] = (0.2, 1.0)
    crop_ratio: tuple[float, float] = (3 / 4, 4 / 3)
    flip_p: float = 0.5
    rotate: bool = True
    jitter_p: float = 0.8
    brightness: float = 0.4
    contrast: float = 0.4
    band_jitter: float = 0.1
    blur_p: float = 0.5
    blur_sigma: tuple[float, float] = (0.1, 2.0)

    def __call__(self, images: Tensor, generator: Optional[torch.Generator] = None) -> Tensor:
        views = self._crop_flip_rotate(images, generator)
        views = self._jitter(views, generator)
        return self._blur(views, generator)

    def _crop_flip_rotate(self, images: Tensor, generator: Optional[torch.Generator]) -> Tensor:
        n, _, height, width = images.shape
        area = _uniform((n,), *self.crop_scale, generator)
        log_ratio = _uniform((n,), *(math.log(r) for r in self.crop_ratio), generator)
        # Half extents and centre of the crop in grid_sample's [-1, 1] coordinates.
        half_w = (area * log_ratio.exp()).sqrt().clamp(max=1.0)
        half_h = (area / log_ratio.exp()).sqrt().clamp(max=1.0)
        centre_x = (1 - half_w) * _uniform((n,), -1.0, 1.0, generator)
        centre_y = (1 - half_h) * _uniform((n,), -1.0, 1.0, generator)

        flip_x = 1.0 - 2.0 * _bernoulli(n, self.flip_p, generator).float()
        flip_y = 1.0 - 2.0 * _bernoulli(n, self.flip_p, generator).float()
        turns = torch.randint(0, 4, (n,), generator=generator, device=area.device)
        if not self.rotate:
            turns.zero_()
        elif height != width:
            turns = turns % 2 * 2
        cos = torch.tensor([1.0, 0.0, -1.0, 0.0], device=area.device)[turns]
        sin = torch.tensor([0.0, 1.0, 0.0, -1.0], device=area.device)[turns]

        # Input position = centre + diag(half extents) @ rotation @ diag(flips) @ output position.
        theta = torch.stack(
            [
                torch.stack([half_w * cos * flip_x, -half_w * sin * flip_y, centre_x], dim=1),
                torch.stack([half_h * sin * flip_x, half_h * cos * flip_y, centre_y], dim=1),
            ],
            dim=1,
        ).to(images.device, images.dtype)
        grid = F.affine_grid(theta, list(images.shape), align_corners=False)
        return F.grid_sample(
            images, grid, mode="bilinear", padding_mode="border", align_corners=False
        )

    def _jitter(self, images: Tensor, generator: Optional[torch.Generator]) -> Tensor:
        n, bands = images.shape[:2]
        contrast = _uniform((n, 1), 1 - self.contrast, 1 + self.contrast, generator)
        contrast = contrast * _uniform(
            (n, bands), 1 - self.band_jitter, 1 + self.band_jitter, generator
        )
        brightness = _uniform((n, 1), -self.brightness, self.brightness, generator)
        brightness = brightness + _uniform(
            (n, bands), -self.band_jitter, self.band_jitter, generator
        )
        applied = _bernoulli(n, self.jitter_p, generator)[:, None]
        contrast = torch.where(applied, contrast, torch.ones_like(contrast))
        brightness = torch.where(applied, brightness, torch.zeros_like(brightness))

        contrast = contrast.to(images.device, images.dtype)[:, :, None, None]
        brightness = brightness.to(images.device, images.dtype)[:, :, None, None]
        mean = images.mean(dim=(2, 3), keepdim=True)
        return (images - mean) * contrast + mean + brightness

    def _blur(self, images: Tensor, generator: Optional[torch.Generator]) -> Tensor:
        n, bands, height, width = images.shape
        sigma = _uniform((n, 1), *self.blur_sigma, generator)
        applied = _bernoulli(n, self.blur_p, generator)
        if not applied.any():
            return images
        radius = math.ceil(3 * self.blur_sigma[1])
        offsets = torch.arange(-radius, radius + 1, dtype=sigma.dtype, device=sigma.device)
        kernels = torch.exp(-0.5 * (offsets / sigma) ** 2)
        kernels = kernels / kernels.sum(dim=1, keepdim=True)
        identity = (offsets == 0).to(kernels.dtype).expand_as(kernels)
        kernels = torch.where(applied[:, None], kernels, identity)

        # Every (sample, band) pair is one channel of a depthwise convolution.
        weight = kernels.repeat_interleave(bands, dim=0).to(images.device, images.dtype)
        channels = images.reshape(1, n * bands, height, width)
        channels = F.pad(channels, (radius, radius, radius, radius), mode="replicate")
        channels = F.conv2d(channels, weight[:, None, :, None], groups=n * bands)
        channels = F.conv2d(channels, weight[:, None, None, :], groups=n * bands)
        return channels.reshape(n, bands, height, width)


class ProjectionHead(nn.Module):
    """SimCLR's projection g(h): Linear - BatchNorm - ReLU - Linear on pooled encoder features."""

    def __init__(
        self,
        in_features: int,
        hidden_features: Optional[int] = None,
        out_features: int = DEFAULT_PROJECTION_DIM,
    ):
        super().__init__()
        hidden_features = hidden_features or in_features
        self.mlp = nn.Sequential(
            nn.Linear(in_features, hidden_features, bias=False),
            nn.BatchNorm1d(hidden_features),
            nn.ReLU(inplace=True),
            nn.Linear(hidden_features, out_features),
        )

    def forward(self, features: Tensor) -> Tensor:
        return self.mlp(features)


class SimCLRModel(nn.Module):
    """``encoder`` + ``projection``: a view ``[N, bands, H, W]`` to embeddings ``[N, out_dim]``.

    The projection takes the global average of the encoder's last feature map. Only
    ``encoder.*`` transfers to a ``SegmentationModel`` (``transfer_weights(model,
    simclr.state_dict())``); ``projection`` is dropped after pretraining.
    """

    def __init__(
        self,
        encoder: nn.Module,
        projection_dim: int = DEFAULT_PROJECTION_DIM,
        hidden_dim: Optional[int] = None,
    ):
        super().__init__()
        self.encoder = encoder
        self.projection = ProjectionHead(encoder.out_channels[-1], hidden_dim, projection_dim)

    def forward(self, view: Tensor) -> Tensor:
        return self.projection(self.encoder(view)[-1].mean(dim=(2, 3)))

    def train(self, mode: bool = True) -> SimCLRModel:
        return set_train_mode(self, mode)


def nt_xent_loss(z1: Tensor, z2: Tensor, temperature: float = DEFAULT_TEMPERATURE) -> Tensor:
    """NT-Xent over the 2N embeddings of N positive pairs ``(z1[i], z2[i])``.

    Cosine similarities divided by ``temperature``; each embedding's positive is its pair and its
    negatives the other 2N - 2; self-similarity is excluded. Mean over all 2N anchors.
    """
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    logits = z @ z.T / temperature
    self_pairs = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(self_pairs, float("-inf"))
    positives = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    return F.cross_entropy(logits, positives)

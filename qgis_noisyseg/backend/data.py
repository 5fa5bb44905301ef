"""Tiles of a dataset folder as tensors, and the loaders that batch them."""

from __future__ import annotations

import random
from typing import Optional, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, DistributedSampler
from torch.utils.data import Dataset as TorchDataset

from ..core.dataset import Dataset, class_pixels, tiles_containing
from ..core.errors import UserError


class TileDataset(TorchDataset):
    """``(image, mask)`` pairs of some tiles of a dataset folder.

    Images are float32 ``[bands, H, W]`` normalised with ``(x - mean) / std`` (invalid pixels
    0); masks int64 ``[H, W]`` with the dataset's ignore index (255). With ``augment``, each
    sample gets a random flip and 90-degree turn, the same for image and mask, and with
    ``photometric`` above 0 a per-band brightness, contrast and gamma jitter of that strength
    (``photometric_jitter``) on the raw pixels before normalisation; with ``crop`` smaller than
    the tile, a random ``crop x crop`` window (the centre one without ``augment``). Tiles are
    kept in memory up to ``cache_mb`` (normalised, or raw with the jitter), so later epochs
    read no files. ``scheme`` "tile" standardises each tile by its own valid pixels' band mean
    and std instead of ``mean`` and ``std`` (an experiment, see ``normalise``).
    """

    def __init__(
        self,
        dataset: Dataset,
        tiles: Sequence[dict],
        mean: Sequence[float],
        std: Sequence[float],
        augment: bool = False,
        crop: Optional[int] = None,
        cache_mb: float = 1024,
        photometric: float = 0.0,
        scheme: str = "dataset",
    ) -> None:
        self.dataset = dataset
        self.tiles = list(tiles)
        self.mean = np.asarray(mean, dtype=np.float32)[:, None, None]
        self.std = np.asarray(std, dtype=np.float32)[:, None, None]
        self.augment = augment
        self.crop = crop
        self.photometric = photometric if augment else 0.0
        self.scheme = scheme
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._cache_bytes_left = int(cache_mb * 2**20)

    def __len__(self) -> int:
        return len(self.tiles)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self.photometric > 0:
            pixels, valid, mask = self._raw(index)
            rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, ())))
            image = self._normalise(photometric_jitter(pixels, valid, self.photometric, rng), valid)
        else:
            image, mask = self._normalised(index)
        image, mask = torch.from_numpy(image.copy()), torch.from_numpy(mask.astype(np.int64))
        if self.crop is not None and self.crop < min(mask.shape):
            image, mask = self._crop(image, mask)
        if self.augment:
            image, mask = flip_and_turn(image, mask)
        return image, mask

    def _normalise(self, pixels: np.ndarray, valid: np.ndarray) -> np.ndarray:
        return normalise(pixels, valid, self.mean, self.std, self.scheme)

    def _normalised(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        if index in self._cache:
            return self._cache[index]
        pixels, valid, mask = self.dataset.read_tile(self.tiles[index])
        image = self._normalise(pixels, valid)
        self._keep(index, (image, mask), image.nbytes + mask.nbytes)
        return image, mask

    def _raw(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if index in self._cache:
            return self._cache[index]
        pixels, valid, mask = self.dataset.read_tile(self.tiles[index])
        self._keep(index, (pixels, valid, mask), pixels.nbytes + valid.nbytes + mask.nbytes)
        return pixels, valid, mask

    def _keep(self, index: int, item: tuple, size: int) -> None:
        if size <= self._cache_bytes_left:
            self._cache[index] = item
            self._cache_bytes_left -= size

    def _crop(self, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        height, width = mask.shape
        if self.augment:
            top = int(torch.randint(0, height - self.crop + 1, ()))
            left = int(torch.randint(0, width - self.crop + 1, ()))
        else:
            top, left = (height - self.crop) // 2, (width - self.crop) // 2
        window = (slice(top, top + self.crop), slice(left, left + self.crop))
        return image[(slice(None), *window)], mask[window]


def normalise(pixels: np.ndarray, valid: np.ndarray, mean: np.ndarray, std: np.ndarray,
              scheme: str = "dataset") -> np.ndarray:
    """float32 ``(x - mean) / std`` per band (``mean``, ``std`` shaped ``[bands, 1, 1]``), 0 where
    not ``valid``. ``scheme`` "tile": the tile's own valid pixels' band mean and std (std floored
    at 1e-6 of the dtype's scale, so a flat band gives 0, not a division by zero)."""
    x = pixels.astype(np.float32)
    if scheme == "tile":
        count = max(int(valid.sum()), 1)
        mean = np.where(valid[None], x, 0.0).sum(axis=(1, 2), keepdims=True) / count
        var = (np.where(valid[None], x - mean, 0.0) ** 2).sum(axis=(1, 2), keepdims=True) / count
        std = np.maximum(np.sqrt(var), 1e-6 * max(float(np.abs(mean).max()), 1.0))
    return np.where(valid[None], (x - mean) / std, 0.0).astype(np.float32)


def photometric_jitter(pixels: np.ndarray, valid: np.ndarray, strength: float,
                       rng: np.random.Generator) -> np.ndarray:
    """Per-band gamma, contrast and brightness jitter of a ``[bands, H, W]`` tile, as another
    flight, date or sensor setting would change it; the same dtype and shape back, the invalid
    pixels untouched, and each band's order of values kept (every step is monotonic), so the
    mask stays aligned.

    For each band, with ``s = strength``: gamma ``exp(U(-s, s))`` on the band's valid range
    (min to max mapped to 0..1 and back), contrast ``U(1 - s, 1 + s)`` about the band's valid
    mean, brightness (a gain, as exposure and sun angle act) ``U(1 - s, 1 + s)``. Integer
    dtypes are rounded and clipped to their range; floats are not clipped."""
    if strength <= 0 or not valid.any():
        return pixels
    bands = pixels.shape[0]
    gamma = np.exp(rng.uniform(-strength, strength, bands))
    contrast = rng.uniform(1 - strength, 1 + strength, bands)
    gain = rng.uniform(1 - strength, 1 + strength, bands)
    x = pixels.astype(np.float64)
    out = pixels.copy()
    for b in range(bands):
        values = x[b][valid]
        low, high = float(values.min()), float(values.max())
        v = values
        if high > low:
            v = low + (high - low) * ((v - low) / (high - low)) ** gamma[b]
        centre = float(v.mean())
        v = (centre + contrast[b] * (v - centre)) * gain[b]
        if np.issubdtype(pixels.dtype, np.integer):
            info = np.iinfo(pixels.dtype)
            v = np.clip(np.rint(v), info.min, info.max)
        out[b][valid] = v.astype(pixels.dtype)
    return out


def flip_and_turn(image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One of the 8 symmetries of the square, drawn from torch's RNG, applied to both."""
    if torch.rand(()) < 0.5:
        image, mask = image.flip(-1), mask.flip(-1)
    turns = int(torch.randint(0, 4 if mask.shape[0] == mask.shape[1] else 1, ()))
    if turns:
        image, mask = image.rot90(turns, (-2, -1)), mask.rot90(turns, (-2, -1))
    return image.contiguous(), mask.contiguous()


def select_tiles(tiles: Sequence[dict], max_tiles: Optional[int], seed: int,
                 containing: Optional[int] = None) -> list[dict]:
    """``max_tiles`` of ``tiles`` drawn with ``seed`` (all of them when None), in id order.

    With ``containing`` (a class id), only tiles whose labels have pixels of that class are
    drawn: an operator annotating buildings picks tiles that show buildings, while a random
    draw of 2 tiles from a scene that is 4 % buildings often has none.
    """
    tiles = sorted(tiles, key=lambda t: t["id"])
    pool = "train tiles"
    if containing is not None:
        tiles = tiles_containing(tiles, containing)
        pool = f"train tiles with class {containing}"
    if max_tiles is None:
        if not tiles:
            raise UserError(f"there are no {pool}")
        return tiles
    if max_tiles < 1:
        raise UserError(f"--max-tiles must be at least 1, got {max_tiles}")
    if max_tiles > len(tiles):
        raise UserError(f"--max-tiles {max_tiles} is more than the {len(tiles)} {pool} available")
    chosen = random.Random(seed).sample(range(len(tiles)), max_tiles)
    return [tiles[i] for i in sorted(chosen)]


def class_weights(tiles: Sequence[dict], num_classes: int) -> torch.Tensor:
    """Inverse class frequency from the tiles' manifest histograms, mean 1 over present classes;
    absent classes get weight 0."""
    counts = np.zeros(num_classes, dtype=np.float64)
    for class_id, count in class_pixels(tiles).items():
        if class_id < num_classes:
            counts[class_id] = count
    present = counts > 0
    weights = np.zeros(num_classes)
    weights[present] = counts[present].sum() / counts[present]
    weights[present] /= weights[present].mean()
    return torch.tensor(weights, dtype=torch.float32)


def labelled_pixels(tiles: Sequence[dict]) -> int:
    return sum(class_pixels(tiles).values())


def make_loader(
    data: TorchDataset, batch_size: int, *, shuffle: bool, seed: int, drop_last: bool = False,
    distributed: bool = False, num_workers: int = 0,
) -> DataLoader:
    """A loader whose order depends only on ``seed`` (and the epoch, through ``set_epoch``).

    With ``distributed``, a ``DistributedSampler`` gives each process its share of the data.
    """
    sampler = DistributedSampler(data, shuffle=shuffle, seed=seed, drop_last=drop_last) if distributed else None
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        data, batch_size=batch_size, shuffle=shuffle and sampler is None, sampler=sampler,
        drop_last=drop_last, generator=generator, num_workers=num_workers,
        persistent_workers=num_workers > 0,
    )


def set_epoch(loader: DataLoader, epoch: int) -> None:
    """Reshuffles a distributed loader for ``epoch`` (a no-op for a plain loader)."""
    if isinstance(loader.sampler, DistributedSampler):
        loader.sampler.set_epoch(epoch)

"""Tiles of a dataset folder as tensors, and the loaders that batch them."""

from __future__ import annotations

import random
from typing import Optional, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, DistributedSampler
from torch.utils.data import Dataset as TorchDataset

from ..core.dataset import Dataset, tiles_containing
from ..core.errors import UserError


class TileDataset(TorchDataset):
    """``(image, mask)`` pairs of some tiles of a dataset folder.

    Images are float32 ``[bands, H, W]`` normalised with ``(x - mean) / std`` (invalid pixels
    0); masks int64 ``[H, W]`` with the dataset's ignore index (255). With ``augment``, each
    sample gets a random flip and 90-degree turn, the same for image and mask; with ``crop``
    smaller than the tile, a random ``crop x crop`` window (the centre one without ``augment``).
    Normalised tiles are kept in memory up to ``cache_mb``, so later epochs read no files.
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
    ) -> None:
        self.dataset = dataset
        self.tiles = list(tiles)
        self.mean = np.asarray(mean, dtype=np.float32)[:, None, None]
        self.std = np.asarray(std, dtype=np.float32)[:, None, None]
        self.augment = augment
        self.crop = crop
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._cache_bytes_left = int(cache_mb * 2**20)

    def __len__(self) -> int:
        return len(self.tiles)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, mask = self._normalised(index)
        image, mask = torch.from_numpy(image.copy()), torch.from_numpy(mask.astype(np.int64))
        if self.crop is not None and self.crop < min(mask.shape):
            image, mask = self._crop(image, mask)
        if self.augment:
            image, mask = flip_and_turn(image, mask)
        return image, mask

    def _normalised(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        if index in self._cache:
            return self._cache[index]
        pixels, valid, mask = self.dataset.read_tile(self.tiles[index])
        image = np.where(valid[None], (pixels.astype(np.float32) - self.mean) / self.std, 0.0).astype(np.float32)
        size = image.nbytes + mask.nbytes
        if size <= self._cache_bytes_left:
            self._cache[index] = (image, mask)
            self._cache_bytes_left -= size
        return image, mask

    def _crop(self, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        height, width = mask.shape
        if self.augment:
            top = int(torch.randint(0, height - self.crop + 1, ()))
            left = int(torch.randint(0, width - self.crop + 1, ()))
        else:
            top, left = (height - self.crop) // 2, (width - self.crop) // 2
        window = (slice(top, top + self.crop), slice(left, left + self.crop))
        return image[(slice(None), *window)], mask[window]


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
    for tile in tiles:
        for class_id, count in tile.get("class_histogram", {}).items():
            if int(class_id) < num_classes:
                counts[int(class_id)] += count
    present = counts > 0
    weights = np.zeros(num_classes)
    weights[present] = counts[present].sum() / counts[present]
    weights[present] /= weights[present].mean()
    return torch.tensor(weights, dtype=torch.float32)


def labelled_pixels(tiles: Sequence[dict]) -> int:
    return sum(sum(tile.get("class_histogram", {}).values()) for tile in tiles)


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

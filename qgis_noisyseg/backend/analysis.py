"""Layer-wise comparison of two segmentation models of the same architecture (``noisyseg analyze``).

Three modules: ``divergence`` (the KLs and running moments, numpy only), this one (loading the
models, collecting weights and activations with torch, ``analyze``) and ``analysis_report``
(the summary, the table and the figure, no torch).

Per block of ``named_blocks`` (``encoder.stem`` ... ``encoder.layer4``, each decoder block,
``head``), it compares two distributions between model A and model B:

- **weights**: the values of the block's convolution kernels (parameters with 2 or more
  dimensions; BatchNorm affine parameters and biases are left out, their scale differs);
- **activations**: the values of the block's output on the same tiles, each model's input
  normalised with its own config's normalisation, in eval mode (for a block that is a list of
  modules, FPN's ``lateral`` and ``semantic``, the outputs of its members).

Each comparison is a KL divergence, computed twice: from histograms on shared bins (``bins``
equal bins over the range of both samples; ``EPSILON`` probability added to every bin, then
renormalised) and in closed form between the Gaussians fitted to the two samples (mean, std).
The KL is **symmetric**: ``(KL(A||B) + KL(B||A)) / 2``, in nats, so a pair needs no order and a
seed baseline (two runs that differ only in seed) can be compared with it.

The distributions are compared, not the weights one by one: two independent runs from the same
initialiser have a KL near 0 though no weight agrees, and a model whose weights moved but kept
their histogram has a KL near 0 too. The baseline calibrates the first; ``weight_rel_l2``, the
relative distance between the kernels weight by weight, shows the second where A and B share an
initialisation (same seed, or pretrained and fine-tuned).
"""

from __future__ import annotations

import math
import os
import random
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import torch
from torch import nn

from ..core.atomic import atomic_dir, write_json
from ..core.outputs import plan_outputs
from ..core.dataset import Dataset
from ..core.errors import UserError
from ..core.progress import Reporter
from .analysis_report import (ACTIVATIONS_DEFINITION, KL_DEFINITION, METRIC_TITLES, METRICS, PART_COLOURS,  # noqa: F401
                              REL_L2_DEFINITION,
                              WEIGHTS_DEFINITION, _finite_or_none, _ratio, _summary, format_table, plot_layers)
from .checkpoint import check_checkpoint, load_checkpoint, load_weights
from .data import TileDataset, make_loader
from .divergence import (EPSILON, RunningMoments, _compare, _histogram, _shared_range, gaussian_kl,  # noqa: F401
                         histogram_kl, symmetric_gaussian_kl, symmetric_histogram_kl)
from .models import build_model, named_blocks, resolve_config

TILES_PER_FORWARD = 8


class LoadedModel:
    def __init__(self, path: os.PathLike | str) -> None:
        self.path = str(path)
        checkpoint = load_checkpoint(path)
        check_checkpoint(checkpoint, path, needs=("normalization",))
        self.config = checkpoint["config"]
        self.architecture = resolve_config(self.config)
        self.model = build_model(self.config)
        try:
            load_weights(self.model, checkpoint["state_dict"], path)
        except RuntimeError:
            raise UserError(f"{path}: its weights do not fit its config's architecture; is the checkpoint damaged?") from None
        self.model.eval()
        normalization = self.config.get("normalization") or {}
        if not normalization.get("mean") or not normalization.get("std"):
            raise UserError(f"{path} has no normalisation in its config; analyze needs a checkpoint written by pretrain or finetune")
        self.normalization = normalization

    @property
    def label(self) -> str:
        path = Path(self.path)
        if not path.parent.name:
            return path.name
        return path.parent.name if path.name == "model.pt" else f"{path.parent.name}/{path.name}"


def _check_same_architecture(models: Sequence[LoadedModel]) -> None:
    reference = models[0]
    for other in models[1:]:
        differences = [f"{key} {reference.architecture[key]} vs {other.architecture[key]}"
                       for key in reference.architecture if reference.architecture[key] != other.architecture[key]]
        if differences:
            raise UserError(f"{other.path} and {reference.path} differ in architecture ({'; '.join(differences)}); "
                            "analyze compares models of the same architecture")


def _weight_moments_and_values(block: nn.Module) -> tuple[RunningMoments, np.ndarray]:
    kernels = [p.detach().reshape(-1) for p in block.parameters() if p.ndim >= 2]
    values = torch.cat(kernels) if kernels else torch.zeros(0)
    moments = RunningMoments()
    moments.add(values.double().cpu().numpy())
    return moments, values.double().cpu().numpy()


def _weight_comparison(a: nn.Module, b: nn.Module, bins: int) -> dict[str, dict]:
    result = {}
    for (name, block_a), (_, block_b) in zip(named_blocks(a), named_blocks(b)):
        moments_a, values_a = _weight_moments_and_values(block_a)
        moments_b, values_b = _weight_moments_and_values(block_b)
        if moments_a.count == 0:
            result[name] = {"kl_hist": None, "kl_gauss": None, "rel_l2": None, "count": 0, "a": None, "b": None}
            continue
        low, high = _shared_range(moments_a, moments_b)
        comparison = _compare(moments_a, moments_b, _histogram(values_a, low, high, bins), _histogram(values_b, low, high, bins))
        norm_a = float(np.linalg.norm(values_a))
        rel_l2 = float(np.linalg.norm(values_b - values_a)) / norm_a if norm_a > 0 else None
        result[name] = {**comparison, "rel_l2": rel_l2, "count": moments_a.count,
                        "a": {"mean": moments_a.mean, "std": moments_a.std},
                        "b": {"mean": moments_b.mean, "std": moments_b.std}}
    return result


def _block_outputs(model: nn.Module, images: torch.Tensor) -> dict[str, list[torch.Tensor]]:
    """Each block's output tensors for one forward pass. A block that is a list of modules
    (FPN's ``lateral`` and ``semantic``) is never called itself: its output is its members'."""
    outputs: dict[str, list[torch.Tensor]] = {}
    handles = []
    for name, block in named_blocks(model):
        outputs[name] = []
        members = list(block) if isinstance(block, nn.ModuleList) else [block]
        handles += [member.register_forward_hook(lambda _m, _i, out, name=name: outputs[name].append(out.detach()))
                    for member in members]
    try:
        model(images)
    finally:
        for handle in handles:
            handle.remove()
    return outputs


class _Activations:
    """Streams one model's block outputs over the tiles twice: moments first, then histograms
    on bins that the caller shares with the other model."""

    def __init__(self, loaded: LoadedModel, dataset: Dataset, tiles: list[dict], crop: Optional[int],
                 reporter: Reporter, progress: list[int]) -> None:
        norm = loaded.normalization
        if norm.get("scheme") == "image":  # standardised by the dataset image's own statistics
            norm = dataset.manifest["band_stats"]
        data = TileDataset(dataset, tiles, norm["mean"], norm["std"], crop=crop)
        self.loader = make_loader(data, TILES_PER_FORWARD, shuffle=False, seed=0)
        self.model, self.reporter, self.progress = loaded.model, reporter, progress

    def _batches(self):
        with torch.no_grad():
            for images, _masks in self.loader:
                yield _block_outputs(self.model, images)
                self.progress[0] += 1
                self.reporter.progress("analyze", self.progress[0], self.progress[1])

    def moments(self) -> dict[str, RunningMoments]:
        moments: dict[str, RunningMoments] = {}
        for outputs in self._batches():
            for name, tensors in outputs.items():
                for out in tensors:
                    moments.setdefault(name, RunningMoments()).add(out.double().cpu().numpy())
        return moments

    def histograms(self, ranges: dict[str, tuple[float, float]], bins: int) -> dict[str, np.ndarray]:
        counts = {name: np.zeros(bins, dtype=np.int64) for name in ranges}
        for outputs in self._batches():
            for name, tensors in outputs.items():
                for out in tensors:
                    counts[name] += _histogram(out.double().numpy().reshape(-1), *ranges[name], bins)
        return counts


def _activation_comparison(a: LoadedModel, b: LoadedModel, dataset: Dataset, tiles: list[dict], crop: Optional[int],
                           bins: int, reporter: Reporter, progress: list[int]) -> dict[str, dict]:
    stream_a = _Activations(a, dataset, tiles, crop, reporter, progress)
    stream_b = _Activations(b, dataset, tiles, crop, reporter, progress)
    moments_a, moments_b = stream_a.moments(), stream_b.moments()
    ranges = {name: _shared_range(moments_a[name], moments_b[name]) for name in moments_a}
    hist_a, hist_b = stream_a.histograms(ranges, bins), stream_b.histograms(ranges, bins)
    return {name: {**_compare(moments_a[name], moments_b[name], hist_a[name], hist_b[name]),
                   "count": moments_a[name].count,
                   "a": {"mean": moments_a[name].mean, "std": moments_a[name].std},
                   "b": {"mean": moments_b[name].mean, "std": moments_b[name].std}}
            for name in moments_a}


def _part(block: str) -> str:
    return block.split(".", 1)[0]


def _compare_pair(a: LoadedModel, b: LoadedModel, dataset: Dataset, tiles: list[dict], crop: Optional[int], bins: int,
                  reporter: Reporter, progress: list[int]) -> list[dict]:
    weights = _weight_comparison(a.model, b.model, bins)
    activations = _activation_comparison(a, b, dataset, tiles, crop, bins, reporter, progress)
    blocks = []
    for name, _ in named_blocks(a.model):
        w, act = weights[name], activations[name]
        blocks.append({
            "block": name, "part": _part(name),
            "weight_kl_hist": w["kl_hist"], "weight_kl_gauss": w["kl_gauss"],
            "activation_kl_hist": act["kl_hist"], "activation_kl_gauss": act["kl_gauss"],
            "weight_rel_l2": w["rel_l2"],
            "weight_values": w["count"], "activation_values": act["count"],
            "weights": {"a": w["a"], "b": w["b"]}, "activations": {"a": act["a"], "b": act["b"]},
        })
    return blocks


def _choose_tiles(dataset: Dataset, count: int, seed: int) -> list[dict]:
    tiles = sorted(dataset.tiles, key=lambda t: t["id"])
    if not tiles:
        raise UserError(f"dataset {dataset.root} has no tiles")
    if count >= len(tiles):
        return tiles
    return [tiles[i] for i in sorted(random.Random(seed).sample(range(len(tiles)), count))]


def _crop_for(dataset: Dataset, multiple: int) -> Optional[int]:
    size = int(dataset.manifest["tile_size"])
    if size % multiple == 0:
        return None
    if size < multiple:
        raise UserError(f"the tiles of {dataset.root} are {size} px, smaller than the {multiple} px the models need")
    return size - size % multiple


def analyze(a: os.PathLike | str, b: os.PathLike | str, data: os.PathLike | str, out: os.PathLike | str, *,
            baseline: Optional[tuple[os.PathLike | str, os.PathLike | str]] = None, tiles: int = 16, bins: int = 100,
            seed: int = 0, reporter: Optional[Reporter] = None, overwrite: bool = False) -> dict:
    """Compares models ``a`` and ``b`` block by block and writes ``out/layers.json`` and
    ``out/layers.png`` (``out`` is replaced as a whole, atomically). ``baseline``: a pair of
    checkpoints that differ only in seed; every KL then also gets the baseline pair's value and
    the ratio to it. Returns the content of ``layers.json`` plus the paths of both files."""
    reporter = reporter or Reporter(quiet=True)
    if tiles < 1:
        raise UserError(f"--tiles must be at least 1, got {tiles}")
    if bins < 2:
        raise UserError(f"--bins must be at least 2, got {bins}")
    if baseline is not None and len(baseline) != 2:
        raise UserError("--baseline takes two checkpoints, A2/model.pt,B2/model.pt")
    out = Path(out)
    plan = plan_outputs(overwrite, [(a, "--a"), (b, "--b"), (data, "--data"),
                                    *((path, "--baseline") for path in baseline or ())], reporter)
    plan.folder(out, "--out", "analysis")
    plan.check()
    models = [LoadedModel(path) for path in (a, b, *(baseline or ()))]
    _check_same_architecture(models)
    dataset = Dataset(data)
    in_channels = models[0].architecture["in_channels"]
    if dataset.in_channels != in_channels:
        raise UserError(f"dataset {data} has {dataset.in_channels} bands but the models take {in_channels}; "
                        "use a dataset exported from the same imagery")
    chosen = _choose_tiles(dataset, tiles, seed)
    crop = _crop_for(dataset, models[0].model.input_multiple)
    pairs = [models[0:2]] + ([models[2:4]] if baseline else [])
    forwards_per_pair = 4 * math.ceil(len(chosen) / TILES_PER_FORWARD)
    progress = [0, forwards_per_pair * len(pairs)]
    reporter.progress("analyze", 0, progress[1])

    blocks = _compare_pair(*pairs[0], dataset, chosen, crop, bins, reporter, progress)
    if baseline:
        baseline_blocks = _compare_pair(*pairs[1], dataset, chosen, crop, bins, reporter, progress)
        for row, reference in zip(blocks, baseline_blocks):
            row["baseline_weight_rel_l2"] = reference["weight_rel_l2"]
            for metric in METRICS:
                row[f"baseline_{metric}"] = reference[metric]
                row[f"ratio_{metric}"] = _ratio(row[metric], reference[metric])

    result: dict[str, Any] = {
        "format": "noisyseg-layer-analysis", "format_version": 1,
        "a": str(a), "b": str(b), "baseline": [str(p) for p in baseline] if baseline else None,
        "labels": {"a": models[0].label, "b": models[1].label,
                   "baseline": [m.label for m in models[2:]] if baseline else None},
        "architecture": models[0].architecture,
        "kl": KL_DEFINITION, "weights": WEIGHTS_DEFINITION, "activations": ACTIVATIONS_DEFINITION,
        "weight_rel_l2": REL_L2_DEFINITION,
        "bins": bins, "epsilon": EPSILON, "seed": seed,
        "data": str(data), "tiles": [t["id"] for t in chosen], "crop": crop,
        "blocks": blocks,
        "summary": _summary(blocks, baseline is not None),
    }
    result = _finite_or_none(result)
    with plan.writing(), atomic_dir(out, "analysis") as tmp:
        write_json(tmp / "layers.json", result)
        plot_layers(result, tmp / "layers.png")
    return {**result, "layers_json": str(out / "layers.json"), "layers_png": str(out / "layers.png")}

"""The demo's figures (matplotlib's Agg backend, no display), each written atomically."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..core.classes import IGNORE, hex_to_rgb
from ..core.figures import new_figure, save_figure

SCRATCH_COLOR = "#555555"
FINETUNED_COLOR = "#1f77b4"
NOISY_ONLY_COLOR = "#d62728"
CLEAN_ALL_COLOR = "#2ca02c"


def plot_training_curves(pretrain: Sequence[Mapping], scratch: Sequence[Mapping], finetuned: Sequence[Mapping],
                         k: int, path: Path) -> None:
    """Left: noisy pretraining (loss, and validation mIoU against the noisy val masks). Middle
    and right: training from scratch and fine-tuning from the noisy model on the same K clean
    tiles (loss, validation mIoU against the clean val masks)."""
    figure = new_figure((12, 3.6))
    pre_axes, loss_axes, miou_axes = figure.subplots(1, 3)
    epochs = [h["epoch"] for h in pretrain]
    pre_axes.plot(epochs, [h["loss"] for h in pretrain], color="black", label="training loss")
    twin = pre_axes.twinx()
    twin.plot([h["epoch"] for h in pretrain if h.get("val_miou") is not None],
              [h["val_miou"] for h in pretrain if h.get("val_miou") is not None], color=NOISY_ONLY_COLOR,
              label="val mIoU (noisy masks)")
    twin.set_ylabel("val mIoU (noisy masks)", color=NOISY_ONLY_COLOR)
    twin.set_ylim(0, 1)
    pre_axes.set(xlabel="epoch", ylabel="training loss", title="pretraining on the old map (noisy labels)")
    for history, color, label in ((scratch, SCRATCH_COLOR, "from scratch"),
                                  (finetuned, FINETUNED_COLOR, "fine-tuned from noisy")):
        loss_axes.plot([h["epoch"] for h in history], [h["loss"] for h in history], color=color, label=label)
        rows = [h for h in history if h.get("val_miou") is not None]
        miou_axes.plot([h["epoch"] for h in rows], [h["val_miou"] for h in rows], color=color, label=label)
    loss_axes.set(xlabel="epoch", ylabel="training loss", title=f"{k} clean tiles: training loss")
    miou_axes.set(xlabel="epoch", ylabel="val mIoU (clean masks)", title=f"{k} clean tiles: validation mIoU",
                  ylim=(0, 1))
    for axes in (pre_axes, loss_axes, miou_axes):
        axes.grid(alpha=0.3)
    loss_axes.legend(fontsize="small")
    miou_axes.legend(fontsize="small")
    save_figure(figure, path)


def plot_label_efficiency(curves: Mapping[str, Mapping[int, Sequence[float]]], noisy_only: float,
                          clean_all: Sequence[float], clean_all_tiles: int, test_tiles: int, path: Path) -> None:
    """Test mIoU against the number of clean tiles: the mean over seeds as a line, each seed as
    a dot; the noisy model without fine-tuning and training on every clean tile as references."""
    figure = new_figure((6.6, 4.4))
    axes = figure.subplots()
    styles = {"scratch": (SCRATCH_COLOR, "from scratch"), "finetuned": (FINETUNED_COLOR, "fine-tuned from noisy")}
    top = [noisy_only, *clean_all]
    for name, curve in curves.items():
        color, label = styles[name]
        ks = sorted(curve)
        axes.plot(ks, [float(np.mean(curve[k])) for k in ks], color=color, marker="o", label=label)
        for k in ks:
            axes.scatter([k] * len(curve[k]), curve[k], color=color, s=12, alpha=0.5)
            top += list(curve[k])
    axes.axhline(noisy_only, color=NOISY_ONLY_COLOR, linestyle="--", label="noisy only (no clean tiles)")
    if clean_all:
        axes.axhline(float(np.mean(clean_all)), color=CLEAN_ALL_COLOR, linestyle=":",
                     label=f"scratch on all {clean_all_tiles} clean train tiles")
    ks = sorted({k for curve in curves.values() for k in curve})
    axes.set_xscale("log", base=2)
    axes.set_xticks(ks, [str(k) for k in ks])
    axes.minorticks_off()
    finite = [v for v in top if math.isfinite(v)]
    axes.set_ylim(0, min(1.0, max(finite, default=1.0) * 1.25 + 0.02))
    axes.set(xlabel="clean training tiles (K)", ylabel=f"test mIoU ({test_tiles} held-out tiles)",
             title="What pretraining on the old map buys")
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small", title="line: mean; dots: seeds", title_fontsize="small")
    save_figure(figure, path)


def stretch_rgb(image: np.ndarray, rgb_bands: Sequence[int]) -> np.ndarray:
    """``image`` [bands, H, W] to float RGB [H, W, 3] in 0..1, each band cut at its 2nd and
    98th percentile."""
    channels = []
    for band in rgb_bands:
        values = image[band - 1].astype(np.float64)
        low, high = np.percentile(values, (2, 98))
        channels.append(np.clip((values - low) / max(high - low, 1e-9), 0, 1))
    return np.stack(channels, axis=-1)


def class_rgba(mask: np.ndarray, classes: Sequence[Mapping]) -> np.ndarray:
    """A class mask as RGBA in 0..1; ignore (255) is transparent."""
    out = np.zeros(mask.shape + (4,), dtype=np.float64)
    for cls in classes:
        where = mask == cls["id"]
        out[where, :3] = np.asarray(hex_to_rgb(cls["color"])) / 255.0
        out[where, 3] = 1.0
    out[mask == IGNORE, 3] = 0.0
    return out


def plot_side_by_side(rgb: np.ndarray, noisy: np.ndarray, clean: np.ndarray, prediction: np.ndarray,
                      classes: Sequence[Mapping], train_windows: Sequence[Mapping], test_windows: Sequence[Mapping],
                      k: int, path: Path) -> None:
    """Image, old map, 2016 map (with the clean training and test tiles outlined) and the
    prediction, on the image's pixel grid."""
    from matplotlib.patches import Patch, Rectangle

    figure = new_figure((16, 4.9))
    panels = figure.subplots(1, 4)
    titles = ("Sentinel-2 image", "noisy labels: the old map", f"clean labels: the 2016 map\n"
              f"white: the {k} fine-tuning tiles, cyan: test tiles", f"prediction (fine-tuned on {k} clean tiles)")
    grey = np.full(rgb.shape[:2] + (3,), 0.85)
    for axes, title in zip(panels, titles):
        axes.set_title(title, fontsize="medium")
        axes.set_xticks([])
        axes.set_yticks([])
    panels[0].imshow(rgb, interpolation="nearest")
    for axes, mask in zip(panels[1:], (noisy, clean, prediction)):
        axes.imshow(grey, interpolation="nearest")
        axes.imshow(class_rgba(mask, classes), interpolation="nearest")
    for windows, color in ((train_windows, "white"), (test_windows, "cyan")):
        for w in windows:
            panels[2].add_patch(Rectangle((w["col_off"] - 0.5, w["row_off"] - 0.5), w["width"], w["height"],
                                          fill=False, edgecolor=color, linewidth=1.6))
    handles = [Patch(facecolor=c["color"], edgecolor="black", label=c["name"]) for c in classes]
    handles.append(Patch(facecolor="#d9d9d9", edgecolor="black", label="no label (ignored)"))
    figure.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize="small")
    save_figure(figure, path)

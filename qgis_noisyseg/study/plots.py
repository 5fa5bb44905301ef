"""The studies' figures (matplotlib's Agg backend, no display): the mean over seeds as a line or
bar, the seeds' min-max spread as a band or error bar."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

from ..core.figures import new_figure, save_figure



def _ylim(axes, values: Sequence[float]) -> None:
    finite = [v for v in values if math.isfinite(v)]
    top = max(finite, default=1.0)
    axes.set_ylim(0, min(1.0, top * 1.15 + 0.02))


def plot_label_efficiency(curves: dict[str, dict[int, dict]], tick_labels: dict[int, str], path: Path,
                          title: str, ylabel: str = "test mIoU", references: dict[str, float] | None = None):
    """``curves[init][tiles] = seed stats``: the metric against clean tiles, one line per init;
    ``references[init]``, the pretrained model before fine-tuning, as a dotted line in its colour."""
    figure = new_figure((6.4, 4.2))
    axes = figure.subplots()
    values = []
    for init, curve in curves.items():
        tiles = sorted(curve)
        means = [curve[n]["mean"] for n in tiles]
        style = dict(color="black", linestyle="--") if init == "scratch" else {}
        line, = axes.plot(tiles, means, marker="o", label=init, **style)
        axes.fill_between(tiles, [curve[n]["min"] for n in tiles], [curve[n]["max"] for n in tiles],
                          color=line.get_color(), alpha=0.15, linewidth=0)
        values += [curve[n]["max"] for n in tiles]
        reference = (references or {}).get(init)
        if reference is not None and math.isfinite(reference):
            axes.axhline(reference, color=line.get_color(), linestyle=":", linewidth=1.5,
                         label=f"{init}, not fine-tuned")
            values.append(reference)
    ticks = sorted(tick_labels)
    axes.set_xscale("log", base=2)
    axes.set_xticks(ticks, [tick_labels[n] for n in ticks])
    axes.minorticks_off()
    axes.set(xlabel="clean fine-tuning tiles (K)", ylabel=ylabel, title=title)
    _ylim(axes, values)
    axes.grid(alpha=0.3)
    axes.legend(title="init (line: mean; band: min-max over seeds)", fontsize="small", title_fontsize="small")
    save_figure(figure, path)
    return figure


def plot_noise_sensitivity(curves: dict[str, dict[float, dict]], scratch: dict, path: Path, title: str,
                           ylabel: str = "test mIoU") -> None:
    """``curves[kind][rate] = seed stats`` of fine-tuned noisy-pretrained models; ``scratch``
    the seed stats of training from scratch on the same clean tiles, drawn as a reference."""
    figure = new_figure((6.4, 4.2))
    axes = figure.subplots()
    values = [scratch["max"]]
    rates = sorted({rate for curve in curves.values() for rate in curve})
    for kind, curve in curves.items():
        xs = sorted(curve)
        line, = axes.plot(xs, [curve[x]["mean"] for x in xs], marker="o", label=f"pretrained on '{kind}' noise")
        axes.fill_between(xs, [curve[x]["min"] for x in xs], [curve[x]["max"] for x in xs],
                          color=line.get_color(), alpha=0.12, linewidth=0)
        values += [curve[x]["max"] for x in xs]
    if rates:
        axes.axhline(scratch["mean"], color="black", linestyle="--", label="scratch (same clean tiles)")
        axes.axhspan(scratch["min"], scratch["max"], color="black", alpha=0.08, linewidth=0)
    axes.set(xlabel="noise rate (fraction of objects corrupted)", ylabel=f"{ylabel} after fine-tuning", title=title)
    _ylim(axes, values)
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    save_figure(figure, path)


def plot_transfer(conditions: list[dict], path: Path, title: str, ylabel: str = "test mIoU") -> None:
    """One pair of bars per condition: pretrained and scratch with the same settings (mean,
    min-max error bar)."""
    figure = new_figure((max(6.4, 1.25 * len(conditions) + 2), 4.6))
    axes = figure.subplots()
    width = 0.38
    values = []
    for index, condition in enumerate(conditions):
        for offset, key, color, label in ((-width / 2, "pretrained", "#377eb8", "noisy-pretrained"),
                                          (width / 2, "scratch", "#999999", "scratch, same settings")):
            stats = condition[key]
            error = [[stats["mean"] - stats["min"]], [stats["max"] - stats["mean"]]]
            axes.bar(index + offset, stats["mean"], width, yerr=error, capsize=3, color=color,
                     label=label if index == 0 else None)
            values.append(stats["max"])
    axes.set_xticks(range(len(conditions)), [c["label"] for c in conditions], rotation=20, ha="right",
                    fontsize="small")
    axes.set(ylabel=ylabel, title=title)
    _ylim(axes, values)
    axes.grid(alpha=0.3, axis="y")
    axes.legend(fontsize="small", title="bar: mean; whisker: min-max over seeds", title_fontsize="small")
    save_figure(figure, path)

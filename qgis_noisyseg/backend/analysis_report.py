"""The report of ``noisyseg analyze`` (no torch): the per-part summary of the per-block KLs, the
markdown table and the figure. ``backend/analysis.py`` computes the blocks."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

KL_DEFINITION = "symmetric: (KL(A||B) + KL(B||A)) / 2, in nats"
WEIGHTS_DEFINITION = "values of the block's convolution kernels (parameters with 2+ dimensions)"
ACTIVATIONS_DEFINITION = "values of the block's output, eval mode, each model's own input normalisation"
REL_L2_DEFINITION = ("||w_B - w_A|| / ||w_A|| over the block's kernels, weight by weight: "
                     "meaningful only for models that share an initialisation")
METRICS = ("weight_kl_hist", "weight_kl_gauss", "activation_kl_hist", "activation_kl_gauss")
METRIC_TITLES = {
    "weight_kl_hist": "weights, histogram KL",
    "weight_kl_gauss": "weights, Gaussian KL",
    "activation_kl_hist": "activations, histogram KL",
    "activation_kl_gauss": "activations, Gaussian KL",
}
PART_COLOURS = {"encoder": "#4c72b0", "decoder": "#dd8452", "head": "#8c8c8c"}


def _ratio(value: Optional[float], reference: Optional[float]) -> Optional[float]:
    if value is None or reference is None or not math.isfinite(value) or not math.isfinite(reference) or reference <= 0:
        return None
    return value / reference


def _mean(values: Sequence[Optional[float]]) -> Optional[float]:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return sum(finite) / len(finite) if finite else None


def _summary(blocks: list[dict], with_baseline: bool) -> dict:
    summary: dict[str, Any] = {}
    for part in ("encoder", "decoder", "head"):
        rows = [b for b in blocks if b["part"] == part]
        entry: dict[str, Any] = {"blocks": len(rows)}
        entry["weight_rel_l2"] = _mean([r["weight_rel_l2"] for r in rows])
        if with_baseline:
            entry["baseline_weight_rel_l2"] = _mean([r["baseline_weight_rel_l2"] for r in rows])
        for metric in METRICS:
            entry[metric] = _mean([r[metric] for r in rows])
            if with_baseline:
                entry[f"baseline_{metric}"] = _mean([r[f"baseline_{metric}"] for r in rows])
                entry[f"ratio_{metric}"] = _mean([r[f"ratio_{metric}"] for r in rows])
        summary[part] = entry
    summary["decoder_over_encoder"] = {metric: _ratio(summary["decoder"][metric], summary["encoder"][metric])
                                       for metric in METRICS}
    return summary


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite_or_none(v) for v in value]
    return value


def plot_layers(result: dict, path: Path) -> None:
    """One panel per KL measure: a bar per block (encoder, decoder and head coloured apart),
    the seed baseline as a black tick on each block."""
    import warnings

    from ..core.figures import new_figure

    figure = new_figure((11, 7))
    from matplotlib.patches import Patch  # after new_figure, which imports matplotlib.figure quietly

    blocks = result["blocks"]
    names = [b["block"].split(".", 1)[-1] for b in blocks]
    colours = [PART_COLOURS[b["part"]] for b in blocks]
    x = np.arange(len(blocks))
    has_baseline = result.get("baseline") is not None
    for axes, metric in zip(figure.subplots(2, 2).ravel(), METRICS):
        values = [b[metric] if b[metric] is not None else 0.0 for b in blocks]
        axes.bar(x, values, color=colours)
        shown = list(values)
        if has_baseline:
            reference = [b[f"baseline_{metric}"] for b in blocks]
            axes.scatter(x, [np.nan if r is None else r for r in reference], marker="_", s=500, linewidths=2.5,
                         color="black", zorder=3)
            shown += [r for r in reference if r is not None]
        positive = [v for v in shown if v > 0]
        if positive and len(positive) == len(shown) and max(positive) / min(positive) > 20:
            axes.set_yscale("log")
        axes.set_xticks(x, names, rotation=45, ha="right")
        axes.set_title(METRIC_TITLES[metric])
        axes.set_ylabel("symmetric KL (nats)")
        axes.grid(axis="y", alpha=0.3)
    handles = [Patch(color=colour, label=part) for part, colour in PART_COLOURS.items()]
    if has_baseline:
        from matplotlib.lines import Line2D

        handles.append(Line2D([], [], color="black", marker="_", linestyle="none", markersize=14, markeredgewidth=2.5,
                              label=f"seed baseline ({' vs '.join(result['labels']['baseline'])})"))
    figure.legend(handles=handles, loc="outside lower center", ncols=len(handles))
    labels = result["labels"]
    figure.suptitle(f"{labels['a']} vs {labels['b']}: layer-wise KL, {len(result['tiles'])} tiles")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Data has no positive values")
        figure.savefig(path, dpi=100)


def format_table(result: dict) -> str:
    """A markdown table of the per-block KLs (with the ratio to the seed baseline in brackets when
    there is one) and relative weight distances, then the encoder and decoder means."""
    has_baseline = result.get("baseline") is not None
    suffix = " (× baseline)" if has_baseline else ""
    header = ["block", "part"] + [METRIC_TITLES[m] + suffix for m in METRICS] + ["weights moved, ‖B − A‖ / ‖A‖"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]

    def cell(row: dict, metric: str, prefix: str = "") -> str:
        text = _number(row.get(f"{prefix}{metric}"))
        if has_baseline:
            text += f" ({_number(row.get(f'{prefix}ratio_{metric}'), ratio=True)})"
        return text

    for row in result["blocks"]:
        lines.append("| " + " | ".join([row["block"], row["part"]] + [cell(row, m) for m in METRICS]
                                       + [_number(row.get("weight_rel_l2"))]) + " |")
    for part in ("encoder", "decoder"):
        entry = result["summary"][part]
        lines.append("| " + " | ".join([f"**{part} mean**", part] + [cell(entry, m) for m in METRICS]
                                       + [_number(entry.get("weight_rel_l2"))]) + " |")
    return "\n".join(lines)


def _number(value: Optional[float], ratio: bool = False) -> str:
    if value is None:
        return "-"
    if ratio:
        return f"{value:.2g}×" if value < 10 else f"{value:.0f}×"
    return "0" if value == 0 else f"{value:.3g}"

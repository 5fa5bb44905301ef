"""The demo's report.md, its runs table and the one-line headline, from the demo's summary."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any, Optional, Sequence

from ..study.table import seed_stats as _seed_stats


def analysis_table(result: dict) -> str:
    from ..backend.analysis_report import format_table

    return format_table(result)


def seed_stats(values: Sequence[float]) -> dict:
    """The studies' statistics over seeds (study/table.py), None where there is no score."""
    return _seed_stats(values, missing=None)


def headline_text(h: dict) -> str:
    seeds = f"mean of {len(h['seeds'])} seeds" if len(h["seeds"]) > 1 else "1 seed"
    return (f"test mIoU with {h['k']} clean tiles ({seeds}): from scratch {h['scratch']:.3f}, fine-tuned from "
            f"noisy {h['finetuned']:.3f}; noisy only, no clean tiles {h['noisy_only']:.3f}")


# -- report.md ----------------------------------------------------------------------------------


def _score(stats: dict) -> str:
    if not stats or stats["n"] == 0:
        return "-"
    if stats["n"] == 1:
        return f"{stats['mean']:.3f}"
    return f"{stats['mean']:.3f} ± {stats['std']:.3f}"


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(map(str, headers)) + " |", "|" + "---|" * len(headers)]
    return "\n".join(lines + ["| " + " | ".join(map(str, row)) + " |" for row in rows])


def _analysis_reading(summary: dict) -> str:
    def value(part: str, key: str) -> str:
        v = summary[part].get(key)
        return "-" if v is None else f"{v:.3g}"

    parts = []
    if summary["encoder"].get("weight_rel_l2") is not None:
        parts.append(f"Kernels moved weight by weight (‖B − A‖ / ‖A‖, mean over blocks): encoder "
                     f"{value('encoder', 'weight_rel_l2')}, decoder {value('decoder', 'weight_rel_l2')} (seed baseline: "
                     f"{value('encoder', 'baseline_weight_rel_l2')} and {value('decoder', 'baseline_weight_rel_l2')}).")
    for metric, what in (("weight_kl_hist", "Weight distributions"), ("activation_kl_hist", "Activation distributions")):
        parts.append(f"{what}, histogram KL: encoder {value('encoder', metric)} nats "
                     f"({value('encoder', 'ratio_' + metric)}× the seed baseline), decoder {value('decoder', metric)} "
                     f"({value('decoder', 'ratio_' + metric)}×).")
    return " ".join(parts)


def _efficiency_reading(summary: dict) -> str:
    table, h = summary["label_efficiency"], summary["headline"]
    ks = [str(k) for k in summary["settings"]["ks"]]
    gains = ", ".join(f"{table['finetuned'][k]['mean'] - table['scratch'][k]['mean']:+.3f} with K = {k}" for k in ks)
    against_noisy = ", ".join(f"{table['finetuned'][k]['mean'] - h['noisy_only']:+.3f} (K = {k})" for k in ks)
    spread = max((table[init][k]["std"] or 0.0) for init in table for k in ks)
    return (f"Fine-tuning the noisy model instead of training from scratch on the same clean tiles changes test mIoU "
            f"by {gains}. Against the noisy model without any clean tile ({h['noisy_only']:.3f}), fine-tuning changes "
            f"it by {against_noisy}. The largest standard deviation over seeds in the table is {spread:.3f}: "
            "differences smaller than that are not resolved by this many seeds and test tiles.")


def write_report(out: Path, summary: dict) -> None:
    from ..core.atomic import atomic_file

    from .scene import MAP_2016, OLD_MAP

    s, h = summary["settings"], summary["headline"]
    test_tiles = summary["references"]["noisy_only"]["tiles"]
    ks = [str(k) for k in s["ks"]]
    table = summary["label_efficiency"]
    efficiency = _table(["model", *[f"K = {k}" for k in ks]], [
        ["from scratch", *[_score(table["scratch"][k]) for k in ks]],
        ["fine-tuned from noisy", *[_score(table["finetuned"][k]) for k in ks]],
    ])
    clean_all = summary["references"]["scratch_all"]
    references = _table(["reference", "test mIoU"], [
        ["noisy only: the pretrained model, no clean tiles", f"{h['noisy_only']:.3f}"],
        [f"from scratch on all {summary['tiles']['clean_train_available']} clean train tiles "
         f"(seeds {', '.join(str(r['seed']) for r in clean_all)})", _score(seed_stats([r["miou"] for r in clean_all]))],
    ])
    project = summary["project"]
    project_text = (f"`demo.qgz` (relative paths; open it with `qgis {out.name}/demo.qgz`), rendered by QGIS itself:\n\n"
                    "![the QGIS project](figures/demo_project.png)" if project["status"] == "written"
                    else f"QGIS project skipped: {project['reason']}")
    p = summary["prediction"]
    machine_text = summary["machine"]
    sections = [
        "# noisyseg demo: what pretraining on an old map buys",
        f"Denmark, Sentinel-2 (452 x 413 px, 10 m, bands B-G-R), six crop groups plus background. Noisy labels: an old, "
        f"incomplete copy of the parcel map (`{OLD_MAP}`, labels {summary['tiles']['labelled_fraction']['noisy']:.0%} "
        f"of the pixels; no polygon means unknown, `--unlabeled ignore`). Clean labels: the 2016 map (`{MAP_2016}`, "
        f"{summary['tiles']['labelled_fraction']['clean']:.0%}) on the same {s['tile']} px tile grid and split, so the "
        f"{test_tiles} test tiles are spatially held out from every training tile of both datasets. A few of its "
        "train tiles stand in for the tiles an operator would correct by hand.",
        f"**Headline** ({'quick demo: tiny model, 2 epochs, not a result' if summary['quick'] else 'full demo'}): "
        f"{headline_text(h)}.",
        "## Label efficiency",
        f"Test mIoU on the {test_tiles} held-out test tiles, "
        + (f"mean ± sample standard deviation over seeds {', '.join(map(str, s['seeds']))}" if len(s["seeds"]) > 1
           else f"one seed ({s['seeds'][0]})") + " (a seed draws the K tiles and seeds the training).",
        efficiency,
        references,
        _efficiency_reading(summary),
        "![label efficiency](figures/label_efficiency.png)",
        "Training curves (the first seed):\n\n![training curves](figures/training_curves.png)",
        "## The prediction",
        f"The model fine-tuned on {h['k']} clean tiles (seed {s['seeds'][0]}), exported to ONNX and run over the whole "
        f"scene with onnxruntime ({p.get('provider', '-')}): `prediction.tif`, `confidence.tif` and `disagreement.tif`, "
        f"each with its `.qml` style. The prediction disagrees with the old map on "
        f"{_percent(p.get('disagreement_fraction'))} of the {p.get('disagreement_pixels_compared', 0):,} pixels the old "
        "map labels: there the old map is probably out of date, or the model wrong.",
        "![image, noisy labels, clean labels, prediction](figures/side_by_side.png)",
        "## The QGIS project",
        project_text,
        "## Layer analysis",
        "Symmetric KL divergence (nats) per block between weight distributions and between activation distributions "
        "on the same clean tiles (`noisyseg analyze`). The seed baseline is two models trained from scratch on all "
        "clean tiles that differ only in seed; `×` is the ratio to it.",
    ]
    for name, title in (("pretrained_vs_finetuned", f"Pretrained on noisy labels vs fine-tuned on {h['k']} clean tiles"),
                        ("noisy_vs_clean", "Trained on the noisy labels vs on all clean labels, same init and schedule")):
        analysis = summary["analysis"][name]
        sections += [f"### {title}", _analysis_reading(analysis["summary"]), analysis["table"],
                     f"![layers: {name}]({analysis['layers_png']})"]
    sections += [
        "## How it was made",
        f"`{'make demo DEMO=quick' if summary['quick'] else 'make demo'}` in {summary['wall_seconds'] / 60:.1f} min on "
        f"{machine_text['cpus']} CPUs ({machine_text['platform']}, Python {machine_text['python']}, torch "
        f"{machine_text['torch']}), training on {machine_text['device']}"
        + (f" ({machine_text['gpu']})" if machine_text.get("gpu") else "") + ".",
        "Settings: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in s.items()) + ". Model: ResNet-18 U-Net.",
        "Seconds per step: " + ", ".join(f"{k} {v:g}" for k, v in summary["step_seconds"].items()) + ".",
        "The commands, in order (each ran in the demo's process; every run folder under `runs/` also holds its "
        "`command.txt`, `history.json`, `curves.png` and `test_metrics.json`):",
        "```\n" + "\n".join(summary["commands"]) + "\n```",
        "For more K, inits (SimCLR) and seeds, run `noisyseg study label-efficiency` on `datasets/noisy` and "
        "`datasets/clean`.",
    ]
    with atomic_file(out / "report.md") as tmp:
        tmp.write_text("\n\n".join(sections) + "\n", encoding="utf-8")


def _percent(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.1%}"


def write_runs_csv(path: Path, rows: Sequence[dict]) -> None:
    from ..core.atomic import atomic_file

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    with atomic_file(path) as tmp:
        tmp.write_text(buffer.getvalue(), encoding="utf-8")

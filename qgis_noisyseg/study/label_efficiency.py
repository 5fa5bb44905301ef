"""Label efficiency: test mIoU (or one class's IoU) against the number K of clean fine-tuning tiles, per init
(scratch, noisy, simclr, simclr+noisy), over seeds; and the clean tiles that pretraining saves.

Each pretraining runs once (seed 0) on the noisy dataset and is reused for every K and seed;
the fine-tuning seed draws the K tiles (``finetune --max-tiles K --seed S``) and seeds the run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

from ..core.errors import UserError
from ..core.progress import Reporter
from . import plots, report
from .parsing import Metric, check_compatible, check_dataset, parse_choices, parse_ks, parse_seeds, same_classes
from .runner import Study
from .settings import ALL, TrainingSettings, drawable_tiles, study_settings
from .table import seed_stats, slug, write_csv

INITS = ("scratch", "noisy", "simclr", "simclr+noisy")
BASELINE = "scratch"


def run_label_efficiency(noisy: str | Path, clean: str | Path, test: str | Path, out: str | Path,
                         ks: str | Sequence = (2, 4, 8, 16, ALL), inits: str | Sequence = INITS,
                         seeds: str | int | Sequence = 3, settings: Optional[TrainingSettings] = None,
                         test_split: str = "test", transfer: str = "auto", freeze: str = "none",
                         metric: Optional[str] = None, reporter: Optional[Reporter] = None, overwrite: bool = False,
                         command: Optional[Sequence[str]] = None) -> dict:
    """Runs (or resumes) the grid into ``out``; writes ``results.csv``, ``label_efficiency.png``
    and ``report.md`` there. Returns their paths, the run counts (runs, ran, skipped), the
    mean curves and the clean tiles saved."""
    settings = settings or TrainingSettings()
    settings.check()
    reporter = reporter or Reporter(quiet=True)
    ks, inits, seeds = parse_ks(ks), parse_choices(inits, INITS, "--inits"), parse_seeds(seeds)
    noisy, clean, test = Path(noisy), Path(clean), Path(test)
    clean_data = check_dataset(clean, "--clean", "train")
    test_data = check_dataset(test, "--test", test_split)
    check_compatible(clean_data, test_data, "--clean", "--test")
    metric = Metric.parse(metric, test_data)
    pretrain_methods = [init for init in inits if init != BASELINE]
    noisy_data = check_dataset(noisy, "--noisy", "train") if pretrain_methods else None
    if noisy_data is not None and noisy_data.in_channels != clean_data.in_channels:
        raise UserError(f"--noisy {noisy} has {noisy_data.in_channels} bands but --clean {clean} has "
                        f"{clean_data.in_channels}; export both from the same imagery")
    available, pool = drawable_tiles(clean_data, settings)
    too_many = [k for k in ks if k != ALL and k > available]
    if too_many:
        raise UserError(f"--k {too_many[0]} is more than the {available} {pool}; use smaller K or 'all'")
    tiles_of = {k: len(clean_data.split("train")) if k == ALL else int(k) for k in ks}

    recorded = study_settings(settings, noisy=noisy, clean=clean, test=test, test_split=test_split, transfer=transfer,
                              freeze=freeze)
    with Study(out, "label-efficiency", recorded, reporter, overwrite, command) as study:
        study.plan(len(pretrain_methods) + len(ks) * len(inits) * len(seeds))
        evaluate_pretrained = (test, test_split) if noisy_data is not None and same_classes(noisy_data, test_data) else None
        pretrained = {}
        for method in pretrain_methods:
            pretrained[method] = study.pretrained(f"{slug(method)}", settings.pretrain_options(noisy, method),
                                                  evaluate_on=None if method == "simclr" else evaluate_pretrained)
        rows = []
        for seed in seeds:
            for k in ks:
                for init in inits:
                    model = Path(pretrained[init]["model"]) if init in pretrained else None
                    options = settings.finetune_options(clean, model, k, seed, tiles_of[k], transfer=transfer, freeze=freeze)
                    fields = {"init": init, "k": str(k), "tiles": tiles_of[k], "seed": seed}
                    rows.append(study.finetuned(f"{slug(init)}_k{k}_s{seed}", options, test, test_split, fields))
        rows.sort(key=lambda r: (inits.index(r["init"]), r["tiles"], r["seed"]))

        curves = mean_curves(rows, inits, metric)
        saved = clean_tiles_saved({init: {n: s["mean"] for n, s in curve.items()} for init, curve in curves.items()})
        root = Path(out)
        results, figure, report_path = root / "results.csv", root / "label_efficiency.png", root / "report.md"
        write_csv(results, rows)
        tick_labels = {tiles_of[k]: (f"all ({tiles_of[k]})" if k == ALL else str(k)) for k in ks}
        plots.plot_label_efficiency(curves, tick_labels, figure,
                                    f"Label efficiency: {clean.name} ({len(seeds)} seed{'s' * (len(seeds) > 1)})",
                                    f"test {metric.label}",
                                    {method: metric.of(p["test"]) for method, p in pretrained.items() if p.get("test")})
        write_label_efficiency_report(report_path, curves, saved, tick_labels, pretrained, rows, recorded, seeds, command,
                                      len(test_data.split(test_split)), metric)
        return {**study.outputs(results=results, figure=figure, report=report_path), "metric": metric.name,
                "curves": {init: {str(n): s["mean"] for n, s in curve.items()} for init, curve in curves.items()},
                "clean_tiles_saved": saved}


def mean_curves(rows: Sequence[dict], inits: Sequence[str], metric: Metric = Metric()) -> dict[str, dict[int, dict]]:
    """``{init: {tiles: seed stats of the metric}}``."""
    curves: dict[str, dict[int, dict]] = {}
    for init in inits:
        tiles = sorted({r["tiles"] for r in rows if r["init"] == init})
        curves[init] = {n: seed_stats([metric.of(r) for r in rows if r["init"] == init and r["tiles"] == n])
                        for n in tiles}
    return curves


def tiles_to_reach(curve: dict[int, float], target: float) -> tuple[Optional[float], str]:
    """The number of clean tiles at which ``curve`` (mean mIoU by tiles, linear between the K
    tried) first reaches ``target``: ``(tiles, "exact")``; ``(smallest K, "at most")`` when it
    is reached already at the smallest K tried; ``(None, "not reached")`` when never."""
    points = sorted(curve.items())
    if not points:
        return None, "not reached"
    if points[0][1] >= target:
        return float(points[0][0]), "at most"
    for (n0, m0), (n1, m1) in zip(points, points[1:]):
        if m0 < target <= m1:
            return n0 + (target - m0) / (m1 - m0) * (n1 - n0), "exact"
    return None, "not reached"


def clean_tiles_saved(means: dict[str, dict[int, float]], baseline: str = BASELINE) -> list[dict]:
    """For each pretrained init and each K it was fine-tuned with: its mean score, the number of
    clean tiles scratch needs to reach it (on scratch's mean curve), and the difference."""
    if baseline not in means:
        return []
    scratch = means[baseline]
    rows = []
    for init, curve in means.items():
        if init == baseline:
            continue
        for tiles, target in sorted(curve.items()):
            needed, how = tiles_to_reach(scratch, target)
            row = {"init": init, "tiles": tiles, "score": target, "scratch_tiles": needed, "bound": how,
                   "saved": None if needed is None else max(0.0, needed - tiles)}
            row["text"] = _saved_text(row, scratch)
            rows.append(row)
    return rows


def _saved_text(row: dict, scratch: dict[int, float]) -> str:
    if row["scratch_tiles"] is None:
        best_tiles, best = max(scratch.items(), key=lambda item: item[1])
        return f"not reached within the K tried (scratch's best mean is {best:.3f}, at {best_tiles} tiles)"
    if row["bound"] == "at most":
        smallest = row["scratch_tiles"]
        if smallest <= row["tiles"]:
            return f"none: scratch reaches it already with {smallest:g} tiles, the fewest tried"
        return f"at most {smallest - row['tiles']:g}: scratch reaches it with {smallest:g} tiles, the fewest tried"
    if row["saved"] == 0:
        return f"none: scratch reaches it with {row['scratch_tiles']:.1f} tiles"
    return f"{row['saved']:.1f}: scratch needs {row['scratch_tiles']:.1f} tiles"


def write_label_efficiency_report(path: Path, curves: dict, saved: list[dict], tick_labels: dict[int, str],
                                  pretrained: dict[str, dict], rows: list[dict], settings: dict, seeds: list[int],
                                  command, test_tiles: int, metric: Metric) -> None:
    ticks = sorted(tick_labels)
    mean_table = report.table(["init", *[f"K={tick_labels[n]}" for n in ticks]],
                              [[init, *[report.score(curve.get(n)) for n in ticks]] for init, curve in curves.items()])
    saved_table = report.table(
        ["init", "K", f"mean {metric.label}", "scratch reaches it at K", "clean tiles saved"],
        [[r["init"], tick_labels.get(r["tiles"], r["tiles"]), report.number(r["score"]),
          "-" if r["scratch_tiles"] is None else
          (f"≤ {r['scratch_tiles']:g}" if r["bound"] == "at most" else f"{r['scratch_tiles']:.1f}"), r["text"]]
         for r in saved])
    references = [[method, report.number(metric.of(p["test"]))] for method, p in pretrained.items() if p.get("test")]
    among = f" among those whose labels contain {settings['tiles_with']}" if settings.get("tiles_with") else ""
    sections = [
        "# Label-efficiency study",
        f"Test {metric.label} on the `{settings['test_split']}` split of `{settings['test']}` ({test_tiles} tiles) "
        f"after fine-tuning on K clean train tiles of `{settings['clean']}`, for each init; seeds "
        f"{', '.join(map(str, seeds))} (a seed draws the K tiles{among} and seeds the fine-tuning). Cells: mean (min-max "
        "over seeds). `results.csv` has every run's mIoU, overall accuracy and per-class IoU." +
        (f" Every pretraining and the `scratch` runs start their encoder from `{settings['encoder_weights']}` "
         "(`--encoder-weights`): `scratch` is those weights without pretraining on the noisy labels."
         if settings.get("encoder_weights") else ""),
        mean_table,
        "![label efficiency](label_efficiency.png)",
        "## Clean tiles saved",
        f"For each pretrained init and K: the number of clean tiles scratch needs to reach the same mean "
        f"{metric.label}, interpolated linearly on scratch's mean curve between the K tried, and the difference.",
        saved_table if saved else "No scratch baseline in this study: add `scratch` to --inits.",
    ]
    if references:
        sections += ["## The pretrained models before fine-tuning",
                     f"Test {metric.label} of the pretrained models as they are (only where the noisy dataset has the "
                     "test's classes).", report.table(["pretraining", f"test {metric.label}"], references)]
    sections += ["## Settings", report.settings_lines(settings), f"Command: `{report.command_line(command)}`",
                 report.seconds_text(rows, list(pretrained.values())),
                 "Each run's folder holds its checkpoints, history, curves.png, command.txt and test_metrics.json."]
    report.write_report(path, sections)

"""Noise sensitivity: corrupt the clean labels at each rate, one noise kind at a time
(``core.noise.corrupt_dataset``), pretrain on them, fine-tune on the same K clean tiles, and
compare with scratch on those tiles. Rate 0 pretrains on the clean labels themselves (the best
case: the pretraining labels are right), shared by every kind's curve.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional, Sequence

from ..core.errors import UserError
from ..core.noise import NOISE_KINDS, corrupt_dataset
from ..core.progress import Reporter
from ..spec.names import MANIFEST
from . import plots, report
from .parsing import Metric, check_compatible, check_dataset, parse_choices, parse_floats, parse_seeds
from .runner import Study
from .settings import TrainingSettings, drawable_tiles, study_settings
from .table import seed_stats, slug, write_csv

DEFAULT_KINDS = ("remove", "shift", "erode", "dilate", "flip")
CLEAN = "none"


def run_noise_study(clean: str | Path, test: str | Path, out: str | Path,
                    rates: str | Sequence = (0.0, 0.1, 0.2, 0.4, 0.6), kinds: str | Sequence = DEFAULT_KINDS,
                    k: int = 8, seeds: str | int | Sequence = 2, settings: Optional[TrainingSettings] = None,
                    test_split: str = "test", noise_seed: int = 0, metric: Optional[str] = None,
                    reporter: Optional[Reporter] = None, overwrite: bool = False,
                    command: Optional[Sequence[str]] = None) -> dict:
    """Runs (or resumes) the study into ``out``; writes ``results.csv``,
    ``noise_sensitivity.png`` and ``report.md``."""
    settings = settings or TrainingSettings()
    settings.check()
    reporter = reporter or Reporter(quiet=True)
    rates = sorted(parse_floats(rates, "--rates"))
    kinds = parse_choices(kinds, NOISE_KINDS, "--kinds")
    seeds = parse_seeds(seeds)
    clean, test = Path(clean), Path(test)
    clean_data = check_dataset(clean, "--clean", "train")
    test_data = check_dataset(test, "--test", test_split)
    check_compatible(clean_data, test_data, "--clean", "--test")
    metric = Metric.parse(metric, test_data)
    available, pool = drawable_tiles(clean_data, settings)
    if not 1 <= k <= available:
        raise UserError(f"--k must be between 1 and the {available} {pool}, got {k}")

    recorded = study_settings(settings, clean=clean, test=test, test_split=test_split, k=k, noise_seed=noise_seed)
    with Study(out, "noise", recorded, reporter, overwrite, command) as study:
        noisy_rates = [rate for rate in rates if rate > 0]
        pretrainings = ([(CLEAN, 0.0)] if 0.0 in rates else []) + [(kind, rate) for kind in kinds for rate in noisy_rates]
        study.plan(len(pretrainings) * (1 + len(seeds)) + len(seeds))

        pretrained = {}
        for kind, rate in pretrainings:
            name = "clean_r0" if kind == CLEAN else noise_name(kind, rate)
            if kind == CLEAN:
                data = clean
            else:
                data = study.dataset(name, lambda path, rep, kind=kind, rate=rate: corrupt_dataset(
                    clean, path, rate=rate, kinds=[kind], seed=noise_seed, overwrite=True, reporter=rep))
            result = study.pretrained(name, settings.pretrain_options(data, "noisy"), evaluate_on=(test, test_split))
            pretrained[(kind, rate)] = {**result, "noise": _noise_record(data)}
        rows = []
        for seed in seeds:
            rows.append(study.finetuned(f"scratch_s{seed}", settings.finetune_options(clean, None, k, seed, k), test,
                                        test_split, {"init": "scratch", "kind": "", "rate": "", "k": k, "seed": seed,
                                                     "pretrained_test_miou": None, "objects": None,
                                                     "objects_touched": None}))
            for (kind, rate), result in pretrained.items():
                fields = {"init": "pretrained", "kind": kind, "rate": rate, "k": k, "seed": seed,
                          "pretrained_test_miou": result["test"]["miou"],
                          "pretrained_test_score": metric.of(result["test"]), **result["noise"]}
                options = settings.finetune_options(clean, Path(result["model"]), k, seed, k)
                rows.append(study.finetuned(f"{result['name']}_s{seed}", options, test, test_split, fields))
        rows.sort(key=lambda r: (r["init"] != "scratch", r["kind"], r["rate"] if r["rate"] != "" else -1, r["seed"]))

        root = Path(out)
        results, figure, report_path = root / "results.csv", root / "noise_sensitivity.png", root / "report.md"
        write_csv(results, rows)
        scratch = seed_stats([metric.of(r) for r in rows if r["init"] == "scratch"])
        curves = noise_curves(rows, kinds, metric)
        plots.plot_noise_sensitivity(curves, scratch, figure, f"Noise sensitivity: pretrain on corrupted {clean.name}, "
                                                              f"fine-tune on K={k}", f"test {metric.label}")
        write_noise_report(report_path, curves, scratch, rows, list(pretrained.values()), recorded, seeds, command, metric)
        return {**study.outputs(results=results, figure=figure, report=report_path), "metric": metric.name,
                "scratch": scratch["mean"],
                "curves": {kind: {f"{rate:g}": s["mean"] for rate, s in curve.items()} for kind, curve in curves.items()}}


def _noise_record(dataset: Path) -> dict:
    noise = json.loads((Path(dataset) / MANIFEST).read_text(encoding="utf-8")).get("noise") or {}
    return {"objects": noise.get("objects"), "objects_touched": sum(noise.get("touched", {}).values()) if noise else 0}


def noise_curves(rows: Sequence[dict], kinds: Sequence[str], metric: Metric = Metric()) -> dict[str, dict[float, dict]]:
    """``{kind: {rate: seed stats of the fine-tuned models' metric}}``; the clean (rate 0) runs
    belong to every kind."""
    pretrained = [r for r in rows if r["init"] == "pretrained"]
    curves = {}
    for kind in kinds:
        mine = [r for r in pretrained if r["kind"] in (kind, CLEAN)]
        rates = sorted({float(r["rate"]) for r in mine})
        curves[kind] = {rate: seed_stats([metric.of(r) for r in mine if float(r["rate"]) == rate]) for rate in rates}
    return curves


def write_noise_report(path: Path, curves: dict, scratch: dict, rows: list[dict], pretrained: list[dict],
                       settings: dict, seeds: list[int], command, metric: Metric) -> None:
    rates = sorted({rate for curve in curves.values() for rate in curve})
    by_rate = {}
    for row in rows:
        if row["init"] == "pretrained":
            by_rate[(row["kind"], float(row["rate"]))] = row["pretrained_test_score"]
    finetuned = report.table(["kind", *[f"rate {rate:g}" for rate in rates]],
                             [[kind, *[report.score(curve.get(rate)) for rate in rates]] for kind, curve in curves.items()])
    as_pretrained = report.table(
        ["kind", *[f"rate {rate:g}" for rate in rates]],
        [[kind, *[report.number(by_rate.get((kind, rate), by_rate.get((CLEAN, rate)) if rate == 0 else None))
                  for rate in rates]] for kind in curves])
    verdicts = []
    for kind, curve in curves.items():
        beating = [rate for rate, stats in curve.items() if stats["mean"] > scratch["mean"]]
        losing = [rate for rate, stats in curve.items() if stats["mean"] <= scratch["mean"]]
        if not losing:
            verdicts.append(f"- `{kind}`: the fine-tuned pretrained model beats scratch's mean at every rate tried "
                            f"(up to {max(curve):g}).")
        elif not beating:
            verdicts.append(f"- `{kind}`: it does not beat scratch's mean at any rate tried.")
        else:
            verdicts.append(f"- `{kind}`: it beats scratch's mean at rates {', '.join(f'{r:g}' for r in beating)}; "
                            f"not at {', '.join(f'{r:g}' for r in losing)}.")
    sections = [
        "# Noise-sensitivity study",
        f"Each kind of noise alone, at each rate (the fraction of objects corrupted), on the train labels of "
        f"`{settings['clean']}`; noisy pretraining on them; fine-tuning on the same K={settings['k']} clean tiles "
        f"per seed (seeds {', '.join(map(str, seeds))}); test {metric.label} on the `{settings['test_split']}` split of "
        f"`{settings['test']}`. Rate 0 is pretraining on the clean labels. Cells: mean (min-max over seeds).",
        f"Scratch on the same K clean tiles: {report.score(scratch)}.",
        "## After fine-tuning", finetuned, "![noise sensitivity](noise_sensitivity.png)",
        f"## The pretrained models before fine-tuning (test {metric.label})", as_pretrained,
        "## Against scratch", "\n".join(verdicts),
        "## Settings", report.settings_lines(settings), f"Command: `{report.command_line(command)}`",
        report.seconds_text(rows, pretrained),
    ]
    report.write_report(path, sections)


def noise_name(kind: str, rate: float) -> str:
    return slug(f"{kind}_r{rate:g}")

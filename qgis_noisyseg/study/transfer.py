"""Transfer: what the noisy-pretrained encoder (U-Net, pretrained on the noisy labels) carries
over when fine-tuning changes the definition: another decoder, a class set finer than the one
pretrained on (pretraining on a coarse copy of the noisy labels), or a frozen encoder. Each
condition is fine-tuned on the same K clean tiles per seed and compared with scratch under the
same settings (decoder, freezing).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..backend.architectures import DECODER_NAMES
from ..core.atomic import atomic_dir, write_json
from ..core.errors import UserError
from ..core.progress import Reporter
from ..spec.names import MANIFEST
from . import plots, report
from .parsing import Metric, check_compatible, check_dataset, parse_choices, parse_seeds
from .runner import Study
from .settings import TrainingSettings, drawable_tiles, study_settings
from .table import seed_stats, slug, write_csv


@dataclass(frozen=True)
class Condition:
    key: str
    label: str
    pretraining: str  # "unet" (noisy labels) or "coarse" (coarse copy of them)
    decoder: Optional[str] = None
    transfer: str = "auto"
    freeze: str = "none"

    @property
    def scratch_key(self) -> str:
        return f"scratch_{self.decoder or 'unet'}_freeze-{slug(self.freeze)}"


def conditions(decoders: Sequence[str], with_coarse: bool) -> list[Condition]:
    result = [Condition("unet_all", "U-Net, whole model", "unet", transfer="all"),
              Condition("unet_encoder", "U-Net, encoder only", "unet", transfer="encoder")]
    result += [Condition(f"{d}_encoder", f"{d} decoder, encoder only", "unet", decoder=d, transfer="encoder")
               for d in decoders]
    if with_coarse:
        result += [Condition("coarse_encoder", "coarse -> full classes, encoder", "coarse", transfer="encoder"),
                   Condition("coarse_encoder_decoder", "coarse -> full classes, encoder+decoder", "coarse",
                             transfer="encoder+decoder")]
    result += [Condition("frozen_all", "frozen encoder, whole model", "unet", transfer="all", freeze="encoder"),
               Condition("frozen_encoder", "frozen encoder, fresh decoder", "unet", transfer="encoder",
                         freeze="encoder")]
    return result


def parse_coarse_classes(spec: Optional[str], classes: Sequence[dict]) -> list[tuple[str, list[int]]]:
    """``"cereals=1,2;grass=4,5"`` -> ``[("cereals", [1, 2]), ("grass", [4, 5])]``; classes not
    named keep a class of their own. Without a spec, every non-background class in one."""
    foreground = [int(c["id"]) for c in classes if int(c["id"]) != 0]
    if not spec:
        return [("foreground", foreground)]
    groups, seen = [], set()
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        name, sep, ids = part.partition("=")
        if not sep or not name.strip():
            raise UserError(f"--coarse-classes: {part!r} is not NAME=ID,ID (e.g. cereals=1,2;grass=4,5)")
        try:
            members = [int(i) for i in ids.split(",") if i.strip()]
        except ValueError:
            raise UserError(f"--coarse-classes: class ids must be integers, got {ids!r}") from None
        bad = [i for i in members if i not in foreground]
        if bad:
            raise UserError(f"--coarse-classes: {bad[0]} is not a non-background class id of the dataset "
                            f"({', '.join(map(str, foreground))})")
        twice = [i for i in members if i in seen]
        if twice:
            raise UserError(f"--coarse-classes: class {twice[0]} is in two groups")
        seen.update(members)
        groups.append((name.strip(), members))
    groups += [(str(c["name"]), [int(c["id"])]) for c in classes if int(c["id"]) != 0 and int(c["id"]) not in seen]
    return groups


def remap_dataset(source: Path, out: Path, groups: Sequence[tuple[str, list[int]]], reporter: Reporter) -> dict:
    """A copy of the dataset at ``source`` whose masks hold the merged classes of ``groups``
    (background stays 0, ignore 255); images are hard links (or copies)."""
    import rasterio

    from ..core.classes import colour_table
    from ..core.dataset import Dataset, class_histogram

    dataset = Dataset(source)  # checked (core.validate)
    manifest = json.loads(json.dumps(dataset.manifest))
    old = {int(c["id"]): c for c in manifest["classes"]}
    lookup = np.arange(256, dtype=np.uint8)
    classes = [old[0]]
    for new_id, (name, members) in enumerate(groups, start=1):
        lookup[members] = new_id
        classes.append({"id": new_id, "name": name, "color": old[members[0]]["color"],
                        "values": [v for m in members for v in old[m].get("values", [])]})
    colours = colour_table((c["id"], c["color"]) for c in classes)
    ignore = int(manifest.get("ignore_index", 255))
    with atomic_dir(out, "dataset") as tmp:
        for index, tile in enumerate(manifest["tiles"], start=1):
            (tmp / tile["image"]).parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(source / tile["image"], tmp / tile["image"])
            except OSError:
                shutil.copy2(source / tile["image"], tmp / tile["image"])
            mask = lookup[dataset.read_tile(tile)[2]]
            profile = dataset.read_mask(tile)[1]
            (tmp / tile["mask"]).parent.mkdir(parents=True, exist_ok=True)
            with rasterio.open(tmp / tile["mask"], "w", **profile) as dst:
                dst.write(mask, 1)
                dst.write_colormap(1, colours)
            tile["class_histogram"] = class_histogram(mask, ignore)
            reporter.progress("remap", index, len(manifest["tiles"]))
        manifest["classes"] = classes
        manifest["remapped_from"] = {"source": str(source.resolve()),
                                     "groups": [{"name": name, "ids": members} for name, members in groups]}
        write_json(tmp / "classes.json", {"classes": classes})
        write_json(tmp / MANIFEST, manifest)
    return {"dataset": str(out), "classes": len(classes)}


def run_transfer_study(noisy: str | Path, clean: str | Path, test: str | Path, out: str | Path, k: int = 8,
                       seeds: str | int | Sequence = 2, decoders: str | Sequence = ("fpn", "deeplabv3plus"),
                       coarse_classes: Optional[str] = None, settings: Optional[TrainingSettings] = None,
                       test_split: str = "test", metric: Optional[str] = None, reporter: Optional[Reporter] = None,
                       overwrite: bool = False, command: Optional[Sequence[str]] = None) -> dict:
    """Runs (or resumes) the study into ``out``; writes ``results.csv``, ``transfer.png`` and
    ``report.md``."""
    settings = settings or TrainingSettings()
    settings.check()
    reporter = reporter or Reporter(quiet=True)
    seeds = parse_seeds(seeds)
    decoders = [d for d in parse_choices(decoders, DECODER_NAMES, "--decoders") if d != "unet"]
    noisy, clean, test = Path(noisy), Path(clean), Path(test)
    noisy_data = check_dataset(noisy, "--noisy", "train")
    clean_data = check_dataset(clean, "--clean", "train")
    test_data = check_dataset(test, "--test", test_split)
    check_compatible(clean_data, test_data, "--clean", "--test")
    check_compatible(clean_data, noisy_data, "--clean", "--noisy")
    metric = Metric.parse(metric, test_data)
    available, pool = drawable_tiles(clean_data, settings)
    if not 1 <= k <= available:
        raise UserError(f"--k must be between 1 and the {available} {pool}, got {k}")
    groups = parse_coarse_classes(coarse_classes, noisy_data.manifest["classes"])
    with_coarse = len(groups) < len(noisy_data.manifest["classes"]) - 1
    if not with_coarse:
        reporter.warning("the coarse class set would be the dataset's own (it has one non-background class, or "
                         "--coarse-classes merges none); the class-set conditions are left out")

    recorded = study_settings(settings, noisy=noisy, clean=clean, test=test, test_split=test_split, k=k,
                              coarse_classes=[{"name": n, "ids": ids} for n, ids in groups] if with_coarse else None)
    with Study(out, "transfer", recorded, reporter, overwrite, command) as study:
        plan = conditions(decoders, with_coarse)
        scratch_keys = list(dict.fromkeys(c.scratch_key for c in plan))
        study.plan(1 + with_coarse + (len(plan) + len(scratch_keys)) * len(seeds))

        pretrained = {"unet": study.pretrained("unet", settings.pretrain_options(noisy, "noisy"),
                                               evaluate_on=(test, test_split))}
        if with_coarse:
            coarse = study.dataset("noisy_coarse", lambda path, rep: remap_dataset(noisy, path, groups, rep))
            pretrained["coarse"] = study.pretrained("coarse_unet", settings.pretrain_options(coarse, "noisy"))
        rows = []
        for seed in seeds:
            for key in scratch_keys:
                model = next(c for c in plan if c.scratch_key == key)
                options = settings.finetune_options(clean, None, k, seed, k, decoder=model.decoder, freeze=model.freeze)
                rows.append(study.finetuned(f"{key}_s{seed}", options, test, test_split,
                                            {"condition": key, "init": "scratch", "decoder": model.decoder or "unet",
                                             "transfer": "", "freeze": model.freeze, "k": k, "seed": seed}))
            for condition in plan:
                options = settings.finetune_options(clean, Path(pretrained[condition.pretraining]["model"]), k, seed, k,
                                              decoder=condition.decoder, transfer=condition.transfer,
                                              freeze=condition.freeze)
                rows.append(study.finetuned(f"{condition.key}_s{seed}", options, test, test_split,
                                            {"condition": condition.key, "init": f"pretrained ({condition.pretraining})",
                                             "decoder": condition.decoder or "unet", "transfer": condition.transfer,
                                             "freeze": condition.freeze, "k": k, "seed": seed}))

        summary = []
        for condition in plan:
            summary.append({"key": condition.key, "label": condition.label,
                            "pretrained": seed_stats([metric.of(r) for r in rows if r["condition"] == condition.key]),
                            "scratch": seed_stats([metric.of(r) for r in rows if r["condition"] == condition.scratch_key])})
        root = Path(out)
        results, figure, report_path = root / "results.csv", root / "transfer.png", root / "report.md"
        write_csv(results, rows)
        plots.plot_transfer(summary, figure, f"Transfer of the noisy-pretrained encoder: {clean.name}, K={k}",
                            f"test {metric.label}")
        write_transfer_report(report_path, summary, rows, list(pretrained.values()), recorded, seeds, command, metric)
        return {**study.outputs(results=results, figure=figure, report=report_path), "metric": metric.name,
                "conditions": {s["key"]: {"pretrained": s["pretrained"]["mean"], "scratch": s["scratch"]["mean"]}
                               for s in summary}}


def verdict(pretrained: dict, scratch: dict) -> str:
    """The difference of the means, and whether every seed of one lies above every seed of the
    other (the min-max ranges do not overlap)."""
    if pretrained["n"] == 0 or scratch["n"] == 0:
        return "-"
    difference = f"{pretrained['mean'] - scratch['mean']:+.3f}"
    if min(pretrained["n"], scratch["n"]) < 2:
        return f"{difference} (one seed: no spread to judge by)"
    if pretrained["min"] > scratch["max"]:
        return f"{difference}: better, every seed above scratch's best"
    if pretrained["max"] < scratch["min"]:
        return f"{difference}: worse, every seed below scratch's worst"
    return f"{difference}: within the seed spread"


def write_transfer_report(path: Path, summary: list[dict], rows: list[dict], pretrained: list[dict], settings: dict,
                          seeds: list[int], command, metric: Metric) -> None:
    comparison = report.table(["condition", "noisy-pretrained", "scratch, same settings", "pretrained - scratch"],
                              [[s["label"], report.score(s["pretrained"]), report.score(s["scratch"]),
                                verdict(s["pretrained"], s["scratch"])] for s in summary])
    coarse = settings.get("coarse_classes")
    coarse_text = ("Coarse class set pretrained on (a remapped copy of the noisy labels): " +
                   "; ".join(f"{g['name']} = classes {', '.join(map(str, g['ids']))}" for g in coarse) + "."
                   if coarse else "No class-set conditions: the noisy labels have no classes to merge.")
    before = [p for p in pretrained if p.get("test")]
    sections = [
        "# Transfer study",
        f"The U-Net pretrained on the noisy labels of `{settings['noisy']}`, fine-tuned on K={settings['k']} clean "
        f"tiles of `{settings['clean']}` (seeds {', '.join(map(str, seeds))}) under other definitions, each against "
        f"scratch with the same decoder and freezing; test {metric.label} on the `{settings['test_split']}` split of "
        f"`{settings['test']}`. Cells: mean (min-max over seeds). 'Whole model' copies encoder, decoder and head; "
        "'encoder only' starts decoder and head fresh; a frozen encoder keeps its weights and BatchNorm statistics. "
        "Scratch with a frozen encoder trains a decoder on random features.",
        comparison, "![transfer](transfer.png)", coarse_text,
    ]
    if before:
        sections.append(f"The U-Net as pretrained, before fine-tuning: test {metric.label} "
                        f"{report.number(metric.of(before[0]['test']))}.")
    sections += ["## Settings", report.settings_lines(settings), f"Command: `{report.command_line(command)}`",
                 report.seconds_text(rows, pretrained)]
    report.write_report(path, sections)

"""The demo's story: every step a command run in this process from its typed options
(spec/commands.py, through cli.run_options), so that the report lists the commands."""

from __future__ import annotations

import argparse
import shlex
import time
from dataclasses import asdict
from pathlib import Path

from ..spec.commands import (AnalyzeOptions, EvaluateOptions, ExportOnnxOptions, ExportOptions, FinetuneOptions,
                             PredictOptions, PretrainOptions)
from .project import build_project, write_project_spec, write_tiles_layer
from .report import analysis_table, headline_text, seed_stats, write_report, write_runs_csv
from .scene import (CLASSES, FIELD, FULL, IMAGE, MAP_2016, OLD_MAP, QUICK, RGB_BANDS, SCENE, burn_map, copy_inputs,
                    machine, model_classes, read_history, rel)

STEPS = 9


class Demo:
    def __init__(self, args: argparse.Namespace, reporter) -> None:
        from ..core.errors import UserError
        from ..core.progress import Reporter

        self.reporter = reporter
        self.quiet = Reporter(quiet=True, cancel=reporter.cancel)
        self.settings = QUICK if args.quick else FULL
        self.quick = args.quick
        self.device = args.device
        self.tile = args.tile
        self.scene = Path(args.data_dir) / SCENE
        missing = [name for name in (IMAGE, OLD_MAP, MAP_2016, CLASSES) if not (self.scene / name).exists()]
        if missing:
            raise UserError(f"the demo scene is not complete in {self.scene} (missing {', '.join(missing)}); pass "
                            "--data-dir pointing at the repository's data/ folder")
        self.out = Path(args.out)
        self.commands: list[list[str]] = []
        self.seconds: dict[str, float] = {}
        self.step_number = 0

    # -- running commands and steps ------------------------------------------------------------

    def command(self, options, quiet: bool = False) -> dict:
        """Runs one command from its typed options (spec/commands.py) in this process, through its
        own ``run`` (checked as the CLI checks it), and records its command line."""
        from ..cli import command_line_of, run_options

        self.commands.append(command_line_of(options))
        return run_options(options, self.quiet if quiet else self.reporter)

    def step(self, text: str) -> None:
        self.reporter.check_cancel()
        self.step_number += 1
        self.reporter.info(f"step {self.step_number}/{STEPS}: {text}", step=self.step_number, steps=STEPS)

    def timed(self, name: str, function, *args, **kwargs):
        started = time.monotonic()
        result = function(*args, **kwargs)
        self.seconds[name] = round(time.monotonic() - started, 1)
        return result

    # -- the story ----------------------------------------------------------------------------

    def run(self) -> dict:
        """The story, written into ``--out``: a folder that no demo wrote is refused, an earlier
        demo's is replaced, and it comes back if this demo fails (core.outputs)."""
        from ..core.outputs import plan_outputs

        if self.out.exists() and not self.out.is_dir():
            from ..core.errors import UserError

            raise UserError(f"--out {self.out} is a file; pass a folder")
        plan = plan_outputs(True, [(self.scene, "--data-dir")], self.reporter)
        plan.folder(self.out, "--out", "demo", in_place=True)
        plan.check()
        with plan.writing():
            return self.story()

    def story(self) -> dict:
        started = time.monotonic()
        s = self.settings
        out = self.out
        inputs = self.timed("copy inputs", copy_inputs, self.scene, out / "inputs")
        noisy, clean = out / "datasets" / "noisy", out / "datasets" / "clean"
        export = {"field": FIELD, "classes": str(inputs["classes"]), "unlabeled": "ignore", "tile": self.tile}

        self.step("exporting the old, incomplete parcel map as noisy labels")
        noisy_export = self.timed("export noisy", self.command, ExportOptions(
            image=str(inputs["image"]), labels=[str(inputs["old_map"])], **export, out=str(noisy)))
        self.step("exporting the full 2016 map on the same grid: its tiles stand in for the corrected ones")
        self.timed("export clean", self.command, ExportOptions(
            image=str(inputs["image"]), labels=[str(inputs["map_2016"])], **export, out=str(clean)))

        runs = out / "runs"
        model = {"base_width": s.base_width, "device": self.device}
        self.step(f"pretraining on the noisy labels ({s.pretrain_epochs} epochs)")
        pretrained = runs / "pretrain_noisy"
        self.timed("pretrain", self.command, PretrainOptions(
            data=str(noisy), out=str(pretrained), method="noisy", epochs=s.pretrain_epochs,
            batch_size=s.pretrain_batch_size, seed=0, **model))
        noisy_only = self.evaluate(pretrained, clean)

        self.step(f"training from scratch on every clean train tile, seeds {s.baseline_seeds[0]} and "
                  f"{s.baseline_seeds[1]} (the full-annotation reference and the layer analysis's seed baseline)")
        clean_all = []
        for seed in s.baseline_seeds:
            run = runs / f"scratch_all_s{seed}"
            self.timed(f"scratch all s{seed}", self.command, FinetuneOptions(
                data=str(clean), init="none", out=str(run), epochs=s.pretrain_epochs,
                batch_size=s.pretrain_batch_size, seed=seed, **model), quiet=True)
            clean_all.append({"seed": seed, "run": run, "test": self.evaluate(run, clean)})

        self.step(f"fine-tuning from the noisy model and training from scratch on K = "
                  f"{', '.join(map(str, s.ks))} clean tiles, seeds {', '.join(map(str, s.seeds))}")
        rows = self.timed("label efficiency", self.label_efficiency, clean, pretrained, model)

        headline_k = max(s.ks)
        finetuned = runs / f"finetune_k{headline_k}_s{s.seeds[0]}"
        self.step(f"exporting the model fine-tuned on {headline_k} clean tiles and predicting the whole scene")
        onnx = out / "model.onnx"
        self.timed("export-onnx", self.command, ExportOnnxOptions(model=str(finetuned / "model.pt"), out=str(onnx)))
        prediction = self.timed("predict", self.command, PredictOptions(
            model=str(onnx), image=str(inputs["image"]), out=str(out / "prediction.tif"),
            confidence=str(out / "confidence.tif"), disagreement_with=str(inputs["old_map"]),
            disagreement_out=str(out / "disagreement.tif")))

        self.step("comparing the models layer by layer (weights and activations, with a seed baseline)")
        baseline = (runs / f"scratch_all_s{s.baseline_seeds[0]}" / "model.pt",
                    runs / f"scratch_all_s{s.baseline_seeds[1]}" / "model.pt")
        analyses = self.timed("layer analysis", self.layer_analyses, pretrained, finetuned, baseline, clean)

        self.step("drawing the figures and the clean tiles layer")
        classes = model_classes(onnx)
        used_tiles = self.timed("figures", self.figures, inputs, clean, classes, rows, noisy_only, clean_all, headline_k)

        self.step("building the QGIS project demo.qgz and rendering it with QGIS")
        write_project_spec(out, inputs, classes, headline_k, self.tile)
        project = self.timed("QGIS project", build_project, out, self.reporter)

        total = round(time.monotonic() - started, 1)
        summary = self.summary(rows, noisy_only, clean_all, headline_k, prediction, analyses, project, used_tiles,
                               noisy_export, total)
        write_runs_csv(out / "results.csv", rows)
        write_report(out, summary)
        from ..core.atomic import write_json

        write_json(out / "summary.json", summary)
        if project["status"] == "failed":
            raise RuntimeError(f"the QGIS project failed: {project['reason']}")
        return final_outputs(out, summary)

    def evaluate(self, run: Path, data: Path) -> dict:
        metrics = self.command(EvaluateOptions(model=str(run / "model.pt"), data=str(data), split="test",
                                               device=self.device, out=str(run / "test_metrics.json")), quiet=True)
        return {"miou": metrics["miou"], "accuracy": metrics["overall_accuracy"], "tiles": metrics["tiles"],
                "pixels": metrics["pixels"]}

    def label_efficiency(self, clean: Path, pretrained: Path, model: dict) -> list[dict]:
        s = self.settings
        plan = [(k, seed, init) for k in s.ks for seed in s.seeds for init in ("scratch", "finetuned")]
        rows = []
        for index, (k, seed, init) in enumerate(plan):
            run = self.out / "runs" / f"{'scratch' if init == 'scratch' else 'finetune'}_k{k}_s{seed}"
            started = time.monotonic()
            self.command(FinetuneOptions(
                data=str(clean), init="none" if init == "scratch" else str(pretrained / "model.pt"), out=str(run),
                max_tiles=k, epochs=s.finetune_epochs, batch_size=s.finetune_batch_size, seed=seed, **model),
                quiet=True)
            test = self.evaluate(run, clean)
            rows.append({"init": init, "k": k, "seed": seed, "test_miou": test["miou"],
                         "test_accuracy": test["accuracy"], "seconds": round(time.monotonic() - started, 1),
                         "run": str(run.relative_to(self.out))})
            self.reporter.progress("label efficiency", index + 1, len(plan), init=init, k=k, seed=seed,
                                   test_miou=round(test["miou"], 4))
        return rows

    def layer_analyses(self, pretrained: Path, finetuned: Path, baseline: tuple[Path, Path], clean: Path) -> dict:
        from ..backend.analysis import analyze
        from ..cli import command_line_of

        s = self.settings
        pairs = {
            "pretrained_vs_finetuned": (pretrained / "model.pt", finetuned / "model.pt"),
            "noisy_vs_clean": (pretrained / "model.pt", baseline[0]),
        }
        results = {}
        for name, (a, b) in pairs.items():
            out = self.out / "analysis" / name
            self.commands.append(command_line_of(AnalyzeOptions(
                a=str(a), b=str(b), data=str(clean), out=str(out), baseline=f"{baseline[0]},{baseline[1]}",
                tiles=s.analysis_tiles, bins=s.analysis_bins)))
            results[name] = analyze(a, b, clean, out, baseline=baseline, tiles=s.analysis_tiles, bins=s.analysis_bins,
                                    reporter=self.quiet)
        return results

    def figures(self, inputs: dict, clean: Path, classes: list, rows: list, noisy_only: dict, clean_all: list,
                headline_k: int) -> dict:
        import numpy as np
        import rasterio

        from ..backend.data import select_tiles
        from ..core.dataset import Dataset
        from . import figures

        out, s = self.out, self.settings
        seed = s.seeds[0]
        history = {name: read_history(self.out / "runs" / name) for name in
                   ("pretrain_noisy", f"scratch_k{headline_k}_s{seed}", f"finetune_k{headline_k}_s{seed}")}
        figures.plot_training_curves(history["pretrain_noisy"], history[f"scratch_k{headline_k}_s{seed}"],
                                     history[f"finetune_k{headline_k}_s{seed}"], headline_k,
                                     out / "figures" / "training_curves.png")
        curves: dict[str, dict[int, list[float]]] = {"scratch": {}, "finetuned": {}}
        for row in rows:
            curves[row["init"]].setdefault(row["k"], []).append(row["test_miou"])
        dataset = Dataset(clean)
        figures.plot_label_efficiency(curves, noisy_only["miou"], [r["test"]["miou"] for r in clean_all],
                                      len(dataset.split("train")), len(dataset.split("test")),
                                      out / "figures" / "label_efficiency.png")

        train = select_tiles(dataset.split("train"), headline_k, seed)  # the draw finetune --max-tiles makes
        roles = [(t, f"fine-tuning tiles (K={headline_k})") for t in train]
        roles += [(t, "validation tiles") for t in dataset.split("val")] + [(t, "test tiles") for t in dataset.split("test")]
        write_tiles_layer(out / "clean_tiles.gpkg", roles, dataset.manifest["crs_wkt"])
        with rasterio.open(inputs["image"]) as src:
            image = src.read()
        with rasterio.open(out / "prediction.tif") as src:
            predicted = src.read(1)
        class_map_path = Path(inputs["classes"])
        noisy_mask = burn_map(inputs["old_map"], inputs["image"], class_map_path)
        clean_mask = burn_map(inputs["map_2016"], inputs["image"], class_map_path)
        figures.plot_side_by_side(figures.stretch_rgb(image, RGB_BANDS), noisy_mask, clean_mask, predicted, classes,
                                  [t["window"] for t in train], [t["window"] for t in dataset.split("test")],
                                  headline_k, out / "figures" / "side_by_side.png")
        return {"clean_train_available": len(dataset.split("train")), "train": [t["id"] for t in train],
                "val": [t["id"] for t in dataset.split("val")], "test": [t["id"] for t in dataset.split("test")],
                "labelled_fraction": {"noisy": float(np.mean(noisy_mask != 255)),
                                      "clean": float(np.mean(clean_mask != 255))}}

    def summary(self, rows, noisy_only, clean_all, headline_k, prediction, analyses, project, used_tiles,
                noisy_export, total) -> dict:
        from .. import __version__
        from ..backend.distributed import select_device

        s = self.settings
        table = {init: {str(k): seed_stats([r["test_miou"] for r in rows if r["init"] == init and r["k"] == k])
                        for k in s.ks} for init in ("scratch", "finetuned")}
        headline = {"k": headline_k, "seeds": list(s.seeds),
                    "scratch": table["scratch"][str(headline_k)]["mean"],
                    "finetuned": table["finetuned"][str(headline_k)]["mean"],
                    "noisy_only": noisy_only["miou"],
                    "scratch_all": seed_stats([r["test"]["miou"] for r in clean_all])["mean"]}
        return {
            "format": "noisyseg-demo", "quick": self.quick, "settings": {**asdict(s), "tile": self.tile},
            "package_version": __version__, "machine": machine(str(select_device(self.device))),
            "wall_seconds": total, "step_seconds": self.seconds,
            "headline": headline, "label_efficiency": table, "runs": rows,
            "references": {"noisy_only": noisy_only,
                           "scratch_all": [{"seed": r["seed"], "run": str(Path(r["run"]).relative_to(self.out)),
                                            **r["test"]} for r in clean_all]},
            "tiles": {**used_tiles, "noisy_export": noisy_export.get("tiles")},
            "prediction": {k: v for k, v in prediction.items() if not isinstance(v, (dict, list))},
            "analysis": {name: {"layers_json": rel(result["layers_json"], self.out),
                                "layers_png": rel(result["layers_png"], self.out),
                                "summary": result["summary"], "table": analysis_table(result)}
                         for name, result in analyses.items()},
            "project": project,
            "commands": [" ".join(shlex.quote(a) for a in c) for c in self.commands],
        }


def final_outputs(out: Path, summary: dict) -> dict:
    h = summary["headline"]
    project = summary["project"]
    outputs = {
        "out": str(out),
        "report": str(out / "report.md"),
        "project": (f"{out / 'demo.qgz'} (open it with: qgis {out / 'demo.qgz'})" if project["status"] == "written"
                    else f"skipped: {project['reason']}"),
        "project_render": str(out / "figures" / "demo_project.png") if project["status"] == "written" else None,
        "prediction": str(out / "prediction.tif"),
        "confidence": str(out / "confidence.tif"),
        "disagreement": str(out / "disagreement.tif"),
        "figures": str(out / "figures"),
        "summary": str(out / "summary.json"),
        "headline": headline_text(h),
        "test_miou_scratch": round(h["scratch"], 4),
        "test_miou_finetuned": round(h["finetuned"], 4),
        "test_miou_noisy_only": round(h["noisy_only"], 4),
        "wall_seconds": summary["wall_seconds"],
    }
    return {k: v for k, v in outputs.items() if v is not None}

"""A study's runs, resumable: where they live and which are done (``Study``).

Layout of a study folder::

    STUDY/study.json                    kind and settings; a rerun must use the same
    STUDY/datasets/NAME/                derived datasets (corrupted, remapped), written atomically
    STUDY/pretrain/NAME/pretrained.json a pretraining run, done
    STUDY/runs/NAME/result.json         a fine-tuning run, done, with its test metrics

A run whose result file is missing is run again: from its ``last.pt`` with ``--resume`` when a
cancelled attempt left one, otherwise from the start. Each run is the command's own ``run``
called with its typed options (cli.run_options), in this process.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from ..core.atomic import write_json
from ..core.errors import UserError
from ..core.progress import Reporter
from ..spec.names import MANIFEST
from .settings import DATASET_KEYS, TrainingSettings


STUDY_FILE = "study.json"


RESULT_FILE = "result.json"


PRETRAINED_FILE = "pretrained.json"


def _command(options) -> list[str]:
    """The command line of a run, as result files record it."""
    from ..cli import command_line_of

    return command_line_of(options)


class _RunReporter(Reporter):
    """A command inside the study reports its progress as the study's (with the run and its
    step), its warnings prefixed with the run's name, and nothing else; it shares the study's
    cancel token, so Cancel stops the run at its next batch."""

    def __init__(self, study: "Study", name: str) -> None:
        super().__init__(quiet=True, cancel=study.reporter.cancel)
        self.study, self.name = study, name

    def progress(self, stage: str, done: int, total: int, **extra: Any) -> None:
        epoch = {k: extra[k] for k in ("epoch", "epochs") if k in extra}
        self.study.reporter.progress("study", self.study.done, self.study.total, run=self.name, step=stage,
                                     step_done=done, step_total=total, **epoch)

    def warning(self, message: str, **extra: Any) -> None:
        self.warnings.append(message)
        self.study.reporter.warning(f"{self.name}: {message}", **extra)


class Study:
    """The folder of one study and the bookkeeping of its runs."""

    def __init__(self, root: str | Path, kind: str, settings: dict, reporter: Reporter, overwrite: bool = False,
                 command: Optional[Sequence[str]] = None) -> None:
        self.root = Path(root)
        self.kind = kind
        self.reporter = reporter
        self.total = self.done = self.ran = self.skipped = 0
        self._prepare(settings, overwrite, command)

    def _prepare(self, settings: dict, overwrite: bool, command: Optional[Sequence[str]]) -> None:
        """Checks the folder: a study of the same kind and settings is resumed, another one is
        replaced only with --overwrite (see core.outputs), anything else is refused."""
        from ..core.markers import foreign_entries
        from ..core.outputs import plan_outputs

        study_file = self.root / STUDY_FILE
        resume = False
        if self.root.is_dir() and study_file.is_file() and not overwrite:
            try:
                saved = json.loads(study_file.read_text(encoding="utf-8"))
                if not isinstance(saved, dict) or not isinstance(saved.get("settings", {}), dict):
                    raise ValueError(saved)
            except (OSError, ValueError):
                raise UserError(f"{study_file} is damaged (not JSON); pass --overwrite to start the study again, "
                                "or choose another --out") from None
            _check_same(saved, self.kind, settings, self.root)
            foreign = foreign_entries(self.root, "study")
            if foreign:
                raise UserError(f"--out {self.root} holds {', '.join(foreign[:3])}, which the study did not write; "
                                "move it away or choose another --out")
            resume = True
        elif self.root.is_dir() and not study_file.is_file() and any(self.root.iterdir()) and not overwrite:
            raise UserError(f"--out {self.root} exists and is not a study folder (no {STUDY_FILE}); choose another --out")
        inputs = [(settings[key], f"--{key}") for key in DATASET_KEYS if settings.get(key)]
        self._plan = plan_outputs(overwrite, inputs, self.reporter, resume=resume)
        self._plan.folder(self.root, "--out", "study", in_place=True, keep=worth_resuming)
        self._plan.check()
        self._plan.begin()
        write_json(study_file, {"format": "noisyseg-study", "kind": self.kind, "settings": settings,
                                "command": list(command) if command else None})

    def __enter__(self) -> "Study":
        return self

    def __exit__(self, kind, value, traceback) -> None:
        """Success deletes a study that --overwrite replaced; a failure keeps this one (it
        resumes), or, under --overwrite, puts the replaced one back."""
        if kind is None:
            self._plan.commit()
        else:
            self._plan.abort()

    def plan(self, total: int) -> None:
        self.total = total
        self.reporter.progress("study", 0, total)

    def dataset(self, name: str, make: Callable[[Path, Reporter], Any]) -> Path:
        """``STUDY/datasets/NAME``, made by ``make(path, reporter)`` (atomically) unless it is there."""
        path = self.root / "datasets" / name
        if not (path / MANIFEST).is_file():
            make(path, _RunReporter(self, f"dataset {name}"))
        return path

    def pretrained(self, name: str, options, evaluate_on: Optional[tuple[Path, str]] = None) -> dict:
        """Runs ``pretrain`` with ``options`` (PretrainOptions) into ``STUDY/pretrain/NAME`` unless
        done. Returns ``{"model": path, "test": metrics of the model as pretrained, or None, "seconds": s}``."""
        folder = self.root / "pretrain" / name

        def work() -> dict:
            self._train(options, folder, f"pretrain {name}")
            result: dict[str, Any] = {"name": name, "model": str(folder / "model.pt"), "command": _command(options)}
            if evaluate_on is not None:
                result["test"] = self._evaluate(folder, *evaluate_on, f"pretrain {name}")
            return result

        return self._unit(folder / PRETRAINED_FILE, f"pretrain {name}", work)

    def finetuned(self, name: str, options, test: Path, split: str, fields: dict) -> dict:
        """Runs ``finetune`` with ``options`` (FinetuneOptions) into ``STUDY/runs/NAME`` and evaluates its best model
        on ``split`` of ``test``, unless done. Returns the result row: ``fields``, test mIoU,
        overall accuracy, per-class IoU, epochs, run folder and seconds."""
        folder = self.root / "runs" / name

        def work() -> dict:
            outputs = self._train(options, folder, name)
            metrics = self._evaluate(folder, test, split, name)
            return {**fields, "miou": metrics["miou"], "overall_accuracy": metrics["overall_accuracy"],
                    "per_class_iou": {c["name"]: c["iou"] for c in metrics["per_class"]},
                    "epochs": outputs.get("epochs"), "run": str(folder), "command": _command(options)}

        return self._unit(folder / RESULT_FILE, name, work)

    def _unit(self, result_path: Path, name: str, work: Callable[[], dict]) -> dict:
        if result_path.is_file():
            try:
                saved = json.loads(result_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):  # a killed copy or an editor: the unit runs again
                saved = None
            if isinstance(saved, dict):
                self.skipped += 1
                self.done += 1
                self.reporter.info(f"skip {name}: done ({result_path})")
                self.reporter.progress("study", self.done, self.total, run=name, skipped=True)
                return saved
            self.reporter.warning(f"{result_path} is damaged (not a JSON object); running {name} again")
            result_path.unlink()
        self.reporter.progress("study", self.done, self.total, run=name)
        started = time.monotonic()
        result = work()
        result["seconds"] = round(time.monotonic() - started, 2)
        write_json(result_path, result)
        self.ran += 1
        self.done += 1
        self.reporter.progress("study", self.done, self.total, run=name)
        return result

    def _train(self, options, folder: Path, name: str) -> dict:
        import dataclasses

        resume = (folder / "last.pt").is_file()
        if resume:
            self.reporter.info(f"{name}: resuming from {folder / 'last.pt'}")
        return self.command(dataclasses.replace(options, out=str(folder), resume=resume, overwrite=not resume), name)

    def _evaluate(self, folder: Path, test: Path, split: str, name: str) -> dict:
        from ..spec.commands import EvaluateOptions

        return self.command(EvaluateOptions(model=str(folder / "model.pt"), data=str(test), split=split,
                                            out=str(folder / "test_metrics.json")), name)

    def command(self, options, name: str) -> dict:
        """The command of ``options`` in this process, through its own ``run`` (cli.run_options)."""
        from ..cli import run_options

        return run_options(options, _RunReporter(self, name))

    def outputs(self, **files: Path) -> dict:
        return {**{key: str(path) for key, path in files.items()}, "runs": self.total, "ran": self.ran,
                "skipped": self.skipped}


def worth_resuming(path: Path) -> bool:
    """A failed study is kept when it holds something to resume (a dataset, a run); one that
    failed before (a full disk at its first file) is removed, leaving nothing behind."""
    for name in ("datasets", "pretrain", "runs"):
        folder = path / name
        with contextlib.suppress(OSError):
            if folder.is_dir() and any(folder.iterdir()):
                return True
    return False


def _check_same(saved: dict, kind: str, settings: dict, root: Path) -> None:
    if saved.get("kind") != kind:
        raise UserError(f"{root} holds a {saved.get('kind')} study, not {kind}; choose another --out")
    defaults = asdict(TrainingSettings())  # settings added since the study was started
    old = {**{key: value for key, value in defaults.items() if key in settings}, **saved.get("settings", {})}
    for key in DATASET_KEYS:
        digest = f"{key}_sha256"
        if old.get(digest) and settings.get(digest) and old[digest] != settings[digest]:
            raise UserError(f"the --{key} dataset {settings.get(key)} changed since {root} was started (its manifest "
                            "differs), so the study's results are not its; rerun with the same dataset, choose another "
                            "--out, or pass --overwrite")
    changed = [key for key in sorted(set(old) | set(settings)) if old.get(key) != settings.get(key)
               and not (key.endswith("_sha256") and key not in old)]  # studies started before the checksums
    if changed:
        key = changed[0]
        raise UserError(f"{root} was run with other settings ({key}: {old.get(key)} there, {settings.get(key)} now); "
                        "rerun with the same options to resume it, choose another --out, or pass --overwrite")

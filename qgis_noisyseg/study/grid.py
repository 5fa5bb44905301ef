"""A study's runs, resumable: what they share (``TrainingSettings``), where they live, and
which are done (``Study``).

Layout of a study folder::

    STUDY/study.json                    kind and settings; a rerun must use the same
    STUDY/datasets/NAME/                derived datasets (corrupted, remapped), written atomically
    STUDY/pretrain/NAME/pretrained.json a pretraining run, done
    STUDY/runs/NAME/result.json         a fine-tuning run, done, with its test metrics

A run whose result file is missing is run again: from its ``last.pt`` with ``--resume`` when a
cancelled attempt left one, otherwise from the start.
"""

from __future__ import annotations

import contextlib

import csv
import functools
import io
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence

from ..core.atomic import atomic_file, write_json
from ..core.errors import UserError
from ..core.progress import Reporter

STUDY_FILE = "study.json"
RESULT_FILE = "result.json"
PRETRAINED_FILE = "pretrained.json"
ALL = "all"


@dataclass
class TrainingSettings:
    """The options every pretraining and fine-tuning run of a study shares."""

    epochs: int = 30
    pretrain_epochs: int = 20
    simclr_epochs: Optional[int] = None
    encoder: str = "resnet18"
    base_width: int = 64
    batch_size: int = 8
    lr: float = 1e-3
    pretrain_lr: float = 1e-3
    patience: Optional[int] = None
    pretrain_label_smoothing: float = 0.0
    pretrain_loss: str = "ce"
    device: str = "auto"
    min_steps: Optional[int] = None
    class_weights: bool = False
    tiles_with: Optional[str] = None
    encoder_weights: Optional[str] = None  # --encoder-weights of pretraining and of the scratch runs
    rgb_bands: Optional[str] = None

    def finetune_epochs(self, tiles: int) -> int:
        """``epochs``, or more when K tiles give fewer than ``min_steps`` optimizer steps in
        that many epochs (with K=2 and batch 8, 60 epochs are 60 steps)."""
        if not self.min_steps:
            return self.epochs
        return max(self.epochs, math.ceil(self.min_steps / math.ceil(tiles / self.batch_size)))

    def check(self) -> None:
        for name in ("epochs", "pretrain_epochs", "simclr_epochs"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise UserError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
        for name in ("base_width", "batch_size"):
            if getattr(self, name) < 1:
                raise UserError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        for name in ("lr", "pretrain_lr"):
            if not getattr(self, name) > 0:
                raise UserError(f"--{name.replace('_', '-')} must be positive, got {getattr(self, name)}")
        if not 0.0 <= self.pretrain_label_smoothing < 1.0:
            raise UserError(f"--pretrain-label-smoothing must be in [0, 1), got {self.pretrain_label_smoothing}")
        if self.patience is not None and self.patience < 1:
            raise UserError(f"--patience must be at least 1, got {self.patience}")
        if self.min_steps is not None and self.min_steps < 1:
            raise UserError(f"--min-steps must be at least 1, got {self.min_steps}")
        if self.rgb_bands and not self.encoder_weights:
            raise UserError("--rgb-bands says which bands the weights' red, green and blue kernels go to; pass it with "
                            "--encoder-weights")
        if self.encoder_weights and self.encoder_weights != "imagenet" and not Path(self.encoder_weights).is_file():
            raise UserError(f"--encoder-weights {self.encoder_weights} is not a file; give a .pth state dict, "
                            "imagenet or none")

    def pretrain_argv(self, data: Path, method: str, decoder: str = "unet") -> list[str]:
        argv = ["pretrain", "--data", data, "--method", method, "--encoder", self.encoder, "--decoder", decoder,
                "--base-width", self.base_width, "--epochs", self.pretrain_epochs, "--batch-size", self.batch_size,
                "--lr", self.pretrain_lr, "--label-smoothing", self.pretrain_label_smoothing, "--loss", self.pretrain_loss,
                "--device", self.device, "--seed", 0]
        if self.simclr_epochs is not None:
            argv += ["--simclr-epochs", self.simclr_epochs]
        return [str(a) for a in argv + self._shared_flags() + self._weights_flags()]

    def finetune_argv(self, data: Path, init: Optional[Path], k: int | str, seed: int, tiles: int,
                      decoder: Optional[str] = None, transfer: str = "auto", freeze: str = "none") -> list[str]:
        argv = ["finetune", "--data", data, "--init", init or "none", "--encoder", self.encoder,
                "--base-width", self.base_width, "--epochs", self.finetune_epochs(tiles), "--batch-size", self.batch_size,
                "--lr", self.lr, "--transfer", transfer, "--freeze", freeze, "--device", self.device, "--seed", seed]
        if k != ALL:
            argv += ["--max-tiles", k] + (["--tiles-with", self.tiles_with] if self.tiles_with else [])
        if decoder:
            argv += ["--decoder", decoder]
        return [str(a) for a in argv + self._shared_flags() + (self._weights_flags() if init is None else [])]

    def _weights_flags(self) -> list:
        """A run that starts from a pretrained model brings its own encoder: the weights go to the
        pretraining runs and to the runs from scratch, which they then start."""
        return (["--encoder-weights", self.encoder_weights] if self.encoder_weights else []) + \
            (["--rgb-bands", self.rgb_bands] if self.encoder_weights and self.rgb_bands else [])

    def _shared_flags(self) -> list:
        return (["--patience", self.patience] if self.patience is not None else []) + \
            (["--class-weights"] if self.class_weights else [])


def drawable_tiles(clean_data, settings: TrainingSettings, option: str = "--clean") -> tuple[int, str]:
    """How many train tiles of ``clean_data`` K tiles are drawn from, and what they are (for
    errors): all of them, or with ``--tiles-with`` those whose labels contain that class."""
    from ..core.dataset import tiles_containing

    tiles = clean_data.split("train")
    if not settings.tiles_with:
        return len(tiles), f"train tiles of {option} {clean_data.root}"
    class_id = clean_data.class_named(settings.tiles_with, "--tiles-with")
    return len(tiles_containing(tiles, class_id)), f"train tiles with {settings.tiles_with} of {option} {clean_data.root}"


@dataclass(frozen=True)
class Metric:
    """What a study summarises: ``miou`` (default) or ``iou:CLASS``, one class's IoU (for a
    building footprint task, the building IoU says more than a mean dominated by background)."""

    name: str = "miou"

    @classmethod
    def parse(cls, text: Optional[str], dataset) -> "Metric":
        text = (text or "miou").strip()
        if text == "miou":
            return cls()
        names = [c["name"] for c in dataset.manifest["classes"]]
        kind, _, class_name = text.partition(":")
        if kind != "iou" or class_name not in names:
            raise UserError(f"--metric takes miou or iou:CLASS with a class of {dataset.root} "
                            f"({', '.join(names)}); got {text!r}")
        return cls(text)

    @property
    def label(self) -> str:
        return "mIoU" if self.name == "miou" else f"{self.name.partition(':')[2]} IoU"

    def of(self, result: dict) -> float:
        """The value in a result row (``per_class_iou`` dict) or in evaluate's metrics
        (``per_class`` list); NaN when the class is in neither reference nor prediction."""
        if self.name == "miou":
            value = result["miou"]
        else:
            class_name = self.name.partition(":")[2]
            per_class = result.get("per_class_iou") or {c["name"]: c["iou"] for c in result.get("per_class", [])}
            value = per_class.get(class_name)
        return math.nan if value is None else float(value)


def parse_ks(text: str | Sequence) -> list[int | str]:
    """``"2,4,8,all"`` -> ``[2, 4, 8, "all"]``: distinct, in the order given."""
    items = [s.strip() for s in text.split(",")] if isinstance(text, str) else [str(s) for s in text]
    ks: list[int | str] = []
    for item in filter(None, items):
        if item.lower() == ALL:
            ks.append(ALL)
            continue
        try:
            value = int(item)
        except ValueError:
            raise UserError(f"--k takes tile counts and 'all', such as 2,4,8,all; got {item!r}") from None
        if value < 1:
            raise UserError(f"--k values must be at least 1, got {value}")
        ks.append(value)
    if not ks:
        raise UserError("--k is empty; give tile counts such as 2,4,8,all")
    return list(dict.fromkeys(ks))


def parse_seeds(text: str | int | Sequence) -> list[int]:
    """``"3"`` (or 3) -> seeds 0, 1, 2; ``"0,5"`` -> seeds 0 and 5."""
    if isinstance(text, int):
        text = str(text)
    if not isinstance(text, str):
        return list(dict.fromkeys(int(s) for s in text))
    try:
        if "," not in text:
            count = int(text)
            if count < 1:
                raise UserError(f"--seeds must be at least 1, got {count}")
            return list(range(count))
        return list(dict.fromkeys(int(s) for s in text.split(",") if s.strip()))
    except ValueError:
        raise UserError(f"--seeds takes a count (3: seeds 0, 1, 2) or a list (0,5); got {text!r}") from None


def parse_choices(text: str | Sequence, choices: Sequence[str], option: str) -> list[str]:
    items = [s.strip() for s in text.split(",")] if isinstance(text, str) else list(text)
    items = [s for s in items if s]
    unknown = [s for s in items if s not in choices]
    if unknown:
        raise UserError(f"{option}: unknown {unknown[0]!r}; choose among {', '.join(choices)}")
    if not items:
        raise UserError(f"{option} is empty; choose among {', '.join(choices)}")
    return list(dict.fromkeys(items))


def parse_floats(text: str | Sequence, option: str, low: float = 0.0, high: float = 1.0) -> list[float]:
    items = [s.strip() for s in text.split(",")] if isinstance(text, str) else list(text)
    values = []
    for item in items:
        if item == "":
            continue
        try:
            value = float(item)
        except ValueError:
            raise UserError(f"{option} takes numbers such as 0,0.1,0.2; got {item!r}") from None
        if not (math.isfinite(value) and low <= value <= high):
            raise UserError(f"{option} values must be between {low:g} and {high:g}, got {value:g}")
        values.append(value)
    if not values:
        raise UserError(f"{option} is empty")
    return list(dict.fromkeys(values))


def slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-." else "_" for c in str(text))


@functools.lru_cache(maxsize=1)
def _parser():
    from ..cli import build_parser

    return build_parser()


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
        from ..core.outputs import foreign_entries, plan_outputs

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
        if not (path / "manifest.json").is_file():
            make(path, _RunReporter(self, f"dataset {name}"))
        return path

    def pretrained(self, name: str, argv: Sequence[str], evaluate_on: Optional[tuple[Path, str]] = None) -> dict:
        """Runs ``noisyseg pretrain ARGV`` into ``STUDY/pretrain/NAME`` unless done. Returns
        ``{"model": path, "test": metrics of the model as pretrained, or None, "seconds": s}``."""
        folder = self.root / "pretrain" / name

        def work() -> dict:
            self._train(argv, folder, f"pretrain {name}")
            result: dict[str, Any] = {"name": name, "model": str(folder / "model.pt"), "command": ["noisyseg", *argv]}
            if evaluate_on is not None:
                result["test"] = self._evaluate(folder, *evaluate_on, f"pretrain {name}")
            return result

        return self._unit(folder / PRETRAINED_FILE, f"pretrain {name}", work)

    def finetuned(self, name: str, argv: Sequence[str], test: Path, split: str, fields: dict) -> dict:
        """Runs ``noisyseg finetune ARGV`` into ``STUDY/runs/NAME`` and evaluates its best model
        on ``split`` of ``test``, unless done. Returns the result row: ``fields``, test mIoU,
        overall accuracy, per-class IoU, epochs, run folder and seconds."""
        folder = self.root / "runs" / name

        def work() -> dict:
            outputs = self._train(argv, folder, name)
            metrics = self._evaluate(folder, test, split, name)
            return {**fields, "miou": metrics["miou"], "overall_accuracy": metrics["overall_accuracy"],
                    "per_class_iou": {c["name"]: c["iou"] for c in metrics["per_class"]},
                    "epochs": outputs.get("epochs"), "run": str(folder), "command": ["noisyseg", *argv]}

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

    def _train(self, argv: Sequence[str], folder: Path, name: str) -> dict:
        resume = (folder / "last.pt").is_file()
        if resume:
            self.reporter.info(f"{name}: resuming from {folder / 'last.pt'}")
        return self.command([*argv, "--out", str(folder), "--resume" if resume else "--overwrite"], name)

    def _evaluate(self, folder: Path, test: Path, split: str, name: str) -> dict:
        return self.command(["evaluate", "--model", str(folder / "model.pt"), "--data", str(test), "--split", split,
                             "--out", str(folder / "test_metrics.json")], name)

    def command(self, argv: Sequence[str], name: str) -> dict:
        """``noisyseg ARGV`` in this process, through the command's own ``run``."""
        from ..cli import parse_command_line

        args = parse_command_line(argv, _parser())
        return args._module.run(args, _RunReporter(self, name))

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


DATASET_KEYS = ("noisy", "clean", "test")


def study_settings(settings: TrainingSettings, **extra: Any) -> dict:
    """The settings recorded in study.json: JSON-plain, paths as resolved strings, and the
    checksum of each dataset's manifest (``clean_sha256``, ...): a rerun resumes only on the
    same datasets, not on others swapped in at the same paths."""
    from ..core.imagery import sha256_of

    record = asdict(settings)
    for key, value in extra.items():
        record[key] = str(Path(value).resolve()) if isinstance(value, Path) else value
        if key in DATASET_KEYS and value is not None and (Path(value) / "manifest.json").is_file():
            record[f"{key}_sha256"] = sha256_of([Path(value) / "manifest.json"])
    return json.loads(json.dumps(record))


def write_csv(path: Path, rows: Iterable[dict]) -> None:
    """One row per run; nested per-class IoU become ``iou_<class>`` columns. Atomic."""
    flat = [flatten_row(row) for row in rows]
    columns = list(dict.fromkeys(key for row in flat for key in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(flat)
    with atomic_file(path) as tmp:
        tmp.write_text(buffer.getvalue(), encoding="utf-8")


def flatten_row(row: dict) -> dict:
    flat = {}
    for key, value in row.items():
        if key == "command":
            continue
        if key == "per_class_iou":
            flat.update({f"iou_{slug(name)}": _round(iou) for name, iou in value.items()})
        else:
            flat[key] = _round(value)
    return flat


def _round(value: Any) -> Any:
    return round(value, 5) if isinstance(value, float) else ("" if value is None else value)


def seed_stats(values: Sequence[float]) -> dict:
    """Mean, sample standard deviation, min, max and count of a run's scores over its seeds."""
    values = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not values:
        return {"mean": math.nan, "std": math.nan, "min": math.nan, "max": math.nan, "n": 0}
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return {"mean": mean, "std": std, "min": min(values), "max": max(values), "n": len(values)}


def check_dataset(path: Path, option: str, split: Optional[str] = None):
    """The dataset at ``path`` (a UserError naming ``option`` when it is not one, or lacks
    ``split`` tiles)."""
    from ..core.dataset import Dataset

    if not Path(path).is_dir():
        raise UserError(f"{option} {path} does not exist; give a dataset folder made by `noisyseg export`")
    dataset = Dataset(path)
    if split is not None and not dataset.split(split):
        raise UserError(f"{option} {path} has no {split} tiles; export it with a split that has some")
    dataset.check_tiles()  # a damaged tile is refused now, not after hours of runs
    return dataset


def same_classes(a, b) -> bool:
    return [(c["id"], c["name"]) for c in a.manifest["classes"]] == [(c["id"], c["name"]) for c in b.manifest["classes"]]


def check_compatible(reference, other, reference_option: str, other_option: str) -> None:
    if not same_classes(reference, other):
        raise UserError(f"{other_option} {other.root} has other classes than {reference_option} {reference.root}; "
                        "export both with the same --classes")
    if reference.in_channels != other.in_channels:
        raise UserError(f"{other_option} {other.root} has {other.in_channels} bands but {reference_option} "
                        f"{reference.root} has {reference.in_channels}; export both from the same imagery")

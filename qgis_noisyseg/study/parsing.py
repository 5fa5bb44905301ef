"""The study command's inputs, parsed and checked: lists of K, seeds, choices and rates, the
metric, and the datasets (one line naming the option when one is wrong)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from ..core.errors import UserError
from .settings import ALL


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

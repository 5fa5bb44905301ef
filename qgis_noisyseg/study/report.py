"""Markdown pieces of the studies' report.md."""

from __future__ import annotations

import math
import shlex
from pathlib import Path
from typing import Any, Optional, Sequence

from ..core.atomic import atomic_file


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(str(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def score(stats: Optional[dict]) -> str:
    """``0.255 (0.251-0.259)``: mean and min-max over seeds; one value for one seed."""
    if not stats or stats["n"] == 0 or not math.isfinite(stats["mean"]):
        return "-"
    if stats["n"] == 1:
        return f"{stats['mean']:.3f}"
    return f"{stats['mean']:.3f} ({stats['min']:.3f}-{stats['max']:.3f})"


def number(value: Optional[float], digits: int = 3) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def command_line(command: Optional[Sequence[str]]) -> str:
    return " ".join(shlex.quote(str(a)) for a in command) if command else "(called from Python)"


def settings_lines(settings: dict) -> str:
    return "\n".join(f"- {key.replace('_', ' ')}: {value}" for key, value in settings.items())


def write_report(path: Path, sections: Sequence[str]) -> None:
    with atomic_file(path) as tmp:
        tmp.write_text("\n\n".join(s.strip("\n") for s in sections if s) + "\n", encoding="utf-8")


def seconds_text(rows: Sequence[dict], pretrained: Sequence[dict] = ()) -> str:
    finetune = sum(r.get("seconds", 0) for r in rows)
    pretrain = sum(p.get("seconds", 0) for p in pretrained)
    return (f"Compute: {len(pretrained)} pretraining runs, {pretrain / 60:.1f} min; {len(rows)} fine-tuning runs "
            f"with evaluation, {finetune / 60:.1f} min (each run's own wall time, as first run; a resumed run "
            "counts its last attempt).")

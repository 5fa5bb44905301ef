"""The tables of a study: results.csv (one row per run) and the statistics over seeds (also
used by the demo's report)."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any, Iterable, Sequence

from ..core.atomic import atomic_file


def slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-." else "_" for c in str(text))


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


def seed_stats(values: Sequence[float], missing: Any = math.nan) -> dict:
    """Mean, sample standard deviation, min, max and count of a run's scores over its seeds
    (the studies' tables and the demo's report). With no finite score every statistic is
    ``missing``: NaN for the studies' arithmetic, None for the demo's summary.json."""
    values = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not values:
        return {"mean": missing, "std": missing, "min": missing, "max": missing, "n": 0}
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return {"mean": mean, "std": std, "min": min(values), "max": max(values), "n": len(values)}

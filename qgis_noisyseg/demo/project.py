"""The demo's QGIS project: the spec that ``qgis_noisyseg.gui.demo_project`` builds it from,
the clean-tiles layer, and the run of that builder in its own process (QGIS never shares a
process with torch), through bridge.BackendProcess."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Sequence

from .scene import FIELD, RGB_BANDS, rel

PROJECT_TIMEOUT_S = 300
QGIS_MISSING_EXIT = 3


def write_tiles_layer(path: Path, roles: Sequence[tuple[dict, str]], crs_wkt: str) -> None:
    """The footprints of the clean tiles the demo used, with their role, as a GeoPackage."""
    import numpy as np
    import pyogrio
    import shapely
    from rasterio.transform import Affine

    from ..core.atomic import atomic_file

    footprints = []
    for tile, _ in roles:
        w = tile["window"]
        transform = Affine(*tile["transform"][:6])
        x0, y0 = transform * (0, 0)
        x1, y1 = transform * (w["width"], w["height"])
        footprints.append(shapely.box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)))
    fields = {"tile": [t["id"] for t, _ in roles], "split": [t["split"] for t, _ in roles],
              "role": [role for _, role in roles]}
    with atomic_file(path) as tmp:
        tmp.unlink()
        pyogrio.raw.write(tmp, np.asarray(shapely.to_wkb(footprints), dtype=object),
                          [np.asarray(v, dtype=object) for v in fields.values()], list(fields), layer="clean_tiles",
                          driver="GPKG", geometry_type="Polygon", crs=crs_wkt,
                          dataset_options={"VERSION": "1.2"})  # QGIS 3.22's GDAL 3.6 warns on 1.4


def write_project_spec(out: Path, inputs: dict, classes: list, headline_k: int, tile: int) -> None:
    """What ``qgis_noisyseg.gui.demo_project`` builds the project from; paths relative to ``out``."""
    from ..core.atomic import write_json

    write_json(out / "project_spec.json", {
        "title": f"noisyseg demo: Denmark, Sentinel-2, fine-tuned on {headline_k} clean tiles",
        "project": "demo.qgz",
        "render": "figures/demo_project.png",
        "classes": classes,
        "field": FIELD,
        "image": {"path": rel(inputs["image"], out), "name": "Sentinel-2 image (bands B, G, R shown as RGB)",
                  "rgb_bands": list(RGB_BANDS)},
        "noisy_labels": {"path": rel(inputs["old_map"], out), "name": "noisy labels: the old, incomplete map"},
        "clean_labels": {"path": rel(inputs["map_2016"], out), "name": "clean labels: the 2016 map"},
        "clean_tiles": {"path": "clean_tiles.gpkg", "layer": "clean_tiles",
                        "name": f"clean tiles used ({tile} px): fine-tuning, validation, test"},
        "prediction": {"path": "prediction.tif", "name": f"prediction (fine-tuned on {headline_k} clean tiles)"},
        "confidence": {"path": "confidence.tif", "name": "confidence (largest class probability, %)"},
        "disagreement": {"path": "disagreement.tif", "name": "disagrees with the old map"},
    })


def build_project(out: Path, reporter) -> dict:
    """Runs ``python -m qgis_noisyseg.gui.demo_project OUT`` (QGIS never shares a process with
    torch) through bridge.BackendProcess. Returns ``{"status": "written"|"skipped"|"failed", ...}``."""
    from ..bridge.process import BackendProcess, backend_environment

    env = backend_environment({**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")})
    started = time.monotonic()
    lines: list[str] = []

    def stop() -> bool:
        return reporter.cancel.cancelled or time.monotonic() - started > PROJECT_TIMEOUT_S

    process = BackendProcess((), command=[sys.executable, "-m", "qgis_noisyseg.gui.demo_project", str(out)], env=env,
                             on_text=lines.append, is_cancelled=stop, cancel_line=False, cancel_grace_s=10)
    process.run()
    if process.cancel_sent:
        reporter.check_cancel()
        return {"status": "failed", "reason": f"QGIS took more than {PROJECT_TIMEOUT_S} s"}
    last_line = next((line for line in reversed(process.stderr_tail) if line.strip()), "")
    if process.returncode == QGIS_MISSING_EXIT:
        reporter.warning(f"QGIS project skipped: {last_line}")
        return {"status": "skipped", "reason": last_line}
    if process.returncode != 0 or not lines:
        return {"status": "failed", "reason": f"exit code {process.returncode}: {last_line or 'no message'}"}
    result = json.loads(lines[-1])
    return {"status": "written", **result}

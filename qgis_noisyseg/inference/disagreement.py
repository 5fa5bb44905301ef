"""Where the model disagrees with an existing map: there the map is probably out of date.

The map (a vector layer or a classified raster) is burned onto the prediction's grid strip by
strip with the same code as ``noisyseg export``, through the model's class map. Output: uint8,
1 where prediction and map differ, 0 where they agree, 255 where the map says nothing or there
is no prediction. Memory is one strip, whatever the raster's size.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Optional

import numpy as np
import rasterio
from rasterio.windows import Window, bounds as window_bounds, transform as window_transform

from ..core.atomic import atomic_file
from ..core.classes import IGNORE, ClassMap
from ..core.labels import RasterLabels, geometry_report, open_label_source
from ..core.outputs import GEOTIFF_TAG
from ..core.progress import Reporter
from .qml import write_class_qml

AGREE, DISAGREE = 0, 1
STRIP_ROWS = 256
STYLE = [{"id": AGREE, "name": "agrees with the map", "color": "#ffffff", "alpha": 0},
         {"id": DISAGREE, "name": "disagrees with the map", "color": "#e41a1c", "alpha": 255}]


def model_class_map(classes: list[dict]) -> ClassMap:
    """The model's classes with the source values they were trained from. A class without
    values matches its own id, so a raster of class ids (a noisy mask mosaic) works too."""
    entries = [{**cls, "values": cls.get("values") or [str(cls["id"])]} for cls in classes]
    return ClassMap.from_json({"classes": entries}, source="the model's classes")


def check_disagreement_source(labels: str, image_path: "str | os.PathLike", class_map: ClassMap,
                              field: Optional[str], encoding: Optional[str] = None) -> None:
    """Opens the map as ``write_disagreement`` will, so that a missing file, a wrong field or a
    map that misses the image fails before the prediction, not after it."""
    from ..core.imagery import open_raster

    with open_raster(image_path, "image") as image:
        crs, bounds = image.crs, tuple(image.bounds)
    source = open_label_source(labels, crs, bounds, field=field, encoding=encoding, all_touched=False)
    try:
        source.bind(class_map)
    finally:
        if isinstance(source, RasterLabels):
            source.close()


def write_disagreement(prediction_path: "str | os.PathLike", labels: str, out_path: "str | os.PathLike", *,
                       class_map: ClassMap, field: Optional[str] = None, encoding: Optional[str] = None,
                       all_touched: bool = False, reporter: Optional[Reporter] = None) -> dict:
    out_path = Path(out_path)
    labelled = disagreeing = 0
    with contextlib.ExitStack() as stack:
        prediction = stack.enter_context(rasterio.open(prediction_path))
        source = open_label_source(labels, prediction.crs, tuple(prediction.bounds), field=field,
                                   encoding=encoding, all_touched=all_touched)
        if isinstance(source, RasterLabels):
            stack.callback(source.close)
        source.bind(class_map)
        profile = {"driver": "GTiff", "width": prediction.width, "height": prediction.height, "count": 1,
                   "dtype": "uint8", "nodata": IGNORE, "crs": prediction.crs, "transform": prediction.transform,
                   "tiled": True, "blockxsize": 256, "blockysize": 256, "compress": "deflate"}
        tmp_raster = stack.enter_context(atomic_file(out_path))
        tmp_style = stack.enter_context(atomic_file(out_path.with_suffix(".qml")))
        strips = range(0, prediction.height, STRIP_ROWS)
        with rasterio.open(tmp_raster, "w", **profile) as dst:
            for i, row in enumerate(strips):
                window = Window(0, row, prediction.width, min(STRIP_ROWS, prediction.height - row))
                predicted = prediction.read(1, window=window)
                mapped = np.full(predicted.shape, IGNORE, dtype=np.uint8)
                source.burn(mapped, window_transform(window, prediction.transform),
                            window_bounds(window, prediction.transform))
                known = (mapped != IGNORE) & (predicted != IGNORE)
                result = np.full(predicted.shape, IGNORE, dtype=np.uint8)
                result[known] = np.where(predicted[known] == mapped[known], AGREE, DISAGREE)
                labelled += int(known.sum())
                disagreeing += int((result == DISAGREE).sum())
                dst.write(result, 1, window=window)
                if reporter is not None:
                    reporter.progress("disagreement", i + 1, len(strips))
            dst.write_colormap(1, {AGREE: (255, 255, 255, 0), DISAGREE: (228, 26, 28, 255), IGNORE: (0, 0, 0, 0)})
            dst.update_tags(**{GEOTIFF_TAG: "disagreement"})
        write_class_qml(tmp_style, STYLE)
    geometry = geometry_report([source])
    if geometry and reporter is not None:
        reporter.warning(f"{source.name}: {geometry}")
    fraction = disagreeing / labelled if labelled else None
    return {"disagreement": str(out_path), "disagreement_style": str(out_path.with_suffix(".qml")),
            "disagreement_fraction": None if fraction is None else round(fraction, 4),
            "disagreement_pixels_compared": labelled,
            "disagreement_geometries_repaired": len(getattr(source, "repaired_fids", ())),
            "disagreement_geometries_skipped": len(getattr(source, "skipped_fids", ()))}

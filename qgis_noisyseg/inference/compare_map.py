"""The map-update report: for every polygon of an old map, what the prediction says inside it.

For each feature of the old map (read in batches, reprojected to the prediction's CRS), the
pixels whose centres lie inside it (or, for a polygon smaller than a pixel, the pixels it
touches) are read from the class raster and the confidence raster in the feature's window
only. Out come: the old class (the feature's value through the model's class map, as in
``predict --disagreement-with``), the predicted majority class and its share of the predicted
pixels, the mean confidence (0..1) over them, and ``changed`` (1 when the majority class is not
the old class; NULL where there is no old class or no prediction). ``change_score`` is
share × confidence for a change and 0 otherwise; the layer is written sorted by it, highest
first, so confident changes come first. Features keep the old map's geometry and CRS, and
``source_fid`` names the feature in the old map.

Memory: one batch of features and one feature's window of the rasters, plus a few numbers per
feature for the sort.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from pathlib import Path
from typing import Optional

import numpy as np
import pyogrio
import rasterio
import shapely
from rasterio.features import geometry_mask
from rasterio.windows import Window, from_bounds

from ..core.atomic import atomic_file
from ..core.classes import IGNORE, ClassMap
from ..core.errors import UserError
from ..core.labels import VectorLabels, is_vector, parse_label_arg
from ..core.progress import Reporter
from .disagreement import model_class_map
from .vector_style import categorized_qml, write_layer_style
from .vectorize import GDAL_CACHE_MB, _require_classes

LAYER = "map_changes"
BATCH = 2000
FIELDS = ["source_fid", "old_value", "old_class_id", "old_class", "predicted_class_id", "predicted_class",
          "share", "confidence", "predicted_pixels", "changed", "change_score"]
STYLE = [{"id": 1, "name": "changed", "color": "#e41a1c", "alpha": 110, "outline": "#e41a1c", "width": 0.6},
         {"id": 0, "name": "unchanged", "color": "#ffffff", "alpha": 0, "outline": "#808080"}]


def check_old_map(labels: str, prediction_path, field: Optional[str]) -> None:
    """Opens the old map as ``compare_map`` will, so that a wrong file or field fails first."""
    path, _ = parse_label_arg(labels)
    if not is_vector(path):
        raise UserError(f"--labels {labels}: expected a polygon layer (GeoPackage, Shapefile, ...)")
    with rasterio.open(prediction_path) as src:
        classes = _require_classes(src, prediction_path)
        VectorLabels(path, parse_label_arg(labels)[1], field, None, src.crs, tuple(src.bounds), False)
    if field is None and len(classes) > 1:
        raise UserError(f"--labels {labels}: give --field, the old map's class field")


def compare_map(prediction_path: "str | os.PathLike", labels: str, out_path: "str | os.PathLike", *,
                field: Optional[str], classes: Optional[list[dict]] = None,
                confidence_path: "Optional[str | os.PathLike]" = None, reporter: Optional[Reporter] = None) -> dict:
    """Writes the report layer ``map_changes`` into the GeoPackage ``out_path``. ``classes``
    (with their source ``values``, as a model carries them) map the old map's field values to
    class ids; without them, a value matches a class by its name or id."""
    out_path = Path(out_path)
    with contextlib.ExitStack() as stack:
        stack.enter_context(rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB * 2 ** 20))
        prediction = stack.enter_context(rasterio.open(prediction_path))
        raster_classes = _require_classes(prediction, prediction_path)
        names = {cls["id"]: cls["name"] for cls in raster_classes}
        class_map = _class_map(classes or raster_classes)
        confidence = scale = None
        if confidence_path is not None:
            confidence = stack.enter_context(rasterio.open(confidence_path))
            if (confidence.width, confidence.height) != (prediction.width, prediction.height):
                raise UserError(f"--confidence {confidence_path} is not on the grid of --prediction {prediction_path}")
            scale = 0.01 if confidence.dtypes[0] == "uint8" else 1.0
        path, layer = parse_label_arg(labels)
        old = VectorLabels(path, layer, field, None, prediction.crs, tuple(prediction.bounds), False)
        raw_values = dict(zip(old._fids.tolist(), old._raw_values))
        old.bind(class_map)
        old_class_of = dict(zip(old._fids.tolist(), old.class_of_fid.tolist()))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            info = pyogrio.read_info(old.path, layer=old.layer)
        records = []  # (score, changed, fid, attributes)
        total = old.feature_count
        for start in range(0, total, BATCH):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _, fids, wkb, _ = pyogrio.raw.read(old.path, columns=[], skip_features=start, max_features=BATCH,
                                                   return_fids=True, force_2d=True, **old._read_kwargs())
            geometries = shapely.from_wkb(np.asarray(wkb, dtype=object))
            usable = ~(shapely.is_missing(geometries) | shapely.is_empty(geometries))
            invalid = usable & ~shapely.is_valid(np.where(usable, geometries, None))
            geometries[invalid] = shapely.make_valid(geometries[invalid])
            if old.crs != prediction.crs:
                geometries[usable] = shapely.transform(geometries[usable], old._to_image_crs)
            for fid, geometry, ok in zip(np.asarray(fids).tolist(), geometries, usable):
                counts, conf_sum = _inside(prediction, confidence, geometry) if ok else (None, 0.0)
                old_id = old_class_of.get(fid, IGNORE)
                records.append(_record(fid, raw_values.get(fid), old_id, counts, conf_sum, scale, names))
            if reporter is not None:
                reporter.progress("compare-map", min(start + BATCH, total), total)
        records.sort(key=lambda r: (-(r["change_score"] or 0.0), -(r["changed"] if r["changed"] is not None else -1),
                                    r["source_fid"]))
        tmp = stack.enter_context(atomic_file(out_path))
        tmp.unlink()
        _write_sorted(old, records, tmp, info["crs"])
        write_layer_style(tmp, LAYER, categorized_qml("changed", STYLE), f"{LAYER}: changed polygons in red")
    changed = [r for r in records if r["changed"] == 1]
    compared = [r for r in records if r["changed"] is not None]
    return {"map_changes": str(out_path), "map_changes_layer": LAYER, "features": len(records),
            "compared": len(compared), "changed": len(changed),
            "first_changes": [r["source_fid"] for r in changed[:10]]}


def _class_map(classes: list[dict]) -> ClassMap:
    """The model's class map; for a raster's classes (no source values), each class's name and id."""
    if any(cls.get("values") for cls in classes):
        return model_class_map(classes)
    entries = [{**cls, "values": [cls["name"], str(cls["id"])]} for cls in classes]
    return ClassMap.from_json({"classes": entries}, source="the prediction's classes")


def _inside(prediction, confidence, geometry) -> tuple[Optional[np.ndarray], float]:
    """Class counts (index = class id, nodata left out) and the confidence sum inside ``geometry``."""
    xmin, ymin, xmax, ymax = geometry.bounds
    exact = from_bounds(xmin, ymin, xmax, ymax, transform=prediction.transform)
    col0, row0 = max(0, int(np.floor(exact.col_off))), max(0, int(np.floor(exact.row_off)))
    col1 = min(prediction.width, int(np.ceil(exact.col_off + exact.width)))
    row1 = min(prediction.height, int(np.ceil(exact.row_off + exact.height)))
    if col1 <= col0 or row1 <= row0:
        return None, 0.0
    window = Window(col0, row0, col1 - col0, row1 - row0)
    transform = prediction.window_transform(window)
    shape = (window.height, window.width)
    inside = geometry_mask([geometry], out_shape=shape, transform=transform, invert=True)
    if not inside.any():  # smaller than a pixel: the pixels it touches
        inside = geometry_mask([geometry], out_shape=shape, transform=transform, invert=True, all_touched=True)
    classes = prediction.read(1, window=window)
    valid = inside & (classes != IGNORE)
    if not valid.any():
        return None, 0.0
    counts = np.bincount(classes[valid], minlength=256)
    conf_sum = float(confidence.read(1, window=window)[valid].astype(np.float64).sum()) if confidence is not None else 0.0
    return counts, conf_sum


def _record(fid: int, raw, old_id: int, counts, conf_sum: float, scale, names: dict) -> dict:
    old_known = old_id != IGNORE
    record = {"source_fid": fid, "old_value": None if raw is None else str(raw),
              "old_class_id": old_id if old_known else None, "old_class": names.get(old_id) if old_known else None,
              "predicted_class_id": None, "predicted_class": None, "share": None, "confidence": None,
              "predicted_pixels": 0, "changed": None, "change_score": None}
    if counts is None:
        return record
    total = int(counts.sum())
    majority = int(counts.argmax())
    share = float(counts[majority]) / total
    mean_confidence = conf_sum / total * scale if scale is not None else None
    record.update(predicted_class_id=majority, predicted_class=names.get(majority, str(majority)),
                  share=share, confidence=mean_confidence, predicted_pixels=total)
    if old_known:
        changed = int(majority != old_id)
        record["changed"] = changed
        record["change_score"] = share * (mean_confidence if mean_confidence is not None else 1.0) if changed else 0.0
    return record


def _write_sorted(old: VectorLabels, records: list[dict], path: Path, crs_wkt: str) -> None:
    """The records in their order, with the old map's geometries read back by fid, in batches."""
    from .vectorize import write_rows

    kinds = {"source_fid": np.int64, "old_value": object, "old_class_id": np.int32, "old_class": object,
             "predicted_class_id": np.int32, "predicted_class": object, "share": np.float64,
             "confidence": np.float64, "predicted_pixels": np.int64, "changed": np.int32,
             "change_score": np.float64}
    for start in range(0, len(records), BATCH):
        batch = records[start:start + BATCH]
        wanted = [r["source_fid"] for r in batch]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, fids, wkb, _ = pyogrio.raw.read(old.path, columns=[], fids=wanted, return_fids=True, force_2d=True,
                                               **old._read_kwargs())
        by_fid = dict(zip(np.asarray(fids).tolist(), wkb))
        geometry = np.array([by_fid.get(fid) for fid in wanted], dtype=object)
        field_data, masks = [], []
        for name in FIELDS:
            column = [r[name] for r in batch]
            missing = np.array([v is None for v in column])
            if kinds[name] is not object:
                column = [0 if v is None else v for v in column]
            field_data.append(np.asarray(column, dtype=kinds[name]))
            masks.append(missing)
        write_rows(path, LAYER, geometry, field_data, FIELDS, crs_wkt, append=start > 0, field_mask=masks)

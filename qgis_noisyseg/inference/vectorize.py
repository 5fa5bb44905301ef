"""A class raster as polygons: one GeoPackage layer, styled by class, with mean confidence.

The raster is read in strips of rows. In each strip ``rasterio.features.shapes`` traces the
4-connected regions of one class (pixel edges, in pixel coordinates), and the same polygons
rasterized back give a label image, from which the confidence sum and the pixel count of every
region follow by ``bincount``. A region that reaches the strip's last row may continue below:
it is held, and linked to the regions of the next strip whose first-row pixels of the same
class lie under its own (exact 4-connectivity, from the two rows, not from geometry tests).
A region is final once no part of it touches the current strip's last row; its pieces are then
unioned (they share pixel edges, so the union is exact), holes smaller than the minimum area
are filled, the outline is simplified (Douglas-Peucker, topology preserved, tolerance about a
pixel), and it is dropped if still smaller than the minimum area. Memory is one strip plus the
regions that cross the strip line, whatever the raster's size: a strip holds about 2 Mpx (as
many rows as fit), and a region still growing past 200,000 outline vertices (pixel corners) is
written as it stands and continued as a new polygon, so one huge connected class (a background
that reaches across the whole scene) is cut along strip lines into parts of that size instead of
being held whole. Areas, pixel counts and classes are unchanged by the cut.

Polygons are simplified one by one, so neighbouring polygons can leave slivers of up to the
tolerance between them (as GDAL's polygonize followed by simplify does); pass ``simplify=0``
for the exact pixel outlines.

The output layer ``LAYER`` holds ``class_id``, ``class_name``, ``confidence`` (the mean of the
confidence raster over the polygon's pixels, 0..1, NULL without one), ``pixels`` and ``area``
(map units², of the polygon written). Its style, a categorized renderer with the class colours,
is stored in the GeoPackage's ``layer_styles`` table as the default, so QGIS opens it styled.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

import numpy as np
import pyogrio
import rasterio
import shapely
from affine import Affine
from rasterio.features import rasterize, shapes
from rasterio.windows import Window

from ..core.atomic import atomic_file
from ..core.classes import IGNORE
from ..core.errors import UserError
from ..core.progress import Reporter
from .vector_style import categorized_qml, write_layer_style

LAYER = "classes"
STRIP_PIXELS = 2 ** 21  # a strip is about 2 Mpx: as many rows as fit, so memory does not grow with the width
MIN_STRIP_ROWS = 16
MAX_REGION_VERTICES = 200_000  # a region held across strips is written in parts beyond this outline size
WRITE_BATCH = 2000  # polygons, or
WRITE_BATCH_BYTES = 16 * 2 ** 20  # of WKB, whichever comes first
GDAL_CACHE_MB = 64  # compare-map's windows
MIN_CACHE_MB = 4  # vectorize's strips: see strip_cache_bytes
DEFAULT_MIN_PIXELS = 4
DEFAULT_SIMPLIFY_PIXELS = 1.0
FIELDS = ["class_id", "class_name", "confidence", "pixels", "area"]


@dataclass
class Region:
    """A connected region of one class, possibly in pieces from several strips."""

    class_id: int
    pieces: list = field(default_factory=list)
    confidence_sum: float = 0.0
    pixels: int = 0
    vertices: int = 0

    def absorb(self, other: "Region") -> None:
        self.pieces.extend(other.pieces)
        self.confidence_sum += other.confidence_sum
        self.pixels += other.pixels
        self.vertices += other.vertices


def read_classes(src: rasterio.DatasetReader) -> list[dict]:
    """The classes of a prediction raster: ``CLASS_<id>`` tags, colours from its colour table."""
    tags = src.tags(1)
    try:
        colormap = src.colormap(1)
    except ValueError:
        colormap = {}
    classes = []
    for key, name in tags.items():
        if key.startswith("CLASS_") and key[6:].isdigit():
            class_id = int(key[6:])
            r, g, b = colormap.get(class_id, (128, 128, 128, 255))[:3]
            classes.append({"id": class_id, "name": name, "color": f"#{r:02x}{g:02x}{b:02x}"})
    return sorted(classes, key=lambda cls: cls["id"])


def check_prediction(path: "str | os.PathLike") -> None:
    """The checks of ``vectorize``'s input, run before anything is written."""
    with _open(path, "--prediction") as src:
        _require_classes(src, path)


@contextlib.contextmanager
def _open(path, option: str):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            src = rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise UserError(f"{option} {path}: cannot open the raster ({str(exc).splitlines()[0]})") from None
    with src:
        yield src


def _require_classes(src, path) -> list[dict]:
    if src.count != 1 or src.dtypes[0] != "uint8":
        raise UserError(f"--prediction {path}: expected the class raster of `noisyseg predict` (one uint8 band), "
                        f"found {src.count} band(s) of {src.dtypes[0]}")
    if src.crs is None or src.transform.is_identity:
        raise UserError(f"--prediction {path}: the raster has no georeferencing (CRS and geotransform)")
    classes = read_classes(src)
    if not classes:
        raise UserError(f"--prediction {path}: no class names (CLASS_<id> tags); vectorize the class raster "
                        "that `noisyseg predict --out` wrote")
    return classes


def vectorize(prediction_path: "str | os.PathLike", out_path: "str | os.PathLike", *,
              confidence_path: "Optional[str | os.PathLike]" = None, min_area: Optional[float] = None,
              simplify: Optional[float] = None, strip_rows: Optional[int] = None, aoi=None,
              max_region_vertices: int = MAX_REGION_VERTICES, reporter: Optional[Reporter] = None) -> dict:
    """Writes ``prediction_path`` as polygons into the GeoPackage ``out_path`` (layer ``classes``).
    ``min_area`` (map units²; default 4 pixels) drops polygons and fills holes below it;
    ``simplify`` is the tolerance in map units (default one pixel; 0 keeps pixel outlines).
    ``aoi``, an ``core.aoi.AreaOfInterest``, keeps only the pixels inside it. Returns a summary."""
    out_path = Path(out_path)
    if strip_rows is not None and strip_rows < 2:
        raise UserError(f"strip rows {strip_rows} must be at least 2")
    with contextlib.ExitStack() as stack:
        src = stack.enter_context(_open(prediction_path, "--prediction"))
        strip_rows = strip_rows or max(MIN_STRIP_ROWS, STRIP_PIXELS // max(src.width, 1))
        classes = _require_classes(src, prediction_path)
        names = {cls["id"]: cls["name"] for cls in classes}
        confidence = None
        scale = 1.0
        if confidence_path is not None:
            confidence = stack.enter_context(_open(confidence_path, "--confidence"))
            if (confidence.width, confidence.height) != (src.width, src.height) or \
                    not confidence.transform.almost_equals(src.transform):
                raise UserError(f"--confidence {confidence_path} is not on the grid of --prediction {prediction_path}; "
                                "give the confidence raster written with it")
            scale = 0.01 if confidence.dtypes[0] == "uint8" else 1.0
        # strips are read once: GDAL's block cache (5 % of RAM by default, or a fixed size) would only fill up
        # with blocks already read; it holds the block rows one strip spans, of both rasters
        stack.enter_context(rasterio.Env(GDAL_CACHEMAX=strip_cache_bytes(strip_rows, src, confidence)))
        pixel_area = abs(src.transform.a * src.transform.e - src.transform.b * src.transform.d)
        pixel_size = min(abs(src.transform.a), abs(src.transform.e))
        min_area = DEFAULT_MIN_PIXELS * pixel_area if min_area is None else float(min_area)
        simplify = DEFAULT_SIMPLIFY_PIXELS * pixel_size if simplify is None else float(simplify)
        if min_area < 0 or simplify < 0:
            raise UserError("--min-area and --simplify must be at least 0")
        to_map = _pixel_to_map(src.transform)
        writer = _BatchWriter(stack.enter_context(atomic_file(out_path)), src.crs.to_wkt())
        finisher = _Finisher(to_map, pixel_area, min_area, simplify, names, scale if confidence is not None else None)
        held: dict[int, Region] = {}
        held_row = np.zeros(src.width, dtype=np.int64)  # region key per column of the previous strip's last row
        previous_classes = np.full(src.width, IGNORE, dtype=np.uint8)
        next_key = 1
        strips = list(range(0, src.height, strip_rows))
        for number, row in enumerate(strips):
            window = Window(0, row, src.width, min(strip_rows, src.height - row))
            classes_strip = src.read(1, window=window)
            valid = classes_strip != IGNORE
            if src.nodata is not None and src.nodata != IGNORE:
                valid &= classes_strip != src.nodata
            if aoi is not None:
                valid &= aoi.mask(src.window_transform(window), classes_strip.shape)
            classes_strip = np.where(valid, classes_strip, IGNORE).astype(np.uint8)
            conf = confidence.read(1, window=window, out_dtype="float32") if confidence is not None else None
            regions, labels = _strip_regions(classes_strip, valid, conf, row)
            # link the held regions to this strip's regions under them
            parent = {("h", key): ("h", key) for key in held}
            parent.update({("n", i): ("n", i) for i in range(1, len(regions) + 1)})
            touching = (held_row > 0) & (labels[0] > 0) & (previous_classes == classes_strip[0])
            for key, i in set(zip(held_row[touching].tolist(), labels[0][touching].tolist())):
                _union(parent, ("h", key), ("n", i))
            groups: dict = {}
            for node in parent:
                groups.setdefault(_find(parent, node), []).append(node)
            last = labels[-1]
            continuing = set(np.unique(last[last > 0]).tolist()) if row + window.height < src.height else set()
            new_held: dict[int, Region] = {}
            key_of_new: dict[int, int] = {}
            for members in groups.values():
                region = None
                for side, index in members:
                    part = held[index] if side == "h" else regions[index - 1]
                    if region is None:
                        region = Region(part.class_id)
                    region.absorb(part)
                continues = any(side == "n" and index in continuing for side, index in members)
                if continues and region.vertices > max_region_vertices:
                    finisher.cut += 1  # written now; what lies below starts a new polygon
                    continues = False
                if continues:
                    new_held[next_key] = region
                    for side, index in members:
                        if side == "n":
                            key_of_new[index] = next_key
                    next_key += 1
                else:
                    writer.add(finisher.finish(region))
            held = new_held
            lookup = np.zeros(len(regions) + 1, dtype=np.int64)
            for index, key in key_of_new.items():
                lookup[index] = key
            held_row = lookup[last]
            previous_classes = classes_strip[-1].copy()
            if reporter is not None:
                reporter.progress("vectorize", number + 1, len(strips))
        for region in held.values():
            writer.add(finisher.finish(region))
        writer.close()
        if writer.count == 0:
            raise UserError(f"--prediction {prediction_path}: no polygon of at least {min_area:g} map units² "
                            "(every pixel is nodata, or outside the area of interest); lower --min-area")
        write_layer_style(writer.path, LAYER, categorized_qml("class_id", classes), f"{LAYER} by class")
    return {"vector": str(out_path), "vector_layer": LAYER, "polygons": writer.count,
            "dropped_polygons": finisher.dropped, "filled_holes": finisher.filled_holes,
            "min_area": min_area, "simplify": simplify, "strip_rows": strip_rows, "parts_cut": finisher.cut,
            "area_by_class": {names.get(k, str(k)): round(v, 3) for k, v in sorted(finisher.area_by_class.items())}}


def strip_cache_bytes(strip_rows: int, *datasets) -> int:
    """GDAL's block cache for reading strips of ``strip_rows`` rows: the block rows a strip spans
    (one more where it straddles two), of every raster read, and at least ``MIN_CACHE_MB``."""
    needed = 0
    for dataset in datasets:
        if dataset is None:
            continue
        block_height = max(1, dataset.block_shapes[0][0])
        spanned = -(-strip_rows // block_height) + 1
        needed += spanned * block_height * dataset.width * np.dtype(dataset.dtypes[0]).itemsize
    return max(MIN_CACHE_MB * 2 ** 20, int(needed * 1.25))


def _strip_regions(classes_strip: np.ndarray, valid: np.ndarray, conf: Optional[np.ndarray],
                   row: int) -> tuple[list[Region], np.ndarray]:
    """The regions of one strip (pieces in raster pixel coordinates) and its label image
    (0 = none, i = ``regions[i - 1]``)."""
    traced = [(shapely.geometry.shape(geometry), int(value))
              for geometry, value in shapes(classes_strip, mask=valid, connectivity=4)]
    height, width = classes_strip.shape
    if not traced:
        return [], np.zeros((height, width), dtype=np.int32)
    labels = rasterize(((geometry, i) for i, (geometry, _) in enumerate(traced, start=1)),
                       out_shape=(height, width), fill=0, dtype="int32")
    count = len(traced) + 1
    pixels = np.bincount(labels.ravel(), minlength=count)
    sums = np.bincount(labels.ravel(), weights=conf.ravel(), minlength=count) if conf is not None else np.zeros(count)
    regions = []
    for i, (geometry, value) in enumerate(traced, start=1):
        piece = shapely.transform(geometry, lambda xy: xy + np.array([0.0, row])) if row else geometry
        regions.append(Region(value, [piece], float(sums[i]), int(pixels[i]), int(shapely.get_num_coordinates(piece))))
    return regions, labels


def _find(parent: dict, node):
    while parent[node] != node:
        parent[node] = parent[parent[node]]
        node = parent[node]
    return node


def _union(parent: dict, a, b) -> None:
    root_a, root_b = _find(parent, a), _find(parent, b)
    if root_a != root_b:
        parent[root_b] = root_a


def _pixel_to_map(transform: Affine):
    a, b, c, d, e, f = transform.a, transform.b, transform.c, transform.d, transform.e, transform.f

    def apply(xy: np.ndarray) -> np.ndarray:
        return np.column_stack([a * xy[:, 0] + b * xy[:, 1] + c, d * xy[:, 0] + e * xy[:, 1] + f])

    return apply


class _Finisher:
    """A final region -> (geometry WKB, attributes), or None when it is dropped."""

    def __init__(self, to_map, pixel_area: float, min_area: float, simplify: float, names: dict,
                 confidence_scale: Optional[float]) -> None:
        self.to_map, self.pixel_area, self.min_area, self.simplify = to_map, pixel_area, min_area, simplify
        self.names, self.scale = names, confidence_scale
        self.dropped = self.filled_holes = self.cut = 0
        self.area_by_class: dict[int, float] = {}

    def finish(self, region: Region):
        if region.pixels * self.pixel_area < self.min_area:
            self.dropped += 1
            return None
        geometry = region.pieces[0] if len(region.pieces) == 1 else shapely.union_all(region.pieces)
        geometry = shapely.transform(geometry, self.to_map)
        if not geometry.is_valid:
            geometry = shapely.make_valid(geometry)
        polygons = [g for g in getattr(geometry, "geoms", [geometry]) if g.geom_type == "Polygon"]
        kept = []
        for polygon in polygons:
            holes = [ring for ring in polygon.interiors if shapely.Polygon(ring).area >= self.min_area]
            self.filled_holes += len(polygon.interiors) - len(holes)
            polygon = shapely.Polygon(polygon.exterior, holes)
            if self.simplify > 0:
                polygon = polygon.simplify(self.simplify, preserve_topology=True)
            kept.extend(g for g in getattr(polygon, "geoms", [polygon]) if g.geom_type == "Polygon" and not g.is_empty)
        geometry = kept[0] if len(kept) == 1 else shapely.MultiPolygon(kept)
        if geometry.is_empty or geometry.area < self.min_area:
            self.dropped += 1
            return None
        area = float(geometry.area)
        self.area_by_class[region.class_id] = self.area_by_class.get(region.class_id, 0.0) + area
        confidence = (region.confidence_sum / region.pixels * self.scale) if self.scale is not None else np.nan
        return (shapely.to_wkb(shapely.MultiPolygon([geometry]) if geometry.geom_type == "Polygon" else geometry),
                (region.class_id, self.names.get(region.class_id, str(region.class_id)), confidence,
                 region.pixels, area))


class _BatchWriter:
    """Appends polygons to the GeoPackage layer in batches of ``WRITE_BATCH`` polygons or
    ``WRITE_BATCH_BYTES`` of geometry, so what waits to be written stays small."""

    def __init__(self, path: Path, crs_wkt: str) -> None:
        self.path, self.crs = path, crs_wkt
        path.unlink(missing_ok=True)  # atomic_file reserved the name with an empty file; GDAL creates its own
        self.rows: list = []
        self.bytes = 0
        self.count = 0
        self._created = False

    def add(self, row) -> None:
        if row is None:
            return
        self.rows.append(row)
        self.bytes += len(row[0])
        if len(self.rows) >= WRITE_BATCH or self.bytes >= WRITE_BATCH_BYTES:
            self._flush()

    def _flush(self) -> None:
        if not self.rows and self._created:
            return
        geometry = np.array([row[0] for row in self.rows], dtype=object)
        columns = list(zip(*[row[1] for row in self.rows])) if self.rows else [[] for _ in FIELDS]
        field_data = [np.asarray(columns[0], dtype=np.int32), np.asarray(columns[1], dtype=object),
                      np.asarray(columns[2], dtype=np.float64), np.asarray(columns[3], dtype=np.int64),
                      np.asarray(columns[4], dtype=np.float64)]
        write_rows(self.path, LAYER, geometry, field_data, FIELDS, self.crs, append=self._created)
        self._created = True
        self.count += len(self.rows)
        self.rows, self.bytes = [], 0

    def close(self) -> None:
        self._flush()


def write_rows(path: Path, layer: str, geometry: np.ndarray, field_data: list, fields: list[str], crs_wkt: str,
               append: bool, field_mask: Optional[list] = None) -> None:
    """One batch of MultiPolygon features into a GeoPackage layer (created by the first batch);
    ``field_mask`` marks NULLs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pyogrio.raw.write(str(path), geometry, field_data, fields, layer=layer, driver="GPKG", crs=crs_wkt,
                          geometry_type="MultiPolygon", encoding="UTF-8", append=append,
                          promote_to_multi=True, field_mask=field_mask, **gpkg_options(append))


def gpkg_options(append: bool) -> dict:
    """GeoPackage 1.2 when creating: the GDAL of QGIS 3.22 warns on the 1.4 files of newer GDALs."""
    return {} if append else {"dataset_options": {"VERSION": "1.2"}}


def iter_features(path: "str | os.PathLike", layer: str = LAYER) -> Iterable[dict]:
    """The features of a layer as dicts with a shapely ``geometry`` (for tests and reports)."""
    meta, _, wkb, field_data = pyogrio.raw.read(str(path), layer=layer)
    for i, geometry in enumerate(shapely.from_wkb(np.asarray(wkb, dtype=object))):
        yield {"geometry": geometry, **{name: values[i] for name, values in zip(meta["fields"], field_data)}}

"""Label sources: vector layers and classified rasters, burned onto the image grid strip by strip.

A source is opened and checked once (CRS, field, layer, overlap, encoding), then asked to
``burn`` its classes into one strip of the image grid at a time. Vector features are read per
strip with a bounding-box filter, so memory follows the strip, not the layer or the raster.
"""

from __future__ import annotations

import contextlib
import warnings
from collections import Counter
from pathlib import Path
from typing import Optional

import numpy as np
import pyogrio
import rasterio
import shapely
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.features import rasterize
from rasterio.warp import reproject, transform as transform_coords, transform_bounds

from .classes import IGNORE, ClassMap, normalize_value
from .errors import UserError
from .imagery import crs_label, open_raster, require_georeferencing, sha256_of

VECTOR_SUFFIXES = {".gpkg", ".shp", ".geojson", ".json", ".fgb", ".gml", ".kml", ".sqlite"}
SHAPEFILE_SIDECARS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


LATIN_1_NAMES = ("ISO-8859-1", "ISO8859-1", "LATIN1", "LATIN-1")


def gdal_encoding(name: str) -> str:
    """An encoding name as GDAL (iconv) knows it, from any spelling Python knows: "latin-1",
    "latin1" and "iso8859_1" all become "ISO-8859-1", "utf8" "UTF-8", "windows-1252" "CP1252"."""
    import codecs

    try:
        canonical = codecs.lookup(name.strip()).name
    except LookupError:
        raise UserError(f"--encoding {name!r} is not a known text encoding; try UTF-8, cp1252 or latin-1") from None
    if canonical.startswith("iso8859-"):
        return "ISO-" + canonical[3:].upper()
    return canonical.upper()


def read_geometries(wkb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(geometries, repaired, skipped) from WKB: any geometry GEOS rejects (a ring that is not
    closed, too few points) or finds invalid (self-intersections) is repaired, and one that cannot
    be repaired is skipped (None). The masks say which."""
    geoms = shapely.from_wkb(wkb, on_invalid="ignore")
    unreadable = shapely.is_missing(geoms) & np.array([w is not None for w in wkb], dtype=bool)
    polygonal = np.array([_wkb_is_polygonal(w) for w in wkb], dtype=bool)
    if unreadable.any():
        geoms[unreadable] = shapely.from_wkb(wkb[unreadable], on_invalid="fix")
    present = ~shapely.is_missing(geoms)
    invalid = np.zeros(len(geoms), dtype=bool)
    invalid[present] = ~shapely.is_valid(geoms[present])
    if invalid.any():
        geoms[invalid] = shapely.make_valid(geoms[invalid])
    touched = unreadable | invalid
    # A polygon whose repair has no area left (a "ring" of two points) would burn as a line: skip it.
    lost = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    lost[~lost] = polygonal[~lost] & (shapely.area(geoms[~lost]) == 0)
    skipped = touched & lost
    geoms[skipped] = None
    return geoms, touched & ~skipped, skipped


def _wkb_is_polygonal(wkb) -> bool:
    """Whether WKB (ISO or EWKB, any dimension) holds a Polygon or MultiPolygon, from its header."""
    if not isinstance(wkb, (bytes, bytearray)) or len(wkb) < 5:
        return False
    kind = int.from_bytes(wkb[1:5], "little" if wkb[0] == 1 else "big") & 0x0FFFFFFF
    return kind % 1000 in (3, 6)


def geometry_report(sources) -> Optional[str]:
    """The warning for the geometries that vector ``sources`` repaired or skipped, or None."""
    repaired = sum(len(getattr(s, "repaired_fids", ())) for s in sources)
    skipped = sum(len(getattr(s, "skipped_fids", ())) for s in sources)
    if not repaired and not skipped:
        return None
    parts = []
    if repaired:
        parts.append(f"repaired {repaired} invalid geometries (rings not closed, self-intersections: shapely make_valid)")
    if skipped:
        parts.append(f"skipped {skipped} that could not be repaired")
    return "; ".join(parts)


def parse_label_arg(text: str) -> tuple[Path, Optional[str]]:
    """``file.gpkg:layer`` or a plain path. A colon is a layer separator only when what is
    before it names a vector file, so Windows drive letters and odd names still work."""
    head, sep, tail = text.rpartition(":")
    if sep and Path(head).suffix.lower() in VECTOR_SUFFIXES and tail and not tail.startswith(("\\", "/")):
        return Path(head), tail
    return Path(text), None


def is_vector(path: Path) -> bool:
    return path.suffix.lower() in VECTOR_SUFFIXES


def open_label_source(text: str, image_crs: CRS, image_bounds, *, field: Optional[str],
                      encoding: Optional[str], all_touched: bool):
    path, layer = parse_label_arg(text)
    if not path.exists():
        raise UserError(f"label source {path} does not exist")
    if is_vector(path):
        return VectorLabels(path, layer, field, encoding, image_crs, image_bounds, all_touched)
    if layer is not None:
        raise UserError(f"{text}: a layer name is only meaningful for vector files")
    return RasterLabels(path, image_crs, image_bounds)


def _overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _check_overlap(name: str, src_crs: CRS, src_bounds, image_crs: CRS, image_bounds) -> None:
    try:
        in_image_crs = transform_bounds(src_crs, image_crs, *src_bounds, densify_pts=21)
    except Exception:  # noqa: BLE001 - out-of-domain transforms mean no overlap
        in_image_crs = None
    if in_image_crs is None or not all(np.isfinite(in_image_crs)) or not _overlaps(in_image_crs, image_bounds):
        raise UserError(f"image and labels don't overlap: {name} covers {_fmt_bounds(src_bounds)} in "
                        f"{crs_label(src_crs)}, the image {_fmt_bounds(image_bounds)} in {crs_label(image_crs)}")


def _fmt_bounds(b) -> str:
    return "(" + ", ".join(f"{v:.6g}" for v in b) + ")"


class VectorLabels:
    kind = "vector"

    def __init__(self, path: Path, layer: Optional[str], field: Optional[str], encoding: Optional[str],
                 image_crs: CRS, image_bounds, all_touched: bool) -> None:
        self.path = path.resolve()
        self.field = field
        self.all_touched = all_touched
        self.image_crs = image_crs
        self.layer = self._resolve_layer(layer)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            info = pyogrio.read_info(self.path, layer=self.layer)
        self.name = f"{self.path.name}" + (f":{self.layer}" if layer else "")
        if info["features"] == 0:
            raise UserError(f"label layer {self.name} is empty (0 features)")
        if not info["crs"]:
            raise UserError(f"label layer {self.name} has no CRS; assign one in QGIS (Layer Properties > Source) "
                            "or with ogr2ogr -a_srs")
        self.crs = CRS.from_user_input(info["crs"])
        fields = list(info["fields"])
        if field is not None and field not in fields:
            raise UserError(f"field {field!r} is not in {self.name}; its fields are: {', '.join(fields)}")
        _check_overlap(self.name, self.crs, info["total_bounds"], image_crs, image_bounds)
        self._declared_encoding = (info.get("encoding") or "UTF-8").upper()
        self.encoding = self._given_encoding(encoding) if encoding else self._detect_encoding()
        self.feature_count = int(info["features"])
        self._fids, self._raw_values = self._read_attributes(encoding)
        self.class_of_fid: Optional[np.ndarray] = None
        self.unmatched: dict[str, int] = {}
        self.repaired_fids: set[int] = set()
        self.skipped_fids: set[int] = set()

    def _resolve_layer(self, layer: Optional[str]) -> Optional[str]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                layers = [str(name) for name, _ in pyogrio.list_layers(self.path)]
            except Exception as exc:  # noqa: BLE001 - pyogrio raises DataSourceError and friends
                raise UserError(f"label source {self.path} cannot be read as a vector file ({str(exc).splitlines()[0]})") from None
        if layer is None:
            if len(layers) > 1:
                raise UserError(f"{self.path.name} has {len(layers)} layers; name one as {self.path.name}:LAYER "
                                f"(layers: {', '.join(layers)})")
            return None
        if layer not in layers:
            raise UserError(f"layer {layer!r} is not in {self.path.name}; its layers are: {', '.join(layers)}")
        return layer

    def _given_encoding(self, given: str) -> str:
        """``--encoding`` as GDAL spells it ("latin-1", Python's usual name, is GDAL's
        ISO-8859-1); a name no codec has is refused in one line."""
        name = gdal_encoding(given)
        if self.field is not None and not self._decodes(name):
            raise UserError(f"{self.name}: the values of {self.field!r} are not {given} text; pass the file's "
                            "encoding as --encoding (e.g. UTF-8, cp1252, latin-1), or leave it out to detect it")
        return name

    def _detect_encoding(self) -> str:
        """No --encoding: UTF-8, then the file's code page (a shapefile's .cpg or .dbf code
        page; GDAL reads a shapefile with neither as ISO-8859-1), then latin-1 with a warning.
        Only the class field is decoded, so only its values decide."""
        declared = self._declared_encoding
        if self.field is None:
            return declared
        for name in dict.fromkeys(("UTF-8", declared, "ISO-8859-1")):
            if self._decodes(name):
                if name == "ISO-8859-1" and declared not in LATIN_1_NAMES:
                    page = "" if declared in ("UTF-8", "UTF8") else f" nor {declared}, the file's code page"
                    warnings.warn(f"{self.name}: the values of {self.field!r} are not UTF-8{page}; read them as "
                                  "latin-1: if class names look wrong, pass the right --encoding", UserWarning,
                                  stacklevel=2)
                return name
        return declared  # every single-byte encoding decodes; unreachable with ISO-8859-1 tried

    def _decodes(self, encoding: str) -> bool:
        override = encoding if encoding.upper() != self._declared_encoding else None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                found = pyogrio.raw.read(self.path, layer=self.layer, columns=[self.field], read_geometry=False,
                                         encoding=override)
        except (UnicodeDecodeError, LookupError):
            return False
        except Exception:  # noqa: BLE001 - other failures surface, named, at the real read
            return True
        return len(found[3]) == 1  # a multi-byte encoding such as UTF-16 garbles the field names instead

    def _read_kwargs(self) -> dict:
        # An explicit encoding switches GDAL's own recoding off, so pass one only to override it.
        override = self.encoding if self.encoding.upper() != self._declared_encoding else None
        return {"layer": self.layer, "encoding": override}

    def _read_attributes(self, given: Optional[str]) -> tuple[np.ndarray, list]:
        columns = [self.field] if self.field else []
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _, fids, _, field_data = pyogrio.raw.read(self.path, columns=columns, read_geometry=False,
                                                          return_fids=True, **self._read_kwargs())
        except UnicodeDecodeError as exc:
            which = f"--encoding {given}" if given else f"its code page {self.encoding}"
            raise UserError(f"{self.name}: its attributes cannot be decoded with {which} ({exc.reason} at byte "
                            f"{exc.start}); pass the file's encoding as --encoding (e.g. UTF-8, cp1252, latin-1)") from None
        if self.field and len(field_data) != 1:
            raise UserError(f"{self.name}: its attributes cannot be decoded with "
                            f"{'--encoding ' + given if given else self.encoding}; pass the file's encoding as "
                            "--encoding (e.g. UTF-8, cp1252, latin-1)")
        values = list(field_data[0]) if self.field else [None] * len(fids)
        return np.asarray(fids, dtype=np.int64), values

    def values(self) -> list[str]:
        return [v for v in (normalize_value(x) for x in self._raw_values) if v is not None]

    def bind(self, classes: ClassMap) -> None:
        """Fix each feature's class id. Values with no class are counted and burn as ignore."""
        order = np.argsort(self._fids, kind="stable")
        self._fids = self._fids[order]
        ids = np.empty(len(order), dtype=np.uint8)
        unmatched: Counter = Counter()
        for k, i in enumerate(order):
            raw = self._raw_values[i]
            class_id = classes.class_id(raw) if self.field else classes.class_id("feature")
            if self.field and normalize_value(raw) is None:
                class_id = IGNORE
                unmatched["<empty>"] += 1
            elif class_id == IGNORE:
                unmatched[normalize_value(raw)] += 1
            ids[k] = class_id
        self.class_of_fid = ids
        self.unmatched = dict(unmatched.most_common())
        self._raw_values = []

    def burn(self, out: np.ndarray, transform, bounds) -> None:
        """Burn the features that reach into ``bounds`` (image CRS) onto ``out`` in place."""
        bbox = bounds if self.crs == self.image_crs else transform_bounds(self.image_crs, self.crs, *bounds, densify_pts=21)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, fids, wkb, _ = pyogrio.raw.read(self.path, columns=[], bbox=tuple(bbox), return_fids=True,
                                               force_2d=True, **self._read_kwargs())
        if len(fids) == 0:
            return
        order = np.argsort(fids, kind="stable")  # later features burn over earlier ones, as in GDAL
        fids = np.asarray(fids, dtype=np.int64)[order]
        geoms, repaired, skipped = read_geometries(np.asarray(wkb, dtype=object)[order])
        self.repaired_fids.update(int(f) for f in fids[repaired])
        self.skipped_fids.update(int(f) for f in fids[skipped])
        keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        fids, geoms = fids[keep], geoms[keep]
        if self.crs != self.image_crs:
            geoms = shapely.transform(geoms, self._to_image_crs)
        class_ids = self.class_of_fid[np.searchsorted(self._fids, fids)]
        rasterize(zip(geoms, class_ids), out=out, transform=transform, all_touched=self.all_touched)

    def _to_image_crs(self, coords: np.ndarray) -> np.ndarray:
        xs, ys = transform_coords(self.crs, self.image_crs, coords[:, 0], coords[:, 1])
        return np.column_stack([xs, ys])

    def files(self) -> list[Path]:
        if self.path.suffix.lower() == ".shp":
            return [p for p in (self.path.with_suffix(s) for s in SHAPEFILE_SIDECARS) if p.exists()]
        return [self.path]

    def describe(self) -> dict:
        return {"path": str(self.path), "layer": self.layer, "kind": self.kind, "field": self.field,
                "encoding": self.encoding, "crs": crs_label(self.crs), "sha256": sha256_of(self.files()),
                "features": self.feature_count, "repaired_geometries": len(self.repaired_fids),
                "skipped_geometries": len(self.skipped_fids),
                "unmatched_values": self.unmatched}


class RasterLabels(contextlib.AbstractContextManager):
    """A classified raster, resampled (nearest) onto the image grid. Its nodata is unlabelled."""

    kind = "raster"

    def __init__(self, path: Path, image_crs: CRS, image_bounds) -> None:
        self.path = path.resolve()
        self.name = self.path.name
        self.image_crs = image_crs
        self.src = open_raster(self.path, "label raster")
        try:
            require_georeferencing(self.src, "label raster")
            _check_overlap(self.name, self.src.crs, self.src.bounds, image_crs, image_bounds)
        except BaseException:
            self.src.close()
            raise
        self.crs = self.src.crs
        self._lookup: dict[float, int] = {}
        self.unmatched: dict[str, int] = {}

    def __exit__(self, *exc) -> None:
        self.src.close()

    def close(self) -> None:
        self.src.close()

    def values(self) -> list[str]:
        seen: set = set()
        nodata = self.src.nodata
        for _, window in self.src.block_windows(1):
            block = self.src.read(1, window=window)
            uniques = np.unique(block)
            if nodata is not None:
                uniques = uniques[uniques != nodata]
            seen.update(uniques.tolist())
        return [normalize_value(v) for v in seen]

    def bind(self, classes: ClassMap) -> None:
        self._classes = classes

    def _class_id(self, value: float) -> int:
        if value not in self._lookup:
            self._lookup[value] = self._classes.class_id(value)
        return self._lookup[value]

    def burn(self, out: np.ndarray, transform, bounds) -> None:
        resampled = np.full(out.shape, np.nan, dtype=np.float64)
        reproject(rasterio.band(self.src, 1), resampled, src_nodata=self.src.nodata, dst_transform=transform,
                  dst_crs=self.image_crs, dst_nodata=np.nan, resampling=Resampling.nearest)
        covered = ~np.isnan(resampled)
        if not covered.any():
            return
        values, inverse = np.unique(resampled[covered], return_inverse=True)
        ids = np.array([self._class_id(v) for v in values.tolist()], dtype=np.uint8)
        burned = ids[inverse]
        for v, class_id in zip(values.tolist(), ids.tolist()):
            if class_id == IGNORE:
                key = normalize_value(v)
                self.unmatched[key] = self.unmatched.get(key, 0) + int(np.count_nonzero(resampled[covered] == v))
        out[covered] = burned

    def describe(self) -> dict:
        return {"path": str(self.path), "layer": None, "kind": self.kind, "field": None, "encoding": None,
                "crs": crs_label(self.crs), "sha256": sha256_of([self.path]), "features": None,
                "repaired_geometries": 0, "skipped_geometries": 0, "unmatched_values": self.unmatched}

"""An area of interest: the polygons of a vector layer, in any CRS, on a raster's grid.

``--aoi FILE[:LAYER]`` names the layer. Its (multi)polygons are read once, reprojected to the
raster's CRS (densified first, so long straight edges follow the projection), repaired if
invalid and unioned. Commands then ask whether a tile's window meets it (tiles that do not are
never computed) and for the mask of the pixels whose centres lie inside it (the others are
written as nodata). An AOI is small next to a raster, so it is held whole.
"""

from __future__ import annotations

import warnings
from typing import Optional

import numpy as np
import pyogrio
import shapely
from rasterio.crs import CRS
from rasterio.features import geometry_mask
from rasterio.warp import transform as transform_coords
from rasterio.windows import Window, bounds as window_bounds

from .errors import UserError
from .labels import is_vector, parse_label_arg

DENSIFY_FRACTION = 1 / 64  # of the AOI's larger side, before reprojection


class AreaOfInterest:
    def __init__(self, text: str, crs: CRS) -> None:
        path, layer = parse_label_arg(str(text))
        self.name = str(text)
        if not path.exists():
            raise UserError(f"--aoi {text}: the file does not exist")
        if not is_vector(path):
            raise UserError(f"--aoi {text}: expected a polygon layer (GeoPackage, Shapefile, GeoJSON, ...)")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                layers = [str(name) for name, _ in pyogrio.list_layers(path)]
                if layer is None and len(layers) > 1:
                    raise UserError(f"--aoi {text}: the file has {len(layers)} layers; name one as "
                                    f"{path.name}:LAYER (layers: {', '.join(layers)})")
                if layer is not None and layer not in layers:
                    raise UserError(f"--aoi {text}: no layer {layer!r}; its layers are: {', '.join(layers)}")
                meta, _, wkb, _ = pyogrio.raw.read(path, layer=layer, columns=[], force_2d=True)
            except UserError:
                raise
            except Exception as exc:  # noqa: BLE001 - pyogrio's DataSourceError and friends
                raise UserError(f"--aoi {text}: cannot be read as a vector layer ({str(exc).splitlines()[0]})") from None
        if not meta.get("crs"):
            raise UserError(f"--aoi {text}: the layer has no CRS; assign one in QGIS (Layer Properties > Source)")
        geometries = shapely.from_wkb(np.asarray(wkb, dtype=object))
        geometries = geometries[~(shapely.is_missing(geometries) | shapely.is_empty(geometries))]
        geometries = geometries[np.isin(shapely.get_type_id(geometries), (3, 6, 7))]  # polygons, multi, collections
        if len(geometries) == 0:
            raise UserError(f"--aoi {text}: the layer has no polygon; draw the area of interest as polygons")
        invalid = ~shapely.is_valid(geometries)
        geometries[invalid] = shapely.make_valid(geometries[invalid])
        area = shapely.union_all(geometries)
        source_crs = CRS.from_user_input(meta["crs"])
        if source_crs != crs:
            xmin, ymin, xmax, ymax = area.bounds
            area = shapely.segmentize(area, max(xmax - xmin, ymax - ymin) * DENSIFY_FRACTION)

            def project(xy: np.ndarray) -> np.ndarray:
                xs, ys = transform_coords(source_crs, crs, xy[:, 0], xy[:, 1])
                return np.column_stack([xs, ys])

            area = shapely.transform(area, project)
            if not area.is_valid:
                area = shapely.make_valid(area)
        area = shapely.union_all([g for g in getattr(area, "geoms", [area]) if g.geom_type in ("Polygon", "MultiPolygon")])
        if area.is_empty or not np.isfinite(area.bounds).all():
            raise UserError(f"--aoi {text}: its polygons cannot be placed in the raster's CRS ({crs})")
        self.geometry = area
        shapely.prepare(self.geometry)
        self.crs = crs

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return tuple(self.geometry.bounds)

    def intersects(self, bounds) -> bool:
        """Whether the box ``bounds`` (xmin, ymin, xmax, ymax) meets the area."""
        return bool(self.geometry.intersects(shapely.box(*bounds)))

    def window_intersects(self, window: Window, transform) -> bool:
        return self.intersects(window_bounds(window, transform))

    def mask(self, transform, shape: tuple[int, int]) -> np.ndarray:
        """True for the pixels (of a grid ``shape`` with ``transform``) whose centre is inside."""
        return geometry_mask([self.geometry], out_shape=shape, transform=transform, invert=True)

    def describe(self) -> dict:
        return {"aoi": self.name, "aoi_area": round(float(self.geometry.area), 3)}


def open_aoi(text: Optional[str], crs) -> Optional[AreaOfInterest]:
    return None if not text else AreaOfInterest(text, crs)

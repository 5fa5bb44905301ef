"""Large benchmark scenes made from the real Denmark chip: the 452 x 413 px Sentinel-2 image
repeated as a VRT mosaic (no pixels are copied to disk), and its parcel polygons repeated per
mosaic cell into a GeoPackage (with its R-tree spatial index)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pyogrio
import rasterio
import shapely

REPO = Path(__file__).resolve().parents[1]
DENMARK = REPO / "data" / "denmark_s2_fields"


def mosaic_vrt(out: Path, width: int, height: int, source: Path = DENMARK / "RGB_small.tif") -> Path:
    with rasterio.open(source) as src:
        sw, sh, count, dtype, t = src.width, src.height, src.count, src.dtypes[0], src.transform
        crs_wkt = src.crs.to_wkt()
    gdal_type = {"uint16": "UInt16", "uint8": "Byte", "float32": "Float32"}[dtype]
    bands = []
    for b in range(1, count + 1):
        sources = []
        for row in range(0, height, sh):
            for col in range(0, width, sw):
                w, h = min(sw, width - col), min(sh, height - row)
                sources.append(
                    f'<SimpleSource><SourceFilename relativeToVRT="0">{source}</SourceFilename>'
                    f"<SourceBand>{b}</SourceBand><SrcRect xOff=\"0\" yOff=\"0\" xSize=\"{w}\" ySize=\"{h}\"/>"
                    f'<DstRect xOff="{col}" yOff="{row}" xSize="{w}" ySize="{h}"/></SimpleSource>')
        bands.append(f'<VRTRasterBand dataType="{gdal_type}" band="{b}">{"".join(sources)}</VRTRasterBand>')
    geotransform = f"{t.c}, {t.a}, 0, {t.f}, 0, {t.e}"
    out.write_text(f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}"><SRS>{crs_wkt}</SRS>'
                   f"<GeoTransform>{geotransform}</GeoTransform>{''.join(bands)}</VRTDataset>")
    return out


def mosaic_polygons(out: Path, width: int, height: int, source: Path = DENMARK / "marker2016_small.shp",
                    every: int = 4) -> int:
    """The source parcels repeated in every ``every``-th mosaic cell; returns the feature count."""
    with rasterio.open(DENMARK / "RGB_small.tif") as src:
        sw, sh, res = src.width, src.height, src.res[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        meta, _, wkb, fields = pyogrio.raw.read(source, columns=["AfgKode"])
    base = shapely.make_valid(shapely.from_wkb(wkb))
    geoms, codes = [], []
    cell = 0
    for row in range(0, height, sh):
        for col in range(0, width, sw):
            cell += 1
            if cell % every:
                continue
            dx, dy = col * res, -row * res
            geoms.append(shapely.transform(base, lambda c, dx=dx, dy=dy: c + np.array([dx, dy])))
            codes.append(fields[0])
    geoms = np.concatenate(geoms)
    codes = np.concatenate(codes).astype(np.int32)
    if out.exists():
        out.unlink()
    pyogrio.raw.write(out, np.asarray(shapely.to_wkb(geoms), dtype=object), [codes], ["AfgKode"], crs=meta["crs"],
                      geometry_type="MultiPolygon", driver="GPKG", promote_to_multi=True)
    return len(geoms)

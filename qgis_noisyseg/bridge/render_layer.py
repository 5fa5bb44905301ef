"""Any QGIS raster layer as imagery: a layer that is not a file the backend can read (WMS, WMTS,
XYZ, a memory or virtual raster) is rendered into a GeoTIFF first.

QGIS's own raster pipe does the work: the layer's provider, a projector to the chosen CRS, and
``QgsRasterFileWriter``, which requests and writes the raster in blocks (never the whole raster
in memory), reports progress and stops when cancelled. A provider of colours (WMS/WMTS/XYZ,
ARGB32) is written as 8-bit red, green, blue and alpha, the alpha band marked as such so the
backend reads it as the nodata mask; a provider of data (a memory or virtual raster) keeps its
bands and data type. The file goes under a temporary name and is renamed when complete, so a
cancelled or failed render leaves nothing under the final name.

Rendered basemaps are RGB 8-bit: a model trained on other imagery (Sentinel-2 reflectances, for
one) will not fit them. Their licence and terms of use are the operator's responsibility.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Callable, Optional

from qgis.core import (Qgis, QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsProject, QgsRasterBlockFeedback,
                       QgsRasterFileWriter, QgsRasterLayer, QgsRasterPipe, QgsRasterProjector, QgsRectangle, QgsTask)
from qgis.PyQt.QtCore import QCoreApplication

from .layers import NotAFileLayer, backend_path

MAX_PIXELS = 40000 * 40000  # a guard against an extent in degrees read as metres, not a memory limit
BLOCK = 512
TMP_INFIX = ".tmp-"  # core.outputs: temporaries beside an output carry it


def tr(text: str) -> str:
    return QCoreApplication.translate("NoisySegRender", text)


class RenderError(ValueError):
    pass


def is_file_layer(layer) -> bool:
    try:
        backend_path(layer)
    except NotAFileLayer:
        return False
    return True


def render_size(extent: QgsRectangle, resolution: float) -> tuple[int, int]:
    if not resolution or resolution <= 0:
        raise RenderError(tr("Give the ground resolution to render the layer at (map units per pixel)"))
    if extent is None or extent.isEmpty():
        raise RenderError(tr("Give the extent to render the layer over"))
    columns, rows = math.ceil(extent.width() / resolution - 1e-9), math.ceil(extent.height() / resolution - 1e-9)
    if columns * rows > MAX_PIXELS:
        raise RenderError(tr("Rendering {} × {} pixels is too large; choose a smaller extent or a coarser "
                             "resolution").format(columns, rows))
    return max(columns, 1), max(rows, 1)


def render_layer(layer: QgsRasterLayer, out_path: "str | os.PathLike", extent: QgsRectangle,
                 crs: QgsCoordinateReferenceSystem, resolution: float,
                 feedback: Optional[QgsRasterBlockFeedback] = None,
                 transform_context=None) -> dict:
    """Renders ``layer`` over ``extent`` (in ``crs``) at ``resolution`` (``crs`` units per
    pixel) into the GeoTIFF ``out_path``. Returns the path, size and band kind; raises
    RenderError (a sentence for the operator) on failure or cancel."""
    out_path = Path(out_path)
    columns, rows = render_size(extent, resolution)
    # whole pixels from the top-left corner, at exactly the resolution asked
    grid = QgsRectangle(extent.xMinimum(), extent.yMaximum() - rows * resolution,
                        extent.xMinimum() + columns * resolution, extent.yMaximum())
    context = transform_context or QgsProject.instance().transformContext()
    provider = layer.dataProvider().clone()
    if provider is None:
        raise RenderError(tr("Layer “{}” has no data provider to render").format(layer.name()))
    pipe = QgsRasterPipe()
    if not pipe.set(provider):
        raise RenderError(tr("Layer “{}” cannot be rendered (its provider does not fit QGIS's raster pipe)")
                          .format(layer.name()))
    projector = QgsRasterProjector()
    projector.setCrs(provider.crs(), crs, context)
    pipe.insert(2, projector)
    colours = provider.dataType(1) in (Qgis.DataType.ARGB32, Qgis.DataType.ARGB32_Premultiplied)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f"{out_path.stem}{TMP_INFIX}render{out_path.suffix}")
    writer = QgsRasterFileWriter(str(tmp))
    writer.setOutputFormat("GTiff")
    writer.setCreateOptions(["COMPRESS=DEFLATE", "TILED=YES", "BIGTIFF=IF_SAFER"])
    writer.setMaxTileWidth(BLOCK)
    writer.setMaxTileHeight(BLOCK)
    feedback = feedback or QgsRasterBlockFeedback()
    error = writer.writeRaster(pipe, columns, rows, grid, crs, context, feedback)
    if feedback.isCanceled() or error != QgsRasterFileWriter.WriterError.NoError:
        _remove(tmp)
        if feedback.isCanceled():
            raise RenderError(tr("Rendering “{}” was cancelled").format(layer.name()))
        raise RenderError(tr("Rendering “{}” failed ({}); check the layer draws on the map over that extent")
                          .format(layer.name(), _error_name(error)))
    if colours:
        _mark_alpha(tmp)
    os.replace(tmp, out_path)
    return {"path": str(out_path), "width": columns, "height": rows, "kind": "rgba8" if colours else "data",
            "resolution": resolution, "crs": crs.authid() or crs.toWkt()}


def _mark_alpha(path: Path) -> None:
    """QgsRasterFileWriter writes the colours as four plain bands; band 4 is the alpha."""
    from osgeo import gdal

    dataset = gdal.Open(str(path), gdal.GA_Update)
    try:
        for band, interp in zip(range(1, 5), (gdal.GCI_RedBand, gdal.GCI_GreenBand, gdal.GCI_BlueBand,
                                              gdal.GCI_AlphaBand)):
            if band <= dataset.RasterCount:
                dataset.GetRasterBand(band).SetColorInterpretation(interp)
        dataset.SetMetadataItem("NOISYSEG_RENDERED", "basemap rendered by QGIS, RGB 8-bit")
    finally:
        dataset = None


def _remove(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + ".aux.xml")):
        try:
            leftover.unlink()
        except FileNotFoundError:
            pass


def _error_name(error) -> str:
    return getattr(error, "name", str(error))


def extent_in(layer, extent: Optional[QgsRectangle], extent_crs, crs) -> QgsRectangle:
    """``extent`` (in ``extent_crs``) in ``crs``; without one, the layer's own extent."""
    if extent is None or extent.isEmpty():
        extent, extent_crs = layer.extent(), layer.crs()
    if extent_crs == crs:
        return QgsRectangle(extent)
    return QgsCoordinateTransform(extent_crs, crs, QgsProject.instance()).transformBoundingBox(extent)


WEB_MERCATOR = ("EPSG:3857", "EPSG:900913", "EPSG:3785")


def ground_crs(crs: QgsCoordinateReferenceSystem, extent: QgsRectangle) -> tuple:
    """``crs`` and ``extent``, except that Web Mercator (whose metres are not ground metres away
    from the equator: 0.56 m at 56° N) becomes the UTM zone of the extent's centre, so a ground
    resolution means what it says."""
    if crs.authid() not in WEB_MERCATOR:
        return crs, extent
    wgs84 = QgsCoordinateReferenceSystem("EPSG:4326")
    centre = QgsCoordinateTransform(crs, wgs84, QgsProject.instance()).transform(extent.center())
    zone = min(60, max(1, int((centre.x() + 180) // 6) + 1))
    utm = QgsCoordinateReferenceSystem(f"EPSG:{(32600 if centre.y() >= 0 else 32700) + zone}")
    return utm, QgsCoordinateTransform(crs, utm, QgsProject.instance()).transformBoundingBox(extent)


class RenderTask(QgsTask):
    """Renders in the background with the task manager's progress bar and Cancel; calls
    ``done(result, error)`` in the main thread when finished."""

    def __init__(self, layer: QgsRasterLayer, out_path, extent: QgsRectangle, crs, resolution: float,
                 done: Callable[[Optional[dict], Optional[str]], None]) -> None:
        super().__init__(tr("Rendering {}").format(layer.name()), QgsTask.Flag.CanCancel)
        self.layer, self.out_path, self.extent, self.crs, self.resolution = layer, out_path, extent, crs, resolution
        self.done = done
        self.result: Optional[dict] = None
        self.error: Optional[str] = None
        self.block_feedback = QgsRasterBlockFeedback()
        self.block_feedback.progressChanged.connect(self.setProgress)
        self.context = QgsProject.instance().transformContext()

    def run(self) -> bool:
        try:
            self.result = render_layer(self.layer, self.out_path, self.extent, self.crs, self.resolution,
                                       self.block_feedback, self.context)
        except RenderError as exc:
            self.error = str(exc)
            return False
        return True

    def cancel(self) -> None:
        self.block_feedback.cancel()
        super().cancel()

    def finished(self, ok: bool) -> None:
        self.done(self.result if ok else None, None if ok else (self.error or tr("Rendering was cancelled")))

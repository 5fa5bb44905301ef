"""``predict --resample``: read the image at the model's ground sample distance, write back at the image's.

A model trained on 10 m Sentinel-2 sees different things in a 0.5 m orthophoto. The image is
read through a WarpedVRT on a grid of the model's pixel size (averaging when coarser), the
prediction is made there, and every output is warped back onto the image's grid (nearest for
class ids, bilinear for probabilities) by GDAL's streaming copy, so memory stays bounded.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Optional, Sequence

import rasterio
import rasterio.shutil
from affine import Affine
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

from ..core.atomic import atomic_file
from ..core.errors import UserError
from ..core.markers import TMP_INFIX
from ..core.outputs import GEOTIFF_TAG
from ..core.progress import Reporter
from .grid import extent_window
from .model import OnnxSegmenter
from .sliding import predict_raster
from .writers import BLOCK_SIZE, overview_factors

RASTER_KINDS = {"classes": Resampling.nearest, "confidence": Resampling.bilinear, "probabilities": Resampling.bilinear}


def predict_resampled(segmenter: OnnxSegmenter, image_path: "str | os.PathLike", out_path: "str | os.PathLike", *,
                      confidence_path=None, confidence_dtype: str = "uint8", probabilities_path=None,
                      extent: Optional[Sequence[float]] = None, tile=None, overlap=None, batch_size: int = 4,
                      nodata: Optional[str] = None, aoi=None, force: bool = False,
                      reporter: Optional[Reporter] = None) -> dict[str, str]:
    if not segmenter.resolution:
        raise UserError("--resample needs the model's ground sample distance, and this model does not record one")
    finals = {"classes": Path(out_path), "confidence": confidence_path and Path(confidence_path),
              "probabilities": probabilities_path and Path(probabilities_path)}
    with rasterio.open(image_path) as src:
        window = Window(0, 0, src.width, src.height)
        if extent is not None:
            window = extent_window(src.transform, src.width, src.height, extent)
        if aoi is not None:
            from .sliding import aoi_window

            window = aoi_window(aoi, src, window)
            extent = rasterio.windows.bounds(window, src.transform)
        target = {"crs": src.crs, "transform": src.window_transform(window),
                  "width": int(window.width), "height": int(window.height)}
        model_x, model_y = segmenter.resolution
        scale_x, scale_y = model_x / abs(src.res[0]), model_y / abs(src.res[1])
        width, height = max(1, round(src.width / scale_x)), max(1, round(src.height / scale_y))
        transform = src.transform * Affine.scale(src.width / width, src.height / height)
        reading = Resampling.average if min(scale_x, scale_y) > 1 else Resampling.bilinear
        with tempfile.TemporaryDirectory(prefix=f"{Path(out_path).name}{TMP_INFIX}resample-", dir=Path(out_path).resolve().parent) as tmp:
            tmp = Path(tmp)
            with WarpedVRT(src, crs=src.crs, transform=transform, width=width, height=height, resampling=reading) as vrt:
                at_model_gsd = predict_raster(
                    segmenter, vrt, tmp / "classes.tif", confidence_dtype=confidence_dtype,
                    confidence_path=tmp / "confidence.tif" if finals["confidence"] else None,
                    probabilities_path=tmp / "probabilities.tif" if finals["probabilities"] else None,
                    extent=extent, tile=tile, overlap=overlap, batch_size=batch_size, nodata=nodata, aoi=aoi,
                    force=force, reporter=reporter)
            with contextlib.ExitStack() as renames:
                outputs = {}
                for kind, final in finals.items():
                    if not final:
                        continue
                    written = renames.enter_context(atomic_file(final))
                    _warp_back(Path(at_model_gsd[kind]), written, target, RASTER_KINDS[kind])
                    outputs[kind] = str(final)
                    style = Path(at_model_gsd[kind]).with_suffix(".qml")
                    if style.exists():
                        with_style = renames.enter_context(atomic_file(final.with_suffix(".qml")))
                        shutil.copyfile(style, with_style)
                        outputs["style" if kind == "classes" else f"{kind}_style"] = str(final.with_suffix(".qml"))
    return outputs


def _warp_back(source: Path, destination: Path, target: dict, resampling: Resampling) -> None:
    with rasterio.open(source) as prediction:
        colormap = prediction.colormap(1) if prediction.count == 1 and prediction.dtypes[0] == "uint8" and _has_colormap(prediction) else None
        tags, dataset_tags = prediction.tags(1), prediction.tags()
        with WarpedVRT(prediction, crs=target["crs"], transform=target["transform"], width=target["width"],
                       height=target["height"], resampling=resampling, nodata=prediction.nodata) as back:
            rasterio.shutil.copy(back, destination, driver="GTiff", tiled=True, blockxsize=BLOCK_SIZE,
                                 blockysize=BLOCK_SIZE, compress="deflate", BIGTIFF="IF_SAFER")
    with rasterio.open(destination, "r+") as dst:
        if colormap is not None:
            dst.write_colormap(1, colormap)
        dst.update_tags(1, **tags)
        dst.update_tags(**{key: value for key, value in dataset_tags.items() if key == GEOTIFF_TAG})
        dst.build_overviews(overview_factors(dst.width, dst.height),
                            Resampling.nearest if resampling == Resampling.nearest else Resampling.average)


def _has_colormap(dataset) -> bool:
    try:
        dataset.colormap(1)
    except ValueError:
        return False
    return True

from __future__ import annotations

import argparse

MAX_TILES = 250_000  # inference.sliding.MAX_TILES, here without importing onnxruntime


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="model.onnx from `noisyseg export-onnx` (carries classes, bands, normalisation)")
    p.add_argument("--image", required=True, help="imagery GeoTIFF to predict")
    p.add_argument("--out", required=True, help="class raster to write (a .qml style is written beside it)")
    p.add_argument("--confidence", help="also write the confidence (largest class probability)")
    p.add_argument("--confidence-dtype", choices=("uint8", "float32"), default="uint8",
                   help="uint8 percent (default) or float32 0..1")
    p.add_argument("--probabilities", help="also write one float32 band of probability per class")
    p.add_argument("--disagreement-with", metavar="LABELS",
                   help="an existing map (vector or classified raster): write where the model disagrees with it")
    p.add_argument("--disagreement-out", help="where to write the disagreement raster (default: OUT_disagreement.tif)")
    p.add_argument("--disagreement-field", help="class field of a vector map (default: the field the model was trained from)")
    p.add_argument("--extent", nargs=4, type=float, metavar=("XMIN", "YMIN", "XMAX", "YMAX"),
                   help="predict only this extent, in the image's CRS")
    p.add_argument("--tile", type=int, help="tile size in pixels, a multiple of 32 (default: the model's)")
    p.add_argument("--overlap", type=int, help="overlap between tiles in pixels (default: the model's)")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--threads", type=int, help="CPU threads for onnxruntime (default: all cores)")
    p.add_argument("--resample", action="store_true",
                   help="read the image at the model's ground sample distance, write back at the image's")
    p.add_argument("--nodata", metavar="VALUE|none",
                   help="pixel value that marks nodata in every band, overriding the file's tag; 'none': no nodata "
                        "(default: the file's nodata, alpha or mask, else a black or white border is detected)")
    p.add_argument("--aoi", metavar="FILE[:LAYER]",
                   help="area of interest: a polygon layer in any CRS; only tiles that meet it are predicted, "
                        "pixels outside it are nodata")
    p.add_argument("--vectorize", metavar="OUT.gpkg",
                   help="also write the classes as polygons into this GeoPackage (see `noisyseg vectorize`)")
    from .vectorize import add_vector_options

    add_vector_options(p, prefix="vector-")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.add_argument("--force", action="store_true",
                   help=f"predict even more than {MAX_TILES:,} tiles, or where the free space looks too small")


def run(args: argparse.Namespace, reporter) -> dict:
    from pathlib import Path

    from ..core.outputs import plan_outputs
    from ..inference import OnnxSegmenter, predict_raster
    from ..inference.disagreement import check_disagreement_source, model_class_map, write_disagreement
    from ..inference.resample import predict_resampled
    from ..inference.sliding import check_image

    import math

    from ..core.errors import UserError

    out = Path(args.out)
    if args.batch_size < 1:
        raise UserError(f"--batch-size must be at least 1, got {args.batch_size}")
    if args.extent is not None and not all(math.isfinite(v) for v in args.extent):
        raise UserError(f"--extent needs four finite numbers XMIN YMIN XMAX YMAX, got {' '.join(map(str, args.extent))}")
    disagreement_out = None
    if args.disagreement_with:
        disagreement_out = Path(args.disagreement_out or out.with_name(f"{out.stem}_disagreement.tif"))
    plan = plan_outputs(args.overwrite, [(args.model, "--model"), (args.image, "--image"),
                                         (args.disagreement_with, "--disagreement-with"), (args.aoi, "--aoi")], reporter)
    if args.vectorize:
        plan.file(args.vectorize, "--vectorize", "vector")
    for path, option, styled in ((out, "--out", True), (args.confidence, "--confidence", True),
                                 (args.probabilities, "--probabilities", False),
                                 (disagreement_out, "--disagreement-out", True)):
        if path:
            plan.file(path, option, "geotiff")
            if styled:
                plan.file(Path(path).with_suffix(".qml"), f"{option} (its .qml style)", "style")
    plan.check()
    check_image(args.image, args.nodata)
    aoi = None
    if args.aoi:
        import rasterio

        from ..core.aoi import open_aoi

        with rasterio.open(args.image) as src:
            aoi = open_aoi(args.aoi, src.crs)
    segmenter = OnnxSegmenter(args.model, device=args.device, threads=args.threads)
    field = None
    if disagreement_out is not None:  # checked before the whole raster is predicted, not after
        field = args.disagreement_field or segmenter.metadata.raw.get("provenance", {}).get("label_field")
        check_disagreement_source(args.disagreement_with, args.image, model_class_map(segmenter.classes), field)
    reporter.emit("info", message=f"predicting with {segmenter.provider}", provider=segmenter.provider)
    predict = predict_resampled if args.resample else predict_raster
    with plan.writing(), _confidence_for_polygons(args, out) as confidence:
        outputs = predict(segmenter, args.image, out, confidence_path=confidence,
                          confidence_dtype=args.confidence_dtype, probabilities_path=args.probabilities,
                          extent=args.extent, tile=args.tile, overlap=args.overlap, batch_size=args.batch_size,
                          nodata=args.nodata, aoi=aoi, force=args.force, reporter=reporter)
        if not args.confidence:
            outputs = {k: v for k, v in outputs.items() if not k.startswith("confidence")}
        if args.vectorize:
            from ..inference.vectorize import vectorize

            outputs.update(vectorize(out, args.vectorize, confidence_path=confidence, min_area=args.vector_min_area,
                                     simplify=args.vector_simplify, reporter=reporter))
        if disagreement_out is not None:
            outputs.update(write_disagreement(out, args.disagreement_with, disagreement_out,
                                              class_map=model_class_map(segmenter.classes), field=field,
                                              reporter=reporter))
    outputs["provider"] = segmenter.provider
    return outputs


def _confidence_for_polygons(args, out):
    """``--confidence``, or with ``--vectorize`` alone a temporary one beside ``--out`` (for the
    polygons' mean confidence), removed afterwards."""
    import contextlib

    from ..core.atomic import temporary_file

    @contextlib.contextmanager
    def temporary():
        path = temporary_file(out)
        try:
            yield path
        finally:
            for leftover in (path, path.with_suffix(".qml")):
                leftover.unlink(missing_ok=True)

    if args.confidence or not args.vectorize:
        return contextlib.nullcontext(args.confidence)
    return temporary()

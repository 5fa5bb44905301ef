from __future__ import annotations

import argparse

from ..spec.arguments import add_arguments as add_spec_arguments
from ..spec.commands import PredictOptions

SPEC = PredictOptions


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_spec_arguments(p, SPEC)


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
        check_disagreement_source(args.disagreement_with, args.image, model_class_map(segmenter.classes), field,
                                  encoding=args.disagreement_encoding)
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
                                              encoding=args.disagreement_encoding, reporter=reporter))
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

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="RUN/model.pt, a checkpoint from pretrain or finetune")
    p.add_argument("--out", required=True, help="model.onnx to write")
    p.add_argument("--tile", type=int,
                   help="the model's fixed input size in pixels, a multiple of 32 (default: the tile size it was "
                        "trained on); predict and Deepness use tiles of this size")
    p.add_argument("--overlap", type=int, help="suggested overlap for prediction, in pixels (default: a quarter tile)")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")


def run(args: argparse.Namespace, reporter) -> dict:
    from ..backend.onnx_export import export_onnx
    from ..core.outputs import plan_outputs

    plan = plan_outputs(args.overwrite, [(args.model, "--model")], reporter)
    plan.file(args.out, "--out", "onnx")
    plan.check()
    with plan.writing():
        return export_onnx(args.model, args.out, overlap=args.overlap, tile=args.tile, reporter=reporter)

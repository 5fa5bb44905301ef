from __future__ import annotations

import argparse
from ..spec.arguments import add_arguments as add_spec_arguments
from ..spec.commands import ExportOnnxOptions

SPEC = ExportOnnxOptions


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_spec_arguments(p, SPEC)


def run(args: argparse.Namespace, reporter) -> dict:
    from ..backend.onnx_export import export_onnx
    from ..core.outputs import plan_outputs

    plan = plan_outputs(args.overwrite, [(args.model, "--model")], reporter)
    plan.file(args.out, "--out", "onnx")
    plan.check()
    with plan.writing():
        return export_onnx(args.model, args.out, overlap=args.overlap, tile=args.tile, reporter=reporter)

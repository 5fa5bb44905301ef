"""``noisyseg env``: what the backend environment has (the plugin's "Check environment")."""

from __future__ import annotations

import argparse
import importlib
import platform
import sys
from ..spec.arguments import add_arguments as add_spec_arguments
from ..spec.commands import EnvOptions

SPEC = EnvOptions


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_spec_arguments(p, SPEC)


def _version(module: str):
    try:
        return importlib.import_module(module).__version__
    except Exception:  # noqa: BLE001 - a missing or broken package is what this command reports
        return None


def run(args: argparse.Namespace, reporter) -> dict:
    from .. import __version__

    report = {
        "package_version": __version__,
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "numpy": _version("numpy"),
        "rasterio": _version("rasterio"),
        "onnxruntime": _version("onnxruntime"),
        "torch": None,
        "device": "cpu",
        "gpu": None,
    }
    try:
        import rasterio

        report["gdal"] = rasterio.__gdal_version__
    except Exception:  # noqa: BLE001
        report["gdal"] = None
    try:
        import onnxruntime

        report["onnxruntime_providers"] = onnxruntime.get_available_providers()
    except Exception:  # noqa: BLE001
        report["onnxruntime_providers"] = []
    if not args.no_torch:
        try:
            import torch

            report["torch"] = torch.__version__
            if torch.cuda.is_available():
                report["device"] = "cuda"
                report["gpu"] = torch.cuda.get_device_name(0)
            elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
                report["device"] = "mps"
                report["gpu"] = "Apple MPS"
        except Exception:  # noqa: BLE001
            report["torch"] = None
    return report

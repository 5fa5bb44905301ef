"""``noisyseg``: the one door to the backend. The QGIS plugin runs it as a subprocess.

Each sub-command lives in ``qgis_noisyseg.commands.<name>`` with ``add_arguments(parser)`` and
``run(args, reporter) -> outputs``. Command modules import their heavy dependencies (torch,
rasterio) inside ``run``, so ``noisyseg --help`` and argument errors stay fast.

Exit codes: 0 done, 1 internal error (with traceback), 2 user error (one line, no traceback),
130 cancelled (SIGINT/SIGTERM, or the line ``cancel`` on stdin when $NOISYSEG_CANCEL is
``stdin``; outputs are cleaned up or checkpointed). Each command's options are declared once,
in ``qgis_noisyseg.spec.commands``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
import warnings
from typing import Optional, Sequence

from . import __version__

# onnxruntime warns on stderr when its telemetry cannot persist an id (an unwritable home
# folder): one more line where a user error must be one.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

COMMANDS = {
    "export": "Export map layers as a noisy image/mask tile dataset",
    "corrupt": "Simulate label noise on a dataset (remove, shift, erode, dilate, rotate, flip)",
    "export-onnx": "Export a checkpoint as an ONNX model that carries its classes, bands and normalisation",
    "predict": "Predict a whole raster (or an extent) with an ONNX model, streamed, into styled GeoTIFFs",
    "vectorize": "Write a prediction as polygons in a GeoPackage, styled by class, with mean confidence",
    "compare-map": "Report, for every polygon of an old map, the predicted class and whether it changed",
    "demo": "Run the main job on the bundled Denmark Sentinel-2 scene",
    "pretrain": "Pretrain a segmentation model on noisy masks, with SimCLR, or both",
    "finetune": "Fine-tune a pretrained model on a few clean tiles",
    "evaluate": "Evaluate a model on a dataset split: mIoU, per-class IoU and F1, confusion matrix",
    "analyze": "Compare two models block by block: KL divergence of weights and activations, against a seed baseline",
    "clean": "Build a clean dataset from the tiles corrected in a GeoPackage (clean_labels + tiles layers)",
    "suggest": "Rank a dataset's tiles for annotation by the model's uncertainty and disagreement with the noisy mask",
    "study": "Measure what pretraining buys: label-efficiency, noise and transfer studies (resumable grids of runs)",
    "env": "Report the backend environment: Python, torch, CUDA or CPU, GPU, onnxruntime",
}

from .spec.choices import EXIT_CANCELLED, EXIT_USER_ERROR  # noqa: F401 - re-exported


class OneLineArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse prints usage + message; we print one line
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineArgumentParser(prog="noisyseg", allow_abbrev=False,
                                   description="Turn the maps you already have into a segmentation model for your imagery.")
    parser.add_argument("--version", action="version", version=f"qgis_noisyseg {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineArgumentParser)
    sub.required = True
    for name, help_text in COMMANDS.items():
        module = importlib.import_module(f".commands.{name.replace('-', '_')}", __package__)
        command = sub.add_parser(name, help=help_text, description=help_text, allow_abbrev=False)
        module.add_arguments(command)
        command.add_argument("--json", action="store_true", help="print progress as JSON lines on stdout")
        command.set_defaults(_module=module, _parser=command)
    return parser


def parse_command_line(argv: Sequence[str], parser: Optional[argparse.ArgumentParser] = None,
                       check: bool = True) -> argparse.Namespace:
    """The parsed arguments, plus ``command_line`` (for run folders and manifests) and
    ``_explicit``: the options given on the command line rather than left at their defaults
    (``--resume`` honours or refuses exactly those). With ``check``, every value is checked
    against the command's spec (SpecError: one line that names the flag)."""
    argv = [str(a) for a in argv]
    args = (parser or build_parser()).parse_args(argv)
    args.command_line = ["noisyseg", *argv]
    args._explicit = given_options(args._parser, argv[1:])
    if check:
        check_arguments(args)
    return args


def check_arguments(args: argparse.Namespace):
    """The command's typed options (spec/commands.py) from the parsed arguments, each checked."""
    from .spec.arguments import check_namespace
    from .spec.commands import spec_for

    return check_namespace(spec_for(args.command, getattr(args, "study_kind", None)), args)


def given_options(parser: argparse.ArgumentParser, argv: Sequence[str]) -> frozenset:
    given = set()
    for action in parser._actions:  # argparse keeps no record of which options were typed
        for flag in action.option_strings:
            if any(arg == flag or arg.startswith(flag + "=") for arg in argv):
                given.add(action.dest)
    return frozenset(given)


def command_line_of(options) -> list[str]:
    """``noisyseg COMMAND ARGS``: the command line that gives ``options`` (for run folders and reports)."""
    from .spec.commands import command_argv

    return ["noisyseg", *command_argv(options)]


def run_options(options, reporter) -> dict:
    """Runs a command in this process from its typed options (an instance of a class of
    spec/commands.py), as the studies and the demo do: no argv is built and parsed again. The
    values are checked as the CLI checks them (SpecError), the command line the CLI would have
    run is recorded (``command_line``, for run folders), and the options that differ from their
    defaults count as given (``--resume`` honours or refuses exactly those)."""
    from .spec.commands import command_of
    from .spec.fields import options_of, validate

    command = command_of(options)
    validate(options)
    module = importlib.import_module(f".commands.{command.replace('-', '_')}", __package__)
    found = options_of(options)
    args = argparse.Namespace(**{o.dest: getattr(options, o.dest) for o in found})
    args.command, args.json, args._module = command, False, module
    args.command_line = command_line_of(options)
    args._explicit = frozenset(o.dest for o in found if getattr(options, o.dest) != o.default)
    return module.run(args, reporter)


def main(argv: Optional[Sequence[str]] = None) -> int:
    from .core.errors import Cancelled, UserError
    from .core.progress import Reporter, install_cancel_channels
    from .spec.fields import SpecError

    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_command_line(argv, check=False)
    reporter = Reporter(json_lines=args.json)
    _route_python_warnings(reporter)
    restore = install_cancel_channels(reporter.cancel)
    try:
        check_arguments(args)
        outputs = args._module.run(args, reporter)
    except (UserError, SpecError) as exc:
        return _user_error(args, reporter, str(exc))
    except Cancelled as exc:
        reporter.emit("cancelled", reason=str(exc))
        sys.stderr.write(f"noisyseg {args.command}: cancelled ({exc})\n")
        return EXIT_CANCELLED
    except Exception as exc:  # noqa: BLE001 - report, then show the traceback for the bug report
        from .core.oserrors import describe

        message = describe(exc, getattr(args, "out", None))
        if message is not None:  # the disk or the file system, not a bug: one line (core.oserrors)
            return _user_error(args, reporter, message)
        reporter.emit("error", message=f"{type(exc).__name__}: {exc}", kind="internal")
        traceback.print_exc()
        return 1
    finally:
        restore()
    reporter.emit("done", outputs=outputs or {})
    if not args.json and outputs:
        for key, value in outputs.items():  # nested results are for --json and the files written
            if key != "warnings" and not isinstance(value, (dict, list)):
                sys.stdout.write(f"{key}: {value}\n")
    return 0


def _user_error(args, reporter, message: str) -> int:
    message = message.replace("\n", " ")
    reporter.emit("error", message=message, kind="user")
    sys.stderr.write(f"noisyseg {args.command}: error: {message}\n")
    return EXIT_USER_ERROR


def _route_python_warnings(reporter) -> None:
    """Library warnings become one-line reporter warnings, not two-line Python ones. Two are
    known noise: Debian's pyproj (imported by pyogrio, unused here) not finding its data from a
    venv, and rasterio's NotGeoreferencedWarning, which our own checks turn into a clear error."""
    warnings.filterwarnings("ignore", message="Valid PROJ data directory not found")
    warnings.filterwarnings("ignore", message="Dataset has no geotransform")
    warnings.filterwarnings("ignore", category=PendingDeprecationWarning)
    warnings.showwarning = lambda message, category, *_rest, **_kw: reporter.warning(f"{category.__name__}: {message}")


if __name__ == "__main__":
    sys.exit(main())

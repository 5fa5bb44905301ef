"""``noisyseg demo``: the whole story on the bundled Denmark Sentinel-2 scene (the story itself
lives in qgis_noisyseg/demo/)."""

from __future__ import annotations

import argparse

from ..spec.arguments import add_arguments as add_spec_arguments
from ..spec.commands import DemoOptions

SPEC = DemoOptions


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_spec_arguments(p, SPEC)


def run(args: argparse.Namespace, reporter) -> dict:
    from ..demo.story import Demo

    return Demo(args, reporter).run()

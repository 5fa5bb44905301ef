"""``noisyseg demo``: the main job on the bundled Denmark Sentinel-2 scene.

The operator's situation: an old, incomplete parcel map (the noisy labels) and the full 2016
map, of which a few tiles stand in for hand-checked clean annotations.
"""

from __future__ import annotations

import argparse
from pathlib import Path

BUNDLED_DATA = Path(__file__).resolve().parents[2] / "data"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="demo_out", help="output folder (default demo_out); replaced on each run")
    p.add_argument("--data-dir", default=str(BUNDLED_DATA), help="folder holding denmark_s2_fields/")
    p.add_argument("--tile", type=int, default=64, help="tile size in pixels (default 64)")


def run(args: argparse.Namespace, reporter) -> dict:
    import shutil

    from ..core.errors import UserError
    from ..core.export import export_dataset
    from ..core.noise import corrupt_dataset

    scene = Path(args.data_dir) / "denmark_s2_fields"
    image = scene / "RGB_small.tif"
    if not image.exists():
        raise UserError(f"the demo scene is not in {scene}; pass --data-dir pointing at the repository's data/ folder")
    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    common = dict(field="AfgKode", classes=scene / "classes.json", tile=args.tile, unlabeled="ignore",
                  reporter=reporter, command=args.command_line)
    reporter.info("1/3 exporting the old, incomplete parcel map (EPSG:3044) as noisy labels")
    noisy = export_dataset(image, [str(scene / "marker_small_c31bc47.shp")], out / "noisy", **common)
    reporter.info("2/3 exporting the full 2016 parcel map (the source of clean tiles)")
    full = export_dataset(image, [str(scene / "marker2016_small.shp")], out / "full2016", **common)
    reporter.info("3/3 corrupting the 2016 labels at rate 0.3 (simulated label noise)")
    corrupted = corrupt_dataset(out / "full2016", out / "full2016_corrupted", rate=0.3,
                                kinds=["remove", "shift", "erode", "dilate", "rotate", "flip"], seed=0,
                                overwrite=False, reporter=reporter)
    return {
        "noisy_dataset": noisy["dataset"],
        "full_dataset": full["dataset"],
        "corrupted_dataset": corrupted["dataset"],
        "noisy_tiles": noisy["tiles"],
        "objects_corrupted": sum(corrupted["touched"].values()),
    }

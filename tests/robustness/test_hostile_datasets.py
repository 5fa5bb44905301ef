"""Damaged dataset folders, for every command that reads one (issue 16).

A dataset is a folder that arrives from somewhere else, so every command checks it
(``core/validate.py``): the manifest's keys and types, every tile present, inside the folder and
readable up front; each tile's size, bands, data type and mask values as it is read. A row
damages the work copy of the dataset, runs one command, and checks exit 2, one stderr line
naming the problem, no traceback, and that nothing under the work folder changed or is new:
the training commands run with ``--overwrite`` onto the earlier run, which must survive.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import rasterio

from tests.core.test_clean import MAIN, standard_polygons, write_annotations
from tests.robustness.conftest import assert_one_line_error, assert_unchanged, snapshot


def manifest_of(work: Path) -> dict:
    return json.loads((work / "dataset" / "manifest.json").read_text())


def save_manifest(work: Path, manifest) -> None:
    (work / "dataset" / "manifest.json").write_text(json.dumps(manifest))


def first_tile(work: Path) -> dict:
    return manifest_of(work)["tiles"][0]


def edit_manifest(change: Callable[[dict], object]) -> Callable[[Path], None]:
    def damage(work: Path) -> None:
        manifest = manifest_of(work)
        change(manifest)
        save_manifest(work, manifest)
    return damage


def every_tile(kind: str, change: Callable[[Path], None]) -> Callable[[Path], None]:
    """Damage every tile's ``kind`` file: whichever tiles a command reads, it meets one."""
    def damage(work: Path) -> None:
        for tile in manifest_of(work)["tiles"]:
            change(work / "dataset" / tile[kind])
    return damage


def delete_first(kind: str) -> Callable[[Path], None]:
    return lambda work: (work / "dataset" / first_tile(work)[kind]).unlink()


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def garbage(path: Path) -> None:
    path.write_bytes(os.urandom(2000))


def empty(path: Path) -> None:
    path.write_bytes(b"")


def rewrite_image(bands=None, size=None, dtype=None) -> Callable[[Path], None]:
    def change(path: Path) -> None:
        with rasterio.open(path) as src:
            pixels, profile = src.read(), src.profile
        count = bands or pixels.shape[0]
        side = size or pixels.shape[1]
        new = np.resize(pixels, (count, side, side)).astype(dtype or pixels.dtype)
        profile.update(count=count, width=side, height=side, dtype=str(new.dtype))
        profile.pop("predictor", None)
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(new)
    return change


def mask_values(value: int) -> Callable[[Path], None]:
    def change(path: Path) -> None:
        with rasterio.open(path, "r+") as dst:
            mask = dst.read(1)
            mask[:8, :8] = value
            dst.write(mask, 1)
    return change


def point_first(kind: str, target: Callable[[Path], str]) -> Callable[[Path], None]:
    def damage(work: Path) -> None:
        manifest = manifest_of(work)
        manifest["tiles"][0][kind] = target(work)
        save_manifest(work, manifest)
    return damage


def outside_tif(work: Path) -> str:
    """A real GeoTIFF outside the dataset, reached by a relative path."""
    (work / "outside.tif").write_bytes((work / "dataset" / first_tile(work)["image"]).read_bytes())
    return "../outside.tif"


def symlink_out(work: Path) -> None:
    tile = first_tile(work)
    target = work / "dataset" / tile["image"]
    (work / "elsewhere.tif").write_bytes(target.read_bytes())
    target.unlink()
    target.symlink_to(work / "elsewhere.tif")


def fewer_classes(manifest: dict) -> None:
    manifest["classes"] = manifest["classes"][:3]  # the masks still hold ids 3..6


def duplicate_tile(manifest: dict) -> None:
    manifest["tiles"].append(dict(manifest["tiles"][0]))


@dataclass
class Damage:
    id: str
    apply: Callable[[Path], object]
    message: str  # a fragment of the one-line error (besides the dataset's name)


DAMAGES = [
    Damage("mask-missing", delete_first("mask"), "is missing (tile"),
    Damage("image-missing", delete_first("image"), "is missing (tile"),
    Damage("mask-truncated", every_tile("mask", truncate), "is damaged"),
    Damage("image-truncated", every_tile("image", truncate), "is damaged"),
    Damage("image-random-bytes", every_tile("image", garbage), "is damaged"),
    Damage("mask-empty-file", every_tile("mask", empty), "is empty (tile"),
    Damage("image-wrong-size", every_tile("image", rewrite_image(size=32)), "not the manifest's 64 x 64"),
    Damage("image-wrong-bands", every_tile("image", rewrite_image(bands=2)), "has 2 bands, not the manifest's 3"),
    Damage("image-wrong-dtype", every_tile("image", rewrite_image(dtype="float32")), "holds float32, not the manifest's uint16"),
    Damage("mask-values-above-classes", every_tile("mask", mask_values(200)), "holds class values 200"),
    Damage("manifest-without-tiles", edit_manifest(lambda m: m.pop("tiles")), "no 'tiles'"),
    Damage("manifest-without-classes", edit_manifest(lambda m: m.pop("classes")), "no 'classes'"),
    Damage("manifest-without-image", edit_manifest(lambda m: m.pop("image")), "no 'image'"),
    Damage("manifest-without-tile-size", edit_manifest(lambda m: m.pop("tile_size")), "no 'tile_size'"),
    Damage("manifest-without-band-stats", edit_manifest(lambda m: m.pop("band_stats")), "no 'band_stats'"),
    Damage("manifest-tiles-not-a-list", edit_manifest(lambda m: m.update(tiles={"a": 1})), "'tiles' is dict"),
    Damage("manifest-tile-size-a-string", edit_manifest(lambda m: m.update(tile_size="64")), "'tile_size' is str"),
    Damage("manifest-band-stats-nan", edit_manifest(lambda m: m["band_stats"]["mean"].__setitem__(0, float("nan"))),
           "band_stats needs 3 finite"),
    Damage("manifest-not-json", lambda w: (w / "dataset" / "manifest.json").write_text('{"tiles": ['), "not valid JSON"),
    Damage("manifest-a-list", lambda w: save_manifest(w, [1, 2]), "not a noisyseg dataset manifest"),
    Damage("tile-image-is-etc-passwd", point_first("image", lambda w: "/etc/passwd"), "points outside the dataset"),
    Damage("tile-image-dot-dot", point_first("image", outside_tif), "points outside the dataset"),
    Damage("tile-image-symlink-outside", symlink_out, "outside the dataset folder"),
    Damage("classes-do-not-match-masks", edit_manifest(fewer_classes), "not one of the manifest's classes"),
    Damage("tile-listed-twice", edit_manifest(duplicate_tile), "listed twice"),
    Damage("tile-without-split", edit_manifest(lambda m: m["tiles"][0].pop("split")), "not train, val or test"),
]


def annotations(work: Path) -> None:
    write_annotations(work / "scene" / "clean.gpkg", work / "dataset", {MAIN}, standard_polygons(work / "dataset"))


@dataclass
class Command:
    id: str
    argv: Callable[[Path], list]
    setup: Callable[[Path], object] = lambda work: None  # before the damage


COMMANDS = [
    Command("pretrain", lambda w: ["pretrain", "--data", w / "dataset", "--out", w / "run", "--overwrite", "--epochs", "1",
                                   "--base-width", "8", "--device", "cpu"]),
    Command("finetune", lambda w: ["finetune", "--data", w / "dataset", "--init", w / "run" / "model.pt", "--out",
                                   w / "ft", "--epochs", "1", "--device", "cpu"]),
    Command("evaluate", lambda w: ["evaluate", "--model", w / "run" / "model.pt", "--data", w / "dataset", "--split",
                                   "all", "--device", "cpu", "--out", w / "metrics.json"]),
    Command("suggest", lambda w: ["suggest", "--model", w / "model.onnx", "--data", w / "dataset", "--out",
                                  w / "suggestions.json"]),
    Command("corrupt", lambda w: ["corrupt", "--data", w / "dataset", "--out", w / "noisier", "--rate", "0.3"]),
    Command("analyze", lambda w: ["analyze", "--a", w / "run" / "model.pt", "--b", w / "run" / "model.pt", "--data",
                                  w / "dataset", "--out", w / "analysis", "--tiles", "2"]),
    Command("study", lambda w: ["study", "label-efficiency", "--noisy", w / "dataset", "--clean", w / "dataset",
                                "--test", w / "dataset", "--k", "2", "--seeds", "1", "--inits", "scratch", "--epochs",
                                "1", "--base-width", "8", "--device", "cpu", "--out", w / "study"]),
    Command("clean", lambda w: ["clean", "--data", w / "dataset", "--labels", f"{w / 'scene' / 'clean.gpkg'}:clean_labels",
                                "--tiles", f"{w / 'scene' / 'clean.gpkg'}:tiles", "--out", w / "clean"],
            setup=annotations),
]
# Damage the clean command cannot meet: its tiles are those marked done in the GeoPackage, and
# its annotations name the dataset's tiles by id (a listed-twice tile is still one tile there).
SKIP = {("clean", "tile-listed-twice")}
# corrupt rewrites masks only: a manifest without the imagery's description or statistics is
# still a dataset it can corrupt (it copies the images as they are).
SKIP |= {("corrupt", "manifest-without-image"), ("corrupt", "manifest-without-band-stats")}

ROWS = [(c, d) for c in COMMANDS for d in DAMAGES if (c.id, d.id) not in SKIP]


@pytest.mark.parametrize("command,damage", ROWS, ids=[f"{c.id}-{d.id}" for c, d in ROWS])
def test_a_damaged_dataset_is_refused_in_one_line(command: Command, damage: Damage, inputs: Path, run_cli):
    command.setup(inputs)
    damage.apply(inputs)
    before = snapshot(inputs)
    result = run_cli(*command.argv(inputs), "--json")
    line = assert_one_line_error(result, damage.message)
    assert "dataset" in line or "manifest" in line, line
    assert_unchanged(before, snapshot(inputs))


def test_the_message_names_the_file_the_tile_and_the_fix(inputs: Path, run_cli):
    tile = first_tile(inputs)
    (inputs / "dataset" / tile["mask"]).unlink()
    result = run_cli("evaluate", "--model", inputs / "run" / "model.pt", "--data", inputs / "dataset", "--json")
    line = assert_one_line_error(result)
    assert line == (f"noisyseg evaluate: error: dataset {inputs / 'dataset'}: {tile['mask']} is missing "
                    f"(tile {tile['id']}); re-export the dataset or delete the tile from manifest.json")


def test_a_tile_deleted_from_the_manifest_is_a_working_dataset(inputs: Path, run_cli):
    """The fix the message names works: the damaged tile's entry removed, the command runs."""
    manifest = manifest_of(inputs)
    (inputs / "dataset" / manifest["tiles"][0]["mask"]).unlink()
    manifest["tiles"] = manifest["tiles"][1:]
    save_manifest(inputs, manifest)
    result = run_cli("evaluate", "--model", inputs / "run" / "model.pt", "--data", inputs / "dataset", "--split",
                     "all", "--json")
    assert result.code == 0, result.err
    assert result.events()[-1]["outputs"]["tiles"] == len(manifest["tiles"])

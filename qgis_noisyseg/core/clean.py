"""``noisyseg clean``: a clean dataset from the operator's corrected GeoPackage.

The GeoPackage has two layers (docs/contracts.md): ``clean_labels``, polygons with a
``class_id`` that is a class id of the noisy dataset, and ``tiles``, one polygon per tile of
the noisy dataset with ``tile_id`` and ``done``. Each tile marked done gets a new mask: the
clean polygons burned onto its window of the noisy dataset's grid (reprojected when their CRS
differs), the rest unlabelled, and 255 outside the image's valid area. Image tiles, classes and
band statistics are the noisy dataset's, so normalisation matches pretraining.
"""

from __future__ import annotations

import datetime as _dt
import math
import shutil
import warnings
from pathlib import Path
from typing import Optional

import numpy as np
import pyogrio
import rasterio
import shapely
from affine import Affine
from rasterio.crs import CRS
from rasterio.transform import array_bounds

from .. import __version__
from .atomic import atomic_dir, write_json
from ..spec.choices import UNLABELED
from ..spec.names import CLASS_FIELD, DONE_FIELD, TILE_ID_FIELD
from .classes import BACKGROUND, IGNORE, ClassDef, ClassMap, normalize_value
from .dataset import MANIFEST, Dataset, class_histogram, mask_profile
from .errors import UserError
from .imagery import sha256_of
from .labels import VectorLabels, is_vector, parse_label_arg, read_geometries
from .outputs import plan_outputs
from .progress import Reporter

UNLABELED_CHOICES = UNLABELED
DONE_VALUES = {"1", "True"}
SPLIT_FIELD = "split"
CHECK = "check"  # a tiles layer's split of a check tile (core/check_tiles.py): the clean dataset's test split
POLYGON_TYPES = {"Polygon", "MultiPolygon"}
GENERIC_GEOMETRY_TYPES = {"Unknown", "Geometry", "GeometryCollection"}


def build_clean_dataset(
    data: str | Path,
    labels: str,
    tiles: str,
    out: str | Path,
    *,
    field: str = CLASS_FIELD,
    unlabeled: Optional[str] = None,
    val_fraction: float = 0.25,
    overwrite: bool = False,
    reporter: Optional[Reporter] = None,
    command: Optional[list[str]] = None,
    arguments: Optional[dict] = None,
) -> dict:
    reporter = reporter or Reporter(quiet=True)
    noisy = Dataset(data)
    out = Path(out)
    unlabeled = unlabeled or noisy.manifest.get("unlabeled", "ignore")
    if unlabeled not in UNLABELED_CHOICES:
        raise UserError(f"--unlabeled must be one of {', '.join(UNLABELED_CHOICES)}, got {unlabeled!r}")
    if not (math.isfinite(val_fraction) and 0.0 <= val_fraction < 1.0):
        raise UserError(f"--val-fraction must be at least 0 and below 1, got {val_fraction}")
    plan = plan_outputs(overwrite, [(data, "--data"), (labels, "--labels"), (tiles, "--tiles")], reporter)
    plan.folder(out, "--out", "dataset")
    plan.check()

    done_tiles, check_ids = _done_tiles(tiles, noisy)
    splits = assign_clean_splits([t["id"] for t in done_tiles if t["id"] not in check_ids], val_fraction)
    splits.update({tile_id: "test" for tile_id in check_ids})
    manifest = noisy.manifest
    image_crs = CRS.from_wkt(manifest["crs_wkt"])
    image = manifest["image"]
    image_bounds = array_bounds(image["height"], image["width"], Affine(*image["transform"]))
    class_map = ClassMap([ClassDef(c.id, c.name, c.color, [str(c.id)]) for c in noisy.classes.classes])
    burner = _clean_labels(labels, field, image_crs, image_bounds, class_map, noisy)
    fill = BACKGROUND if unlabeled == "background" else IGNORE

    with plan.writing(), atomic_dir(out, "dataset") as tmp:
        (tmp / "images").mkdir()
        (tmp / "masks").mkdir()
        entries = []
        for i, tile in enumerate(done_tiles):
            entries.append(_write_clean_tile(tmp, noisy, tile, splits[tile["id"]], burner, fill, class_map, image_crs))
            reporter.progress("clean", i + 1, len(done_tiles))
        unlabelled_tiles = [e["id"] for e in entries if e["labeled_fraction"] == 0]
        if unlabelled_tiles:
            reporter.warning(f"{len(unlabelled_tiles)} tiles marked done have no labelled pixel: "
                             f"{', '.join(unlabelled_tiles[:5])}")
        if burner.repaired_fids:
            reporter.warning(f"repaired {len(burner.repaired_fids)} invalid clean polygons (shapely make_valid)")
        split_counts = {name: sum(1 for e in entries if e["split"] == name) for name in ("train", "val", "test")}
        clean_manifest = {
            **{k: v for k, v in manifest.items() if k not in ("dropped_at_split_borders",)},
            "package_version": __version__,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "command": command,
            "arguments": arguments or {},
            "unlabeled": unlabeled,
            "label_sources": [{**burner.describe(), "tiles_layer": _describe_tiles_arg(tiles)}],
            "label_field": _noisy_label_field(manifest),
            "label_source": "clean",
            "noise": None,
            "source_dataset": {"path": str(noisy.root.resolve()),
                               "manifest_sha256": sha256_of([noisy.root / MANIFEST]),
                               "label_source": manifest.get("label_source")},
            "split_block_px": None,
            "splits": split_counts,
            "tiles": entries,
        }
        write_json(tmp / MANIFEST, clean_manifest)
        noisy.classes.save(tmp / "classes.json")
    reporter.info(f"wrote {len(entries)} clean tiles to {out} ({split_counts['train']} train, "
                  f"{split_counts['val']} val, {split_counts['test']} check)")
    labelled = sum(e["labeled_fraction"] for e in entries) / len(entries)
    return {"dataset": str(out), "tiles": len(entries), "splits": split_counts, "classes": noisy.classes.num_classes,
            "labeled_fraction": round(labelled, 6), "warnings": list(reporter.warnings),
            "tile_splits": {e["id"]: e["split"] for e in entries}}


def assign_clean_splits(tile_ids: list[str], val_fraction: float) -> dict[str, str]:
    """Tiles sorted by id; about ``val_fraction`` of them (at least one when there are two or
    more and the fraction is not 0, never all) go to val, spread evenly over that order."""
    ordered = sorted(tile_ids)
    n = len(ordered)
    n_val = 0 if n < 2 or val_fraction <= 0 else min(n - 1, max(1, round(val_fraction * n)))
    val = {int((k + 0.5) * n / n_val) for k in range(n_val)} if n_val else set()
    return {tile_id: "val" if i in val else "train" for i, tile_id in enumerate(ordered)}


def _vector_arg(text: str, option: str) -> tuple[Path, Optional[str]]:
    path, layer = parse_label_arg(text)
    if not is_vector(path):
        raise UserError(f"{option} {text}: expected a vector layer such as FILE.gpkg:{'tiles' if option == '--tiles' else 'clean_labels'}")
    if not path.exists():
        raise UserError(f"{option} {path} does not exist")
    return path, layer


def _read_layer_info(path: Path, layer: Optional[str], option: str) -> tuple[Optional[str], dict]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            layers = [str(name) for name, _ in pyogrio.list_layers(path)]
        except Exception as exc:  # noqa: BLE001 - pyogrio raises DataSourceError and friends
            raise UserError(f"{option} {path} cannot be read as a vector file ({str(exc).splitlines()[0]})") from None
        if layer is None and len(layers) > 1:
            raise UserError(f"{option}: {path.name} has {len(layers)} layers; name one as {path.name}:LAYER "
                            f"(layers: {', '.join(layers)})")
        if layer is not None and layer not in layers:
            raise UserError(f"{option}: layer {layer!r} is not in {path.name}; its layers are: {', '.join(layers)}")
        return layer, pyogrio.read_info(path, layer=layer)


def _done_tiles(text: str, noisy: Dataset) -> tuple[list[dict], set[str]]:
    """The noisy dataset's tiles that the tiles layer marks done, sorted by id, and those of them
    whose ``split`` is ``check`` (when the layer has that field)."""
    path, layer = _vector_arg(text, "--tiles")
    layer, info = _read_layer_info(path, layer, "--tiles")
    name = f"{path.name}:{layer}" if layer else path.name
    fields = list(info["fields"])
    for required in (TILE_ID_FIELD, DONE_FIELD):
        if required not in fields:
            raise UserError(f"field {required!r} is not in {name}; its fields are: {', '.join(fields) or 'none'}")
    columns = [TILE_ID_FIELD, DONE_FIELD] + ([SPLIT_FIELD] if SPLIT_FIELD in fields else [])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        meta, _, _, values = pyogrio.raw.read(path, layer=layer, columns=columns, read_geometry=False)
    column = dict(zip(list(meta["fields"]), values))  # in the layer's order, not the order asked for
    tile_ids, done = column[TILE_ID_FIELD], column[DONE_FIELD]
    split = column.get(SPLIT_FIELD, [None] * len(tile_ids))
    done_ids = sorted({normalize_value(t) for t, d in zip(tile_ids, done)
                       if normalize_value(d) in DONE_VALUES and normalize_value(t)})
    check_ids = {normalize_value(t) for t, d, s in zip(tile_ids, done, split)
                 if normalize_value(d) in DONE_VALUES and s is not None and str(s).strip().lower() == CHECK}
    if not done_ids:
        raise UserError(f"no tile of {name} is marked done ({DONE_FIELD} = 1); correct some tiles and mark them done first")
    by_id = {t["id"]: t for t in noisy.tiles}
    unknown = [t for t in done_ids if t not in by_id]
    if unknown:
        raise UserError(f"{name}: tile_id {', '.join(repr(t) for t in unknown[:5])}"
                        f"{' and more' if len(unknown) > 5 else ''} marked done {'is' if len(unknown) == 1 else 'are'} "
                        f"not in dataset {noisy.root}; the tiles layer must come from this dataset")
    return [by_id[t] for t in done_ids], check_ids


def _clean_labels(text: str, field: str, image_crs: CRS, image_bounds, class_map: ClassMap, noisy: Dataset) -> VectorLabels:
    path, layer = _vector_arg(text, "--labels")
    layer, info = _read_layer_info(path, layer, "--labels")
    name = f"{path.name}:{layer}" if layer else path.name
    if info["features"] == 0:
        raise UserError(f"{name} has no polygons; draw the clean labels of the tiles marked done first")
    _require_polygons(path, layer, name, info["geometry_type"])
    source = VectorLabels(path, layer, field, None, image_crs, image_bounds, all_touched=False)
    source.bind(class_map)
    if source.unmatched:
        ids = f"0..{class_map.num_classes - 1}"
        listed = ", ".join(f"{value} ({count} polygon{'s' if count != 1 else ''})"
                           for value, count in list(source.unmatched.items())[:5])
        raise UserError(f"{name}: {field} values {listed} are not class ids of dataset {noisy.root} ({ids}); "
                        f"set {field} of every clean polygon to one of them")
    return source


def _require_polygons(path: Path, layer: Optional[str], name: str, geometry_type: Optional[str]) -> None:
    base = (geometry_type or "Unknown").split(" ")[0]
    if base in POLYGON_TYPES:
        return
    if base not in GENERIC_GEOMETRY_TYPES:
        raise UserError(f"{name} holds {geometry_type} geometries; clean labels must be polygons")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, _, wkb, _ = pyogrio.raw.read(path, layer=layer, columns=[], force_2d=True)
    geoms = read_geometries(np.asarray(wkb, dtype=object))[0]
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    found = sorted({g.geom_type for g in geoms} - POLYGON_TYPES)
    if found:
        raise UserError(f"{name} holds {', '.join(found)} geometries; clean labels must be polygons")


def _write_clean_tile(tmp: Path, noisy: Dataset, tile: dict, split: str, burner: VectorLabels, fill: int,
                      class_map: ClassMap, crs: CRS) -> dict:
    window = tile["window"]
    height, width = int(window["height"]), int(window["width"])
    transform = Affine(*tile["transform"])
    valid = noisy.read_tile(tile)[1]
    mask = np.full((height, width), fill, dtype=np.uint8)
    burner.burn(mask, transform, array_bounds(height, width, transform))
    mask[~valid] = IGNORE
    image_path, mask_path = f"images/{tile['id']}.tif", f"masks/{tile['id']}.tif"
    shutil.copyfile(noisy.root / tile["image"], tmp / image_path)
    profile = {**mask_profile(transform, crs, width), "height": height}
    with rasterio.open(tmp / mask_path, "w", **profile) as dst:
        dst.write(mask, 1)
        dst.write_colormap(1, class_map.colormap())
    return {
        "id": tile["id"], "image": image_path, "mask": mask_path, "window": dict(window),
        "transform": list(tile["transform"]), "split": split, "label_source": "clean",
        "noisy_split": tile.get("split"), "valid_fraction": tile.get("valid_fraction", round(float(valid.mean()), 6)),
        "labeled_fraction": round(float(np.count_nonzero(mask != IGNORE)) / mask.size, 6),
        "class_histogram": class_histogram(mask),
    }


def _describe_tiles_arg(text: str) -> dict:
    path, layer = parse_label_arg(text)
    return {"path": str(path.resolve()), "layer": layer, "sha256": sha256_of([path])}


def _noisy_label_field(manifest: dict) -> Optional[str]:
    """The field the classes' source values come from (they stay the noisy dataset's)."""
    if manifest.get("label_field"):
        return manifest["label_field"]
    return next((s.get("field") for s in manifest.get("label_sources", []) if s.get("field")), None)

"""What every part of the annotation shares: the package of two layers, its errors and messages,
the dataset's manifest (read by core/dataset.py, the reader every command uses), and one undo
step per change."""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Union

from qgis.core import NULL, QgsFeatureRequest, QgsVectorLayer
from qgis.PyQt.QtCore import QCoreApplication

from ...core.classes import UserError
from ...core.dataset import Dataset, NotADataset, class_pixels
from ...spec.names import TILE_ID_FIELD

CHECK = "check"  # the split of a check tile, as noisyseg clean reads it

PathLike = Union[str, os.PathLike]


def tr(text: str) -> str:
    return QCoreApplication.translate("NoisySegAnnotation", text)


class AnnotationError(Exception):
    """A problem the operator can fix; the message says which and how."""


@dataclass
class AnnotationPackage:
    """The GeoPackage and its two layers (ogr provider). The panel may swap a layer for the
    project's layer of the same source; every function here works on whichever it holds."""

    path: Path
    labels: QgsVectorLayer
    tiles: QgsVectorLayer


def open_dataset(dataset_dir: PathLike) -> Dataset:
    """The noisy dataset's manifest, read and checked by core/dataset.py (no raster is read);
    a folder that is no dataset, or a damaged manifest, is an AnnotationError of one line."""
    root = Path(dataset_dir)
    try:
        return Dataset(root, require=())
    except NotADataset as exc:
        if exc.detail is None:
            raise AnnotationError(tr("{} is not a noisyseg dataset folder").format(root)) from None
        raise AnnotationError(tr("{} is not a noisyseg dataset folder (manifest.json: {})").format(root, exc.detail)) \
            from None
    except UserError as exc:
        raise AnnotationError(str(exc)) from None


def dataset_classes(dataset: Dataset) -> list[dict]:
    """The manifest's classes (id, name, colour, source values), by id."""
    return sorted(dataset.manifest["classes"], key=lambda c: int(c["id"]))


def dataset_tile(dataset: Dataset, tile_id: str) -> dict:
    for tile in dataset.tiles:
        if tile["id"] == tile_id:
            return tile
    raise AnnotationError(tr("Tile {} is not in dataset {}").format(tile_id, dataset.root))


def most_common_class(dataset: Dataset) -> int:
    """The class with the most pixels in the noisy masks (0 when they hold none)."""
    pixels = Counter(class_pixels(dataset.tiles))
    return pixels.most_common(1)[0][0] if pixels else 0


@contextlib.contextmanager
def _edit_step(layer: QgsVectorLayer, description: str) -> Iterator[None]:
    """One undo step. In the operator's edit session the change stays in it, to be saved or undone
    with the rest; otherwise it is written to the file at once."""
    editing = layer.isEditable()
    if not editing and not layer.startEditing():
        raise AnnotationError(tr("Layer {} cannot be edited").format(layer.name()))
    layer.beginEditCommand(description)
    try:
        yield
    except BaseException:
        layer.destroyEditCommand()
        if not editing:
            layer.rollBack()
        raise
    layer.endEditCommand()
    if not editing and not layer.commitChanges():
        errors = "; ".join(layer.commitErrors())
        layer.rollBack()
        raise AnnotationError(tr("Cannot save layer {}: {}").format(layer.name(), errors))


def _tile_fids(tiles: QgsVectorLayer) -> dict[str, int]:
    request = QgsFeatureRequest().setFlags(QgsFeatureRequest.Flag.NoGeometry).setSubsetOfAttributes([TILE_ID_FIELD],
                                                                                                    tiles.fields())
    return {feature[TILE_ID_FIELD]: feature.id() for feature in tiles.getFeatures(request)}


def _fids_of(tiles: QgsVectorLayer, tile_ids: Iterable[str]) -> dict[str, int]:
    fids = _tile_fids(tiles)
    unknown = [tile_id for tile_id in tile_ids if tile_id not in fids]
    if unknown:
        raise AnnotationError(tr("Tiles {} are not in layer {}").format(", ".join(unknown[:5]), tiles.name()))
    return {tile_id: fids[tile_id] for tile_id in tile_ids}


def _python(value):
    """None for QGIS's NULL (a QVariant in PyQGIS 3.22), else the value."""
    return None if value == NULL else value


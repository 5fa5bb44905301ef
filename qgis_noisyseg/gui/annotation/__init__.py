"""The clean-label GeoPackage: the operator's corrections, edited with QGIS's own tools.

Layer ``clean_labels`` (MultiPolygon; ``class_id`` integer, ``tile_id`` text) holds the clean
polygons, layer ``tiles`` (Polygon; ``tile_id``, ``split`` text, ``done`` 0/1, ``score`` real or
null) one polygon per tile of the noisy dataset. ``split`` is the tile's role in the clean
dataset: ``check`` for a check tile (drawn at random, scored on, never trained on: see
core/check_tiles.py), ``train`` or ``val`` once ``noisyseg clean`` has put a done tile there,
empty for a tile not used. Both are in the dataset's CRS; ``noisyseg clean``
reads them as ``FILE.gpkg:clean_labels`` and ``FILE.gpkg:tiles``.

Nothing here deletes or overwrites a feature: opening a package again only adds the tiles it
lacks, prefilling skips tiles that already hold clean polygons, and every change made while the
operator edits a layer goes into their edit session as one undo step.

One concern per module: ``base`` (the package, its errors, the dataset's manifest through
core/dataset.py, one undo step), ``schema`` (the GeoPackage's layers and the tiles' polygons),
``prefill`` (noisy masks to polygons), ``style`` (symbols, labels and forms) and ``edits``
(done, splits, check tiles, scores, selection, saving, AutoSaver). Their public names are
importable from here.
"""

from ...bridge.layers import dataset_crs, tile_polygon
from ...spec.names import (CLASS_FIELD, CLEAN_LAYER, DONE_FIELD, IGNORE, SCORE_FIELD, SPLIT_FIELD,
                           TILE_ID_FIELD, TILES_LAYER)
from .base import (CHECK, AnnotationError, AnnotationPackage, PathLike, dataset_classes, dataset_tile,
                   most_common_class, open_dataset, tr)
from .edits import (AutoSaver, add_check_tiles, check_tile_ids, commit_edits, done_count, done_tile_ids,
                    mark_done, select_tiles, selected_tile_ids, set_scores, set_splits, tile_count, training_done_ids)
from .prefill import prefill_tiles
from .schema import (CLEAN_FIELDS, TILES_FIELDS, clean_layer_uri, create_annotation_package,
                     tiles_layer_uri)
from .style import (CHECK_COLOUR, DONE_COLOUR, FILL_ALPHA, TODO_COLOUR, class_value_map,
                    has_class_style, label_with_class_names, style_by_class, style_clean_layer, style_tiles_layer)

__all__ = ["add_check_tiles", "AnnotationError", "AnnotationPackage", "AutoSaver", "CHECK", "CHECK_COLOUR",
           "check_tile_ids", "CLASS_FIELD", "class_value_map", "CLEAN_FIELDS", "CLEAN_LAYER", "clean_layer_uri",
           "commit_edits", "create_annotation_package", "dataset_classes", "dataset_crs", "dataset_tile",
           "DONE_COLOUR", "done_count", "DONE_FIELD", "done_tile_ids", "FILL_ALPHA", "has_class_style", "IGNORE",
           "label_with_class_names", "mark_done", "most_common_class", "open_dataset", "PathLike", "prefill_tiles",
           "SCORE_FIELD", "select_tiles", "selected_tile_ids", "set_scores", "set_splits", "SPLIT_FIELD",
           "style_by_class", "style_clean_layer", "style_tiles_layer", "tile_count", "TILE_ID_FIELD", "tile_polygon",
           "TILES_FIELDS", "TILES_LAYER", "tiles_layer_uri", "TODO_COLOUR", "tr", "training_done_ids"]

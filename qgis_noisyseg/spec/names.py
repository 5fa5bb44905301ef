"""The names the backend and the QGIS side share, one place each (docs/contracts.md): a
dataset's files, the clean-label GeoPackage's layers and fields, and the ignore value."""

from __future__ import annotations

# A dataset folder (noisyseg export).
MANIFEST = "manifest.json"
CLASSES_FILE = "classes.json"

# Mask value of pixels that are not trained on nor scored.
IGNORE = 255

# The clean-label GeoPackage (gui/annotation/ writes it, noisyseg clean reads it).
CLEAN_LAYER = "clean_labels"
TILES_LAYER = "tiles"
CLASS_FIELD = "class_id"
TILE_ID_FIELD = "tile_id"
SPLIT_FIELD = "split"
DONE_FIELD = "done"
SCORE_FIELD = "score"

"""Class maps: which source values become which class id, with a name and a colour.

``classes.json`` is ``{"classes": [{"id": 1, "name": "barley", "color": "#e6c35c",
"values": ["1", "2"]}, ...]}``. Ids are contiguous from 0; class 0 is background and is added
when the file leaves it out. 255 is ignore. Values are compared as normalised strings, so a
numeric field value 3 and 3.0 both match "3".
"""

from __future__ import annotations

import colorsys
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

from ..spec.names import IGNORE  # noqa: F401 - one definition, shared with the QGIS side
from .errors import UserError  # noqa: F401 - also the QGIS side's name for a class map problem

BACKGROUND = 0
ANY_VALUE = "*"
MAX_CLASSES = 255

# A qualitative palette that stays distinguishable on imagery; after it, golden-ratio hues.
_PALETTE = [
    "#e6c35c", "#4daf4a", "#377eb8", "#e41a1c", "#984ea3", "#ff7f00", "#a65628", "#f781bf",
    "#66c2a5", "#fc8d62", "#8da0cb", "#a6d854", "#ffd92f", "#b3b3b3", "#1b9e77", "#d95f02",
    "#7570b3", "#e7298a", "#66a61e", "#e6ab02",
]
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


def distinct_color(index: int) -> str:
    if index < len(_PALETTE):
        return _PALETTE[index]
    hue = (index * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.65, 0.9)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


def normalize_value(value: Any) -> Optional[str]:
    """The string form a source value is matched by, or None for a missing value."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if hasattr(value, "item"):  # numpy scalar
        return normalize_value(value.item())
    return str(value).strip()


def hex_to_rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def colour_table(classes: Iterable[tuple[int, str]]) -> dict[int, tuple[int, int, int, int]]:
    """A GDAL colour table from (class id, "#rrggbb") pairs, with ignore transparent."""
    table = {class_id: (*hex_to_rgb(color), 255) for class_id, color in classes}
    table[IGNORE] = (0, 0, 0, 0)
    return table


@dataclass
class ClassDef:
    id: int
    name: str
    color: str
    values: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "color": self.color, "values": list(self.values)}


@dataclass
class ClassMap:
    classes: list[ClassDef]

    def __post_init__(self) -> None:
        self._lookup: dict[str, int] = {}
        self._wildcard: Optional[int] = None
        for cls in self.classes:
            for value in cls.values:
                if value == ANY_VALUE:
                    self._wildcard = cls.id
                    continue
                if value in self._lookup and self._lookup[value] != cls.id:
                    raise UserError(f"class map: value {value!r} is given to both class {self._lookup[value]} and class {cls.id}")
                self._lookup[value] = cls.id

    @property
    def matches_every_value(self) -> bool:
        return self._wildcard is not None

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def class_id(self, value: Any) -> int:
        """The class id of a source value; IGNORE when it has none."""
        key = normalize_value(value)
        if key is not None and key in self._lookup:
            return self._lookup[key]
        if self._wildcard is not None and key is not None:
            return self._wildcard
        return IGNORE

    def colormap(self) -> dict[int, tuple[int, int, int, int]]:
        """A GDAL colour table: class colours, and ignore as transparent."""
        return colour_table((cls.id, cls.color) for cls in self.classes)

    def to_json(self) -> dict:
        return {"classes": [cls.to_dict() for cls in self.classes]}

    def save(self, path: Path) -> None:
        from .atomic import write_json

        write_json(path, self.to_json())

    @classmethod
    def from_json(cls, data: Any, source: str = "classes.json") -> "ClassMap":
        if not isinstance(data, dict) or not isinstance(data.get("classes"), list):
            raise UserError(f"{source}: expected {{\"classes\": [{{\"id\": 1, \"name\": ..., \"color\": \"#rrggbb\", \"values\": [...]}}]}}")
        defs = []
        for i, entry in enumerate(data["classes"]):
            if not isinstance(entry, dict) or "id" not in entry or "name" not in entry:
                raise UserError(f"{source}: class entry {i + 1} needs at least an \"id\" and a \"name\"")
            try:
                class_id = int(entry["id"])
            except (TypeError, ValueError):
                raise UserError(f"{source}: class id {entry['id']!r} is not an integer") from None
            color = str(entry.get("color") or distinct_color(max(class_id - 1, 0)))
            if not _HEX.match(color):
                raise UserError(f"{source}: colour {color!r} of class {class_id} is not of the form #rrggbb")
            values = [normalize_value(v) for v in entry.get("values", [])]
            defs.append(ClassDef(class_id, str(entry["name"]), color, [v for v in values if v is not None]))
        if not any(d.id == BACKGROUND for d in defs):
            defs.append(ClassDef(BACKGROUND, "background", "#000000", []))
        defs.sort(key=lambda d: d.id)
        ids = [d.id for d in defs]
        if ids != list(range(len(defs))):
            raise UserError(f"{source}: class ids must be contiguous from 0 (background) up; got {ids}")
        if len(defs) > MAX_CLASSES:
            raise UserError(f"{source}: at most {MAX_CLASSES} classes are supported (255 is ignore); got {len(defs)}")
        return cls(defs)

    @classmethod
    def load(cls, path: Path) -> "ClassMap":
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UserError(f"class file {path} does not exist") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise UserError(f"class file {path} is not valid JSON ({exc})") from None
        return cls.from_json(data, source=str(path))

    @classmethod
    def from_values(cls, values: Iterable[Any]) -> "ClassMap":
        """One class per distinct value, ids in sorted value order (numeric order when every
        value is a number), so the same data always gives the same ids."""
        distinct = {v for v in (normalize_value(x) for x in values) if v is not None and v != ""}
        if len(distinct) + 1 > MAX_CLASSES:
            raise UserError(f"the class field has {len(distinct)} distinct values; at most {MAX_CLASSES - 1} "
                            "classes are supported: merge values with --classes")
        defs = [ClassDef(BACKGROUND, "background", "#000000", [])]
        for i, value in enumerate(sorted(distinct, key=_sort_key)):
            defs.append(ClassDef(i + 1, value, distinct_color(i), [value]))
        return cls(defs)

    @classmethod
    def single(cls, name: str) -> "ClassMap":
        """Every feature is one class (no class field): buildings, roads."""
        return cls([ClassDef(BACKGROUND, "background", "#000000", []), ClassDef(1, name, distinct_color(0), [ANY_VALUE])])


def _sort_key(value: str) -> tuple:
    try:
        return (0, float(value), value)
    except ValueError:
        return (1, 0.0, value.casefold())

"""The class table of the Data step: source values -> class id, name and colour.

It uses core.classes (plain Python, no numpy) for the classes.json format, so the file the
operator saves here is exactly the one ``noisyseg export --classes`` reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from qgis.gui import QgsColorButton
from qgis.PyQt.QtCore import QCoreApplication, Qt, pyqtSignal
from qgis.PyQt.QtGui import QColor
from qgis.PyQt.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from ..core.classes import ClassMap, distinct_color

ID, NAME, COLOUR, VALUES = range(4)
COLOUR_WIDTH = 56


def tr(text: str) -> str:
    return QCoreApplication.translate("NoisySegClassTable", text)


class ClassTable(QTableWidget):
    """``classes_changed`` is emitted once after each change of the classes (not per cell while the
    table is filled)."""

    classes_changed = pyqtSignal()

    def __init__(self, parent=None) -> None:
        super().__init__(0, 4, parent)
        self._filling = False
        self.itemChanged.connect(lambda _item: self._changed())
        self.setObjectName("noisyseg_class_table")
        self.setHorizontalHeaderLabels([tr("Id"), tr("Name"), tr("Colour"), tr("Source values")])
        header = self.horizontalHeader()  # the four columns fit the dock's default width: no sideways scroll
        header.setMinimumSectionSize(24)
        header.setSectionResizeMode(ID, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(COLOUR, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(COLOUR, COLOUR_WIDTH)
        header.setSectionResizeMode(VALUES, QHeaderView.ResizeMode.Stretch)
        self.verticalHeader().setVisible(False)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setToolTip(tr("Each row is one class. Edit the names, click a colour to change it, and select "
                           "several rows and press Merge to make their values one class."))

    def _changed(self) -> None:
        if not self._filling:
            self.classes_changed.emit()

    def set_classes(self, classes: list[dict]) -> None:
        self._filling = True
        try:
            self.setRowCount(0)
            for entry in sorted(classes, key=lambda c: int(c["id"])):
                self._append(entry.get("name", ""), entry.get("color") or distinct_color(len(classes)),
                             [str(v) for v in entry.get("values", [])])
            self._renumber()
        finally:
            self._filling = False
        self._changed()

    def classes(self) -> list[dict]:
        out = []
        for row in range(self.rowCount()):
            values = [v.strip() for v in self.item(row, VALUES).text().split(",") if v.strip()]
            out.append({"id": row, "name": self.item(row, NAME).text().strip() or f"class {row}",
                        "color": self.cellWidget(row, COLOUR).color().name(), "values": values})
        return out

    def fill_from_values(self, values: Iterable) -> None:
        """One class per distinct value (numbers in numeric order), after background."""
        self.set_classes([c.to_dict() for c in ClassMap.from_values(values).classes])

    def merge_selected(self) -> bool:
        """The selected classes become the first of them, with all their values. Background stays."""
        rows = sorted({index.row() for index in self.selectedIndexes()} - {0})
        if len(rows) < 2:
            return False
        keep = rows[0]
        merged = []
        for row in rows:
            merged += [v.strip() for v in self.item(row, VALUES).text().split(",") if v.strip()]
        self.item(keep, VALUES).setText(", ".join(merged))
        for row in reversed(rows[1:]):
            self.removeRow(row)
        self._renumber()
        self._changed()
        self.selectRow(keep)
        return True

    def add_class(self) -> None:
        self._filling = True
        self._append(tr("new class"), distinct_color(self.rowCount() - 1), [])
        self._renumber()
        self._filling = False
        self._changed()

    def remove_selected(self) -> None:
        for row in sorted({index.row() for index in self.selectedIndexes()} - {0}, reverse=True):
            self.removeRow(row)
        self._renumber()
        self._changed()

    def save(self, path: str | Path) -> None:
        ClassMap.from_json({"classes": self.classes()}, source=str(path)).save(Path(path))

    def load(self, path: str | Path) -> None:
        self.set_classes([c.to_dict() for c in ClassMap.load(Path(path)).classes])

    def _append(self, name: str, color: str, values: list[str]) -> None:
        row = self.rowCount()
        self.insertRow(row)
        id_item = QTableWidgetItem()
        id_item.setFlags(id_item.flags() & ~Qt.ItemFlag.ItemIsEditable)
        self.setItem(row, ID, id_item)
        self.setItem(row, NAME, QTableWidgetItem(name))
        button = QgsColorButton()
        button.setMinimumWidth(COLOUR_WIDTH - 8)
        button.setMaximumWidth(COLOUR_WIDTH)
        button.setColor(QColor(color))
        button.setShowNoColor(False)
        button.colorChanged.connect(lambda _colour: self._changed())
        self.setCellWidget(row, COLOUR, button)
        self.setItem(row, VALUES, QTableWidgetItem(", ".join(values)))

    def _renumber(self) -> None:
        filling, self._filling = self._filling, True
        for row in range(self.rowCount()):
            self.item(row, ID).setText(str(row))
        self._filling = filling

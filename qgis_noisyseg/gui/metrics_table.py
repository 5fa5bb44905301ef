"""A table of evaluation results: one row per model, mIoU and accuracy with their intervals over
tiles, and IoU per class. It is as tall as its rows, so that every model shows without scrolling."""

from __future__ import annotations

from qgis.PyQt.QtCore import QCoreApplication, Qt
from qgis.PyQt.QtWidgets import QAbstractItemView, QHeaderView, QSizePolicy, QTableWidget, QTableWidgetItem


def tr(text: str) -> str:
    return QCoreApplication.translate("NoisySegMetrics", text)


MODEL_LABELS = {"fine-tuned": "fine-tuned", "pretrained": "pretrained only", "scratch": "from scratch"}


def cell_text(value, interval=None) -> str:
    if value is None:
        return "–"
    text = f"{value:.2f}"
    return text + (f"\n[{interval[0]:.2f}, {interval[1]:.2f}]" if interval else "")


class MetricsTable(QTableWidget):
    def __init__(self, name: str, parent=None) -> None:
        super().__init__(0, 0, parent)
        self.setObjectName(name)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setWordWrap(True)
        self._fit_height()

    def show_metrics(self, metrics: dict[str, dict]) -> None:
        """``metrics``: {"fine-tuned": evaluate outputs, "pretrained": ..., "scratch": ...}."""
        rows = [(key, value) for key, value in metrics.items() if value]
        classes = [c["name"] for c in rows[0][1]["per_class"]] if rows else []
        headers = [tr("Model"), tr("mIoU"), tr("Accuracy")] + [tr("IoU {}").format(name) for name in classes]
        self.clear()
        self.setColumnCount(len(headers))
        self.setHorizontalHeaderLabels(headers)
        self.setRowCount(len(rows))
        for row, (key, result) in enumerate(rows):
            interval = result.get("interval") or {}
            cells = [tr(MODEL_LABELS.get(key, key)), cell_text(result.get("miou"), interval.get("miou")),
                     cell_text(result.get("overall_accuracy"), interval.get("overall_accuracy"))]
            cells += [cell_text(c.get("iou")) for c in result["per_class"]]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.setItem(row, column, item)
        self.resizeColumnsToContents()
        self.resizeRowsToContents()
        self._fit_height()

    def _fit_height(self) -> None:
        """Every row visible: the header, the rows and a horizontal scroll bar (the per-class
        columns may be wider than the dock)."""
        height = self.horizontalHeader().height() + sum(self.rowHeight(r) for r in range(self.rowCount()))
        height += self.horizontalScrollBar().sizeHint().height() + 2 * self.frameWidth()
        self.setFixedHeight(max(height, 60))

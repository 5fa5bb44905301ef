"""A table of evaluation results: one column per model; mIoU and accuracy with their intervals over
tiles, and IoU per class, one row each. It is as tall as its rows, so that every model shows without scrolling."""

from __future__ import annotations

from qgis.PyQt.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt
from qgis.PyQt.QtWidgets import QAbstractItemView, QHeaderView, QSizePolicy, QTableWidget, QTableWidgetItem


def tr(text: str) -> str:
    return QCoreApplication.translate("NoisySegMetrics", text)


# the column headers, on two lines so that four columns fit the dock's default width
MODEL_HEADERS = {"fine-tuned": QT_TRANSLATE_NOOP("NoisySegMetrics", "fine-\ntuned"),
                 "pretrained": QT_TRANSLATE_NOOP("NoisySegMetrics", "pre-\ntrained"),
                 "scratch": QT_TRANSLATE_NOOP("NoisySegMetrics", "scratch")}


def cell_text(value, interval=None) -> str:
    if value is None:
        return "–"
    text = f"{value:.2f}"
    return text + (f"\n{interval[0]:.2f}–{interval[1]:.2f}" if interval else "")  # the interval, under the score


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
        font = self.font()  # a little smaller than the page's text: four columns fit the dock's default width
        font.setPointSizeF(font.pointSizeF() * 0.9)
        self.setFont(font)
        self.horizontalHeader().setFont(font)
        self._fit_height()

    def show_metrics(self, metrics: dict[str, dict]) -> None:
        """``metrics``: {"fine-tuned": evaluate outputs, "pretrained": ..., "scratch": ...}. One
        column per model, side by side, and one row per score (mIoU, accuracy, IoU of each class),
        so that the table fits the dock's width however many classes there are."""
        models = [(key, value) for key, value in metrics.items() if value]
        classes = [c["name"] for c in models[0][1]["per_class"]] if models else []
        self.clear()
        self.setColumnCount(1 + len(models))
        self.setHorizontalHeaderLabels([tr("Score")] + [tr(MODEL_HEADERS.get(key, key)) for key, _ in models])
        labels = [tr("mIoU"), tr("Accuracy")] + [tr("IoU {}").format(name) for name in classes]
        self.setRowCount(len(labels) if models else 0)
        for row, label in enumerate(labels if models else []):
            self.setItem(row, 0, QTableWidgetItem(label))
        for column, (_key, result) in enumerate(models, start=1):
            interval = result.get("interval") or {}
            cells = [cell_text(result.get("miou"), interval.get("miou")),
                     cell_text(result.get("overall_accuracy"), interval.get("overall_accuracy"))]
            cells += [cell_text(c.get("iou")) for c in result["per_class"]]
            for row, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.setItem(row, column, item)
        header = self.horizontalHeader()
        header.setMinimumSectionSize(30)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)  # the score's name wraps if it must
        for column in range(1, self.columnCount()):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.resizeRowsToContents()
        self._fit_height()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        """A new width may wrap a score's name differently: the rows and the height follow."""
        super().resizeEvent(event)
        self.resizeRowsToContents()
        self._fit_height()

    def _fit_height(self) -> None:
        """Every row visible: the header and the rows (the columns fit the width)."""
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        height = self.horizontalHeader().sizeHint().height() + sum(self.rowHeight(r) for r in range(self.rowCount()))
        height += 2 * self.frameWidth()
        self.setFixedHeight(max(height, 60))

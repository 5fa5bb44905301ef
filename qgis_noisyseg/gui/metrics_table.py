"""A table of evaluation results: one row per model, mIoU, accuracy and IoU per class."""

from __future__ import annotations

from qgis.PyQt.QtCore import QCoreApplication, Qt
from qgis.PyQt.QtWidgets import QAbstractItemView, QTableWidget, QTableWidgetItem


def tr(text: str) -> str:
    return QCoreApplication.translate("NoisySegMetrics", text)


MODEL_LABELS = {"fine-tuned": "fine-tuned", "pretrained": "pretrained only", "scratch": "from scratch"}


class MetricsTable(QTableWidget):
    def __init__(self, name: str, parent=None) -> None:
        super().__init__(0, 0, parent)
        self.setObjectName(name)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().setVisible(False)

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
            cells = [tr(MODEL_LABELS.get(key, key)), result.get("miou"), result.get("overall_accuracy")]
            cells += [c.get("iou") for c in result["per_class"]]
            for column, value in enumerate(cells):
                text = value if isinstance(value, str) else ("–" if value is None else f"{value:.3f}")
                item = QTableWidgetItem(text)
                if not isinstance(value, str):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.setItem(row, column, item)
        self.resizeColumnsToContents()
        tiles = next((result.get("tiles") for _key, result in rows if result.get("tiles")), None)
        self.setToolTip(tr("Measured on {} clean validation tiles.").format(tiles) if tiles else "")

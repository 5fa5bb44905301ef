"""A live training curve: batch loss (thin), epoch loss (thick) and validation mIoU (right axis, 0-1)."""

from __future__ import annotations

from typing import Optional

from qgis.PyQt.QtCore import QCoreApplication, QPointF, QRectF, Qt
from qgis.PyQt.QtGui import QColor, QPainter, QPainterPath, QPen
from qgis.PyQt.QtWidgets import QSizePolicy, QWidget

LOSS_COLOUR = QColor("#1f77b4")
MIOU_COLOUR = QColor("#d62728")
MARGIN = 34


def tr(text: str) -> str:
    return QCoreApplication.translate("NoisySegLossCurve", text)


class LossCurve(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("noisyseg_loss_curve")
        self.setMinimumHeight(140)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.clear()

    def clear(self) -> None:
        self.batch_loss: list[tuple[float, float]] = []  # (fractional epoch, loss)
        self.epoch_loss: list[tuple[float, float]] = []
        self.val_miou: list[tuple[float, float]] = []
        self.update()

    def add_event(self, record: dict) -> None:
        """Takes the backend's ``progress`` (with loss) and ``epoch`` JSON lines; ignores the rest."""
        kind = record.get("event")
        if kind == "progress" and record.get("loss") is not None and record.get("epoch"):
            x = record["epoch"] - 1 + record["done"] / max(record["total"], 1)
            self.batch_loss.append((x, float(record["loss"])))
        elif kind == "epoch" and record.get("loss") is not None:
            self.epoch_loss.append((float(record["epoch"]), float(record["loss"])))
            if record.get("val_miou") is not None:
                self.val_miou.append((float(record["epoch"]), float(record["val_miou"])))
        else:
            return
        self.update()

    def set_history(self, history: list[dict]) -> None:
        """Shows a finished run's history.json."""
        self.clear()
        for record in history:
            self.add_event({"event": "epoch", **record})

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), self.palette().base())
        plot = QRectF(MARGIN, 16, max(self.width() - 2 * MARGIN, 10), max(self.height() - 36, 10))
        painter.setPen(QPen(self.palette().mid().color()))
        painter.drawRect(plot)
        losses = [y for _, y in self.batch_loss + self.epoch_loss]
        if not losses:
            painter.setPen(self.palette().text().color())
            painter.drawText(plot, Qt.AlignmentFlag.AlignCenter, tr("The loss curve appears here while training runs"))
            return
        x_max = max(1.0, *(x for x, _ in self.batch_loss + self.epoch_loss))
        y_max = max(losses) * 1.05 or 1.0
        self._series(painter, plot, self.batch_loss, x_max, y_max, QPen(LOSS_COLOUR.lighter(150), 1))
        self._series(painter, plot, self.epoch_loss, x_max, y_max, QPen(LOSS_COLOUR, 2))
        self._series(painter, plot, self.val_miou, x_max, 1.0, QPen(MIOU_COLOUR, 2))
        painter.setPen(self.palette().text().color())
        painter.drawText(QRectF(0, plot.top() - 7, MARGIN - 3, 14), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, f"{y_max:.2g}")
        painter.drawText(QRectF(0, plot.bottom() - 7, MARGIN - 3, 14), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, "0")
        painter.drawText(QRectF(plot.right() + 3, plot.top() - 7, MARGIN, 14), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, "1")
        legend = QRectF(plot.left(), plot.bottom() + 2, plot.width(), 16)
        painter.setPen(LOSS_COLOUR)
        painter.drawText(legend, Qt.AlignmentFlag.AlignLeft, tr("loss"))
        painter.setPen(MIOU_COLOUR)
        painter.drawText(legend, Qt.AlignmentFlag.AlignCenter, tr("validation mIoU") if self.val_miou else "")
        painter.setPen(self.palette().text().color())
        painter.drawText(legend, Qt.AlignmentFlag.AlignRight, tr("epoch {}").format(f"{x_max:.1f}".rstrip("0").rstrip(".")))

    @staticmethod
    def _series(painter: QPainter, plot: QRectF, points: list[tuple[float, float]], x_max: float, y_max: float,
                pen: QPen) -> Optional[QPainterPath]:
        if not points:
            return None
        path = QPainterPath()
        for i, (x, y) in enumerate(points):
            point = QPointF(plot.left() + plot.width() * x / x_max, plot.bottom() - plot.height() * min(y / y_max, 1.0))
            path.moveTo(point) if i == 0 else path.lineTo(point)
        painter.setPen(pen)
        painter.drawPath(path)
        if len(points) == 1:
            painter.drawEllipse(path.currentPosition(), 2.5, 2.5)
        return path

"""What every page of the panel shares."""

from __future__ import annotations

from typing import Optional

from qgis.PyQt.QtCore import QCoreApplication, Qt
from qgis.PyQt.QtWidgets import QCheckBox, QComboBox, QFormLayout, QHBoxLayout, QLabel, QPushButton, QSpinBox, QWidget

COMBO_MIN_CHARACTERS = 12  # a combo box may be this narrow (its items elided), so no page scrolls sideways

from ...spec.fields import option_named


def tr(text: str) -> str:
    return QCoreApplication.translate("NoisySegPanel", text)


class StepPage(QWidget):
    """``restore``/``store`` move the page's settings from/to the PanelState; ``refresh`` updates
    what depends on files or other steps; ``set_busy`` disables the buttons that start jobs."""

    def __init__(self, dock) -> None:
        super().__init__()
        self.dock = dock
        self.job_buttons: list[QPushButton] = []

    @property
    def state(self):
        return self.dock.state

    def restore(self, state) -> None:
        self.refresh()

    def store(self, state) -> None:
        pass

    def refresh(self) -> None:
        pass

    def shutdown(self) -> None:
        """Lets go of signals from outside the panel (the project's)."""

    def set_busy(self, busy: bool) -> None:
        for button in self.job_buttons:
            button.setEnabled(not busy)
        if not busy:
            self.refresh()

    def job_button(self, text: str, name: str, slot) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.clicked.connect(lambda _checked=False: slot())
        self.job_buttons.append(button)
        return button


def narrow(box: QComboBox) -> QComboBox:
    """A combo box that does not make the page wider than the dock: its text is elided instead."""
    box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    box.setMinimumContentsLength(COMBO_MIN_CHARACTERS)
    return box


class WrappedCheckBox(QWidget):
    """A check box whose text wraps (QCheckBox's does not): the box and a word-wrapped label that
    toggles it when clicked. It answers what the panel asks of a QCheckBox."""

    def __init__(self, text: str, name: str = "") -> None:
        super().__init__()
        self.setObjectName(name)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.box = QCheckBox()
        self.box.setObjectName(f"{name}_box" if name else "")
        self.label = QLabel(text)
        self.label.setWordWrap(True)
        self.label.mousePressEvent = lambda _event: self.box.toggle()
        row.addWidget(self.box, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.label, 1)
        self.toggled = self.box.toggled

    def isChecked(self) -> bool:  # noqa: N802 (Qt's name)
        return self.box.isChecked()

    def setChecked(self, checked: bool) -> None:  # noqa: N802
        self.box.setChecked(checked)

    def text(self) -> str:
        return self.label.text()

    def setToolTip(self, text: str) -> None:  # noqa: N802
        super().setToolTip(text)
        self.box.setToolTip(text)
        self.label.setToolTip(text)


def combo(items, name: str, current: str = "") -> QComboBox:
    box = narrow(QComboBox())
    box.setObjectName(name)
    for item in items:
        text, data = item if isinstance(item, tuple) else (item, item)
        box.addItem(text, data)
    set_combo(box, current)
    return box


def set_combo(box: QComboBox, value) -> None:
    index = box.findData(value)
    if index >= 0:
        box.setCurrentIndex(index)


def spin(name: str, value: int, minimum: int, maximum: int, step: int = 1) -> QSpinBox:
    box = QSpinBox()
    box.setObjectName(name)
    box.setRange(minimum, maximum)
    box.setSingleStep(step)
    box.setValue(int(value))
    return box


def spin_for(name: str, spec, dest: str, minimum: Optional[int] = None, maximum: int = 1000) -> QSpinBox:
    """A spin box for the option ``dest`` of a command's spec: its default, its bounds (the panel
    may narrow them, never widen them: e.g. at least one epoch) and its multiple as the step."""
    option = option_named(spec, dest)
    low = max(v for v in (option.minimum, minimum, 0) if v is not None)
    high = min(v for v in (option.maximum, maximum) if v is not None)
    step = option.multiple_of or (8 if dest == "base_width" else 1)
    return spin(name, option.default, int(low), int(high), step)


def class_weights_box(name: str) -> WrappedCheckBox:
    """The option that makes rare classes count: without it, a scene that is 95 % background
    trains a model that predicts background everywhere (docs/results.md, SpaceNet Atlanta)."""
    box = WrappedCheckBox(tr("Weight rare classes (for sparse objects such as buildings)"), name)
    box.setToolTip(tr("Weights the loss by inverse class frequency, so that a class covering a few percent of the "
                      "pixels is not ignored."))
    return box


def form() -> QFormLayout:
    layout = QFormLayout()
    layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    layout.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # a long label goes above its field
    return layout

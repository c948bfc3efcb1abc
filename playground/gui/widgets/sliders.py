"""A fine-stepped scale slider with a spin box showing its exact value (guidance w, classifier s)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QLabel, QSlider, QWidget


class ScaleSlider(QWidget):
    """A horizontal slider over [0, maximum] in steps of `step`, beside a spin box for typing the value.

    The slider covers the useful range; `set_value` of a larger (already validated) value, e.g.
    from a loaded recipe, widens it rather than clamping it silently."""

    value_changed = Signal(float)

    def __init__(self, label: str, maximum: float, step: float, value: float, tooltip: str = "",
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.step = step
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        name = QLabel(label)
        name.setStyleSheet("font-size: 13pt; font-weight: bold;")
        name.setMinimumWidth(110)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setSingleStep(1)
        self.slider.setPageStep(int(round(0.5 / step)))
        self.slider.setMinimumWidth(160)
        self.spin = QDoubleSpinBox()
        self.spin.setSingleStep(step * 10)
        self.spin.setDecimals(2)
        self.spin.setStyleSheet("font-size: 14pt;")
        self.spin.setMinimumWidth(90)
        self.set_maximum(maximum)
        for w in (name, self.slider, self.spin):
            w.setToolTip(tooltip)
        layout.addWidget(name)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.spin)
        self.slider.valueChanged.connect(self._on_slider)
        self.spin.valueChanged.connect(self._on_spin)
        self.set_value(value)

    @property
    def maximum(self) -> float:
        return self.spin.maximum()

    def set_maximum(self, maximum: float) -> None:
        for w in (self.slider, self.spin):
            w.blockSignals(True)
        self.slider.setRange(0, int(round(maximum / self.step)))
        self.spin.setRange(0.0, maximum)
        for w in (self.slider, self.spin):
            w.blockSignals(False)

    def value(self) -> float:
        return round(self.slider.value() * self.step, 6)

    def set_value(self, value: float, emit: bool = False) -> None:
        if value > self.maximum:
            self.set_maximum(value)
        for w in (self.slider, self.spin):
            w.blockSignals(True)
        self.slider.setValue(int(round(value / self.step)))
        self.spin.setValue(self.value())
        for w in (self.slider, self.spin):
            w.blockSignals(False)
        if emit:
            self.value_changed.emit(self.value())

    def _on_slider(self, raw: int) -> None:
        self.spin.blockSignals(True)
        self.spin.setValue(raw * self.step)
        self.spin.blockSignals(False)
        self.value_changed.emit(self.value())

    def _on_spin(self, value: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(int(round(value / self.step)))
        self.slider.blockSignals(False)
        self.value_changed.emit(self.value())

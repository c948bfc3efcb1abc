"""The timeline under the step views: step back, play, step on, a slider over every step, speed.

Scrubbing reads the cached run, so it never calls the model; ← and → step one (the host
installs them as shortcuts on its whole view). While a run samples, the slider follows it
without emitting and the controls are off.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSlider, QWidget

PLAY_SPEEDS = (5, 10, 25, 50, 100, 250)  # steps per second
DEFAULT_SPEED = 25


class Scrubber(QWidget):
    """`step_changed(index)` when the user (or playback) moves to a step."""

    step_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.back_button = QPushButton("◀")
        self.back_button.setToolTip("One step back (←)")
        self.play_button = QPushButton("▶ Play")
        self.play_button.setCheckable(True)
        self.play_button.setFixedWidth(90)
        self.forward_button = QPushButton("▶")
        self.forward_button.setToolTip("One step on (→)")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setPageStep(10)
        self.slider.setToolTip("Every step of the run; scrubbing reads the cached trajectory (← → step one)")
        self.speed_box = QComboBox()
        for speed in PLAY_SPEEDS:
            self.speed_box.addItem(f"{speed} steps/s", speed)
        self.speed_box.setCurrentIndex(PLAY_SPEEDS.index(DEFAULT_SPEED))
        self.label = QLabel("no run yet")
        self.label.setStyleSheet("font-size: 12pt;")
        # a fixed size: its text changes every step, and a label that may resize re-lays out the window
        self.label.setFixedSize(230, self.label.sizeHint().height())
        for w in (self.back_button, self.play_button, self.forward_button):
            layout.addWidget(w)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.label)
        layout.addWidget(self.speed_box)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._advance)
        self.slider.valueChanged.connect(self.step_changed)
        self.back_button.clicked.connect(lambda: self.step_by(-1))
        self.forward_button.clicked.connect(lambda: self.step_by(1))
        self.play_button.toggled.connect(self._on_play)
        self.speed_box.currentIndexChanged.connect(lambda _: self._on_play(self.play_button.isChecked()))
        self.set_interactive(False)

    def value(self) -> int:
        return self.slider.value()

    def maximum(self) -> int:
        return self.slider.maximum()

    def set_position(self, index: int, length: int) -> None:
        """Show step `index` of a run of `length` steps without emitting `step_changed`."""
        self.slider.blockSignals(True)
        if self.slider.maximum() != max(length - 1, 0):
            self.slider.setRange(0, max(length - 1, 0))
        self.slider.setValue(index)
        self.slider.blockSignals(False)

    def set_value(self, index: int) -> None:
        """Move to step `index` (emits `step_changed` if it moved)."""
        self.slider.setValue(index)

    def step_by(self, delta: int) -> None:
        if self.slider.isEnabled():
            self.slider.setValue(self.slider.value() + delta)

    def set_interactive(self, interactive: bool) -> None:
        """Off while a run samples or when there is no run to scrub."""
        if not interactive:
            self.stop()
        for w in (self.slider, self.back_button, self.forward_button, self.play_button):
            w.setEnabled(interactive)

    def stop(self) -> None:
        self.play_button.setChecked(False)

    def _on_play(self, playing: bool) -> None:
        self.play_button.setText("❚❚ Pause" if playing else "▶ Play")
        if not playing:
            self.timer.stop()
            return
        if self.slider.value() >= self.slider.maximum():
            self.slider.setValue(0)
        self.timer.start(max(16, int(1000 / self.speed_box.currentData())))

    def _advance(self) -> None:
        steps = max(1, round(self.speed_box.currentData() * self.timer.interval() / 1000))
        value = min(self.slider.value() + steps, self.slider.maximum())
        self.slider.setValue(value)
        if value >= self.slider.maximum():
            self.play_button.setChecked(False)

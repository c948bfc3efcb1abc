"""The Compare panel's controls: N and the seed, Recompute and Stop, "Add checkpoint…",
"Export HTML…", and the run's progress (which model, how far)."""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSpinBox, QWidget

from ...window_state import window_settings

DEFAULT_N = 500
MEASURE_MISSING_KEY = "compare/measure_missing"  # QSettings: measure rows with no cached result on opening
SETTLE_MS = 700  # N or the seed changed and left alone this long: measure at the new value


class CompareControls(QWidget):
    settings_changed = Signal()  # N or the seed was changed (and editing finished)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("N"))
        self.n_box = QSpinBox()
        self.n_box.setRange(8, 10000)
        self.n_box.setSingleStep(100)
        self.n_box.setValue(DEFAULT_N)
        self.n_box.setToolTip("samples per model for every measured column (the strip shows the first 8)")
        row.addWidget(self.n_box)
        row.addWidget(QLabel("seed"))
        self.seed_box = QSpinBox()
        self.seed_box.setRange(0, 2 ** 31 - 1)
        self.seed_box.setToolTip("the same seeds for every model")
        row.addWidget(self.seed_box)
        self.recompute_button = QPushButton("Recompute")
        self.recompute_button.setToolTip("measure every model again at this N and seed (ignoring the cache)")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("stop measuring; the rows measured so far stay")
        self.add_button = QPushButton("Add checkpoint…")
        self.add_button.setToolTip("measure a checkpoint of your own beside the shipped ones")
        self.export_button = QPushButton("Export HTML…")
        self.export_button.setToolTip("one self-contained HTML page (sample grids inlined) and the JSON behind it")
        for button in (self.recompute_button, self.stop_button, self.add_button, self.export_button):
            row.addWidget(button)
        self.measure_missing = QCheckBox("Measure missing rows")
        self.measure_missing.setToolTip("when the page opens (or N or the seed changes), measure every model with no "
                                        "cached or shipped result in the background; off: only Recompute measures")
        self.measure_missing.setChecked(window_settings().value(MEASURE_MISSING_KEY, True, type=bool))
        self.measure_missing.toggled.connect(lambda on: window_settings().setValue(MEASURE_MISSING_KEY, on))
        row.addWidget(self.measure_missing)
        self.progress = QProgressBar()
        self.progress.setMinimumWidth(180)
        self.progress.setVisible(False)
        row.addWidget(self.progress, 1)
        self.state = QLabel("")
        self.state.setStyleSheet("color: #9aa;")
        row.addWidget(self.state, 2)
        self._settle = QTimer(self)  # a value set by the arrows (or a script) counts once it rests
        self._settle.setSingleShot(True)
        self._settle.setInterval(SETTLE_MS)
        self._settle.timeout.connect(self._maybe_changed)
        for box in (self.n_box, self.seed_box):
            box.editingFinished.connect(self._maybe_changed)
            box.valueChanged.connect(self._settle.start)
        self._settings = self.settings()
        self.set_running(False)

    def settings(self) -> tuple[int, int]:
        return self.n_box.value(), self.seed_box.value()

    def _maybe_changed(self) -> None:
        self._settle.stop()
        if self.settings() != self._settings:
            self._settings = self.settings()
            self.settings_changed.emit()

    def taken(self) -> None:
        """The panel measures at the current settings: a change still settling is no change."""
        self._settle.stop()
        self._settings = self.settings()

    def set_running(self, running: bool) -> None:
        self.stop_button.setEnabled(running)
        self.progress.setVisible(running)

    def show_progress(self, name: str, done: int, total: int, position: int, models: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{name} ({position} of {models})  %v / %m")

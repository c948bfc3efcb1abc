"""The backend setting of the app: auto / torch / onnx, and which one the last run used.

A label and a combo box for the status bar (or a settings menu). Choosing sets the app-wide
setting (`core/backends/setting.py`) and keeps it for the next start (the window's settings
file); `show_run(choice)` shows what a run actually sampled with ("onnx", "torch", or "torch"
with the reason in the tooltip while the session is built or when it failed). Nothing here
touches a model: panels ask `backend_for_run` in their worker.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from ...core.backends import BACKEND_CHOICES, BackendChoice
from ...core.backends.setting import app_backend, last_run, set_app_backend
from ..window_state import window_settings

SETTING_KEY = "backend/choice"
WATCH_MS = 500
TIPS = {
    "auto": "ONNX Runtime on the CPU once the model's export is built and checked against torch; torch until then",
    "torch": "eager PyTorch, always",
    "onnx": "ONNX Runtime (built in the background; torch until it is ready, or if it fails)",
}


class BackendSetting(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(QLabel("backend:"))
        self.combo = QComboBox()
        self.combo.setObjectName("backend")
        for index, name in enumerate(BACKEND_CHOICES):
            self.combo.addItem(name)
            self.combo.setItemData(index, TIPS[name], 3)  # Qt.ToolTipRole
        layout.addWidget(self.combo)
        self.used = QLabel("")
        self.used.setObjectName("backend_used")
        self.used.setStyleSheet("color: #9a9a9a;")
        layout.addWidget(self.used)
        saved = window_settings().value(SETTING_KEY, app_backend())
        self.combo.setCurrentText(saved if saved in BACKEND_CHOICES else "auto")
        set_app_backend(self.combo.currentText())
        self.combo.currentTextChanged.connect(self._chosen)
        self._shown: BackendChoice | None = None
        self._watch = QTimer(self)  # a panel's worker records each run's backend; say the newest (cheap: no model)
        self._watch.setInterval(WATCH_MS)
        self._watch.timeout.connect(self._follow_runs)
        self._watch.start()

    def _follow_runs(self) -> None:
        choice = last_run()
        if choice is not None and choice is not self._shown:
            self._shown = choice
            self.show_run(choice)

    def _chosen(self, name: str) -> None:
        set_app_backend(name)
        window_settings().setValue(SETTING_KEY, name)

    def show_run(self, choice: BackendChoice) -> None:
        """What the last run sampled with; the reason (being built, failed) in the tooltip."""
        self.used.setText(f"(ran {choice.name})")
        self.used.setToolTip(choice.note or "")

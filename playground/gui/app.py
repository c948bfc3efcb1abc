"""Start the Qt application."""

from __future__ import annotations

import os
import sys

import torch


def configure_threads() -> None:
    """Leave a core for the GUI thread: batch-1 inference gains little from a second thread."""
    torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))


def run_app(device: str = "auto", checkpoint: str | None = None) -> int:
    from PySide6.QtWidgets import QApplication

    from ..core.device import pick_device
    from .main_window import MainWindow
    from .theme import apply_dark_theme

    configure_threads()
    chosen = pick_device(device)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("playground")
    apply_dark_theme(app)
    window = MainWindow(chosen, checkpoint)
    window.show()
    return app.exec()

"""Start the Qt application."""

from __future__ import annotations

import os
import sys

import torch


def configure_threads() -> None:
    """Leave a core for the GUI thread: batch-1 inference gains little from a second thread."""
    torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))


def run_app(device: str = "auto", checkpoint: str | None = None, lesson=None, present: bool = False) -> int:
    """Open the window (on `checkpoint` if given) in the theme and zoom the user left; `present`: in
    presenter mode on `lesson` (a lesson's name or file, or None for none) once it is shown."""
    from PySide6.QtWidgets import QApplication

    from ..core.device import pick_device
    from .main_window import MainWindow
    from .theme import apply_theme
    from .window_state import saved_look, window_settings

    configure_threads()
    chosen = pick_device(device)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("playground")
    apply_theme(app, *saved_look(window_settings()))
    window = MainWindow(chosen, checkpoint, lesson=lesson, present=present)
    window.show()
    return app.exec()

"""What every panel has: the families it opens, its worker, and a way to report status."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QWidget

from ...core.checkpoints import LoadedModel
from ..worker import ModelWorker


class Panel(QWidget):
    """Base class for a model family's panel.

    The main window gives each panel its own ModelWorker (so a long diffusion run never
    delays a VAE slider) and calls `set_model` with a checkpoint loaded off the GUI thread.
    """

    title: str = ""
    families: tuple[str, ...] = ()
    status_message = Signal(str)

    def __init__(self, worker: ModelWorker, device: torch.device, parent: QWidget | None = None):
        super().__init__(parent)
        self.worker = worker
        self.device = device
        self.loaded: LoadedModel | None = None

    def set_model(self, loaded: LoadedModel) -> None:
        self.loaded = loaded

    def report_error(self, message: str) -> None:
        self.status_message.emit(f"Error: {message}")

    def save_with_dialog(self, title: str, suggested_name: str, file_filter: str,
                         save: Callable[[str], Path], note: str = "") -> None:
        """Ask where to save, call `save(path)`, and report the result or the error in the status bar."""
        path, _ = QFileDialog.getSaveFileName(self, title, suggested_name, file_filter)
        if not path:
            return
        try:
            saved = save(path)
        except (OSError, ValueError) as exc:
            self.report_error(str(exc))
            return
        self.status_message.emit(f"Saved {saved}" + (f" ({note})" if note else ""))

    def shutdown(self) -> None:
        """Stop the panel's background work (the main window joins the worker afterwards)."""
        self.worker.cancel()

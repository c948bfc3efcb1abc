"""What every panel has: the families it opens, its worker, and a way to report status."""

from __future__ import annotations

import torch
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

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

    def shutdown(self) -> None:
        """Stop the panel's background work (the main window joins the worker afterwards)."""
        self.worker.cancel()

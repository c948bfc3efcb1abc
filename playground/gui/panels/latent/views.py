"""What every tab of the latent panel is: a view that resets on a model change and computes
only while it is shown (the panel's `tabs_shown` calls `activate` when the tab is on screen
with a model it has not shown yet, or after `invalidate`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QStackedWidget, QWidget

from ....core.checkpoints import LoadedModel

if TYPE_CHECKING:
    from .panel import LatentPanel


class LatentView(QWidget):
    """One tab: `on_model` resets it (cheap), `activate` computes what it shows, `z_changed`
    follows the panel's latent (cheap work, or `invalidate` to redo `activate` when shown)."""

    def __init__(self, panel: "LatentPanel"):
        super().__init__()
        self.panel = panel
        panel.tabs_shown.watch(self, activate=self.activate)

    def on_model(self, loaded: LoadedModel) -> None:
        """The model was replaced: drop everything computed with the old one."""

    def activate(self) -> None:
        """The tab is shown with a model: compute what it shows."""

    def z_changed(self, z: np.ndarray) -> None:
        """The panel's latent moved."""

    def invalidate(self) -> None:
        """What the tab shows is out of date: recompute it now if shown, else when next shown."""
        self.panel.tabs_shown.invalidate(self)


def with_explanation(page: QWidget, explanation: str) -> QStackedWidget:
    """A tab page that can be swapped for one line saying why it does not apply to this model."""
    stack = QStackedWidget()
    stack.addWidget(page)
    label = QLabel(explanation)
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setStyleSheet("color: #aaa; padding: 24px;")
    stack.addWidget(label)
    return stack

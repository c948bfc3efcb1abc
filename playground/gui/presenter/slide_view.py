"""The picture stage: a scene whose picture its tab cannot show live (a grid of samples, an
interpolation strip, a latent map...) is drawn by `render_recipe` and shown here, over the
tabs, as large as the window allows."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QVBoxLayout, QWidget

from ..widgets.images import ImageCanvas


class SlideView(QWidget):
    """An opaque overlay over the window's central widget (the tabs) holding one picture."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.canvas = ImageCanvas(minimum=100)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.canvas)
        self.setAutoFillBackground(True)
        window.centralWidget().installEventFilter(self)
        self.hide()

    @property
    def image(self) -> np.ndarray | None:
        return self.canvas.image

    def show_picture(self, rgb: np.ndarray | None) -> None:
        """Show `rgb` (HxWx3 uint8) over the tabs; None hides the overlay."""
        if rgb is None:
            self.canvas.set_image(None)
            self.hide()
            return
        self.canvas.set_image(np.ascontiguousarray(rgb))
        self.canvas.view.autoRange(padding=0.0)
        self.fit()
        self.show()
        self.raise_()

    def fit(self) -> None:
        self.setGeometry(self.window.centralWidget().geometry())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if event.type() in (QEvent.Type.Resize, QEvent.Type.Move):
            self.fit()
        return False

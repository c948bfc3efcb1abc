"""A grid of numbers as a heat map with a colour bar and each cell's value written in it
(the per-cell surprise of the Likelihood view, in bits)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFont

from ...widgets.images import BACKGROUND

COLOURMAP = "inferno"


class GridHeatMap(pg.GraphicsLayoutWidget):
    def __init__(self, unit: str = "bits", minimum: int = 260, parent=None):
        super().__init__(parent)
        self.setBackground(BACKGROUND)
        self.ci.setContentsMargins(2, 2, 2, 2)
        self.view = self.addViewBox(lockAspect=True, enableMouse=False, invertY=True)
        self.view.setMenuEnabled(False)
        self.image_item = pg.ImageItem()
        self.view.addItem(self.image_item)
        self.colour_bar = pg.ColorBarItem(values=(0, 1), colorMap=pg.colormap.get(COLOURMAP), label=unit,
                                          interactive=False, width=18)
        self.colour_bar.setImageItem(self.image_item)
        self.addItem(self.colour_bar)
        font = QFont()
        font.setPointSize(11)
        for side in ("right", "left"):
            axis = self.colour_bar.getAxis(side)
            axis.setTickFont(font)
            axis.setTextPen("#c8c8c8")
        self.labels: list[pg.TextItem] = []
        self.values: np.ndarray | None = None
        self.setMinimumSize(minimum, minimum - 40)

    def show_values(self, values: np.ndarray | None) -> None:
        """(g, g) values; None clears."""
        self.values = values
        for label in self.labels:
            self.view.removeItem(label)
        self.labels = []
        if values is None:
            self.image_item.clear()
            return
        top = max(float(values.max()), 1e-6)
        self.colour_bar.setLevels((0.0, top))
        self.image_item.setImage(values.astype(np.float32), levels=(0.0, top), autoLevels=False)
        g = values.shape[0]
        font = QFont()
        font.setPointSize(10 if g <= 8 else 7)
        font.setBold(True)
        for r in range(g):
            for c in range(g):
                v = float(values[r, c])
                label = pg.TextItem(f"{v:.1f}", color="#101010" if v > 0.6 * top else "#f2f2f2", anchor=(0.5, 0.5))
                label.setFont(font)
                label.setPos(c + 0.5, r + 0.5)
                self.view.addItem(label)
                self.labels.append(label)
        self.view.autoRange(padding=0.0)

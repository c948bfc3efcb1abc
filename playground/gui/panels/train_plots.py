"""The Train panel's live curves: one plot per metric group, step on a shared x axis.

Points are appended to NumPy buffers and drawn with `setData` (one call per curve and
update), which stays cheap for the few thousand points of a run.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QGraphicsItem

from ..widgets.images import BACKGROUND

SERIES_COLOURS = ("#5aa9ff", "#f0a030", "#56c596", "#c678dd", "#ff6b6b", "#e6d35a")
TICK_FONT = QFont()
TICK_FONT.setPointSize(10)


class LiveCurves(pg.GraphicsLayoutWidget):
    """Stacked plots, x axes linked; `set_groups` starts a run, `append` adds one logged step."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setBackground(BACKGROUND)
        self.ci.setSpacing(4)
        self.plots: dict[str, pg.PlotItem] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.steps = np.zeros(0)
        self.values: dict[str, np.ndarray] = {}
        self._size = 0

    def set_groups(self, groups: dict[str, tuple[str, ...]]) -> None:
        """Forget the last run; one plot per group with a legend of its metrics."""
        self.clear()
        self.plots, self.curves, self.values = {}, {}, {}
        self.steps = np.zeros(256)
        self._size = 0
        first = last = None
        colour = 0
        for row, (title, names) in enumerate(groups.items()):
            if not names:
                continue
            plot = self.addPlot(row=row, col=0)
            plot.setTitle(title, color="#e6e6e6", size="11pt")
            plot.showGrid(x=True, y=True, alpha=0.15)
            plot.setMenuEnabled(False)
            plot.hideButtons()
            for side in ("left", "bottom"):
                axis = plot.getAxis(side)
                axis.setTickFont(TICK_FONT)
                # repainted only when its range moves, blitted otherwise: tick text is most of a
                # repaint's cost (about 90 ms of a plot column's repaint offscreen, 64 ms cached)
                axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            plot.addLegend(offset=(-4, 4), labelTextColor="#e6e6e6", brush=pg.mkBrush(22, 23, 26, 200))
            if first is None:
                first = plot
            else:
                plot.setXLink(first)
            for name in names:
                pen = pg.mkPen(SERIES_COLOURS[colour % len(SERIES_COLOURS)], width=2)
                colour += 1
                self.curves[name] = plot.plot(name=name, pen=pen)
                self.values[name] = np.zeros(256)
            self.plots[title] = plot
            last = plot
        if last is not None:
            last.setLabel("bottom", "step", color="#c8c8c8")
            for plot in self.plots.values():  # the x axes are linked: step numbers once, at the bottom
                if plot is not last:
                    plot.getAxis("bottom").setStyle(showValues=False)

    @property
    def points(self) -> int:
        return self._size

    def append(self, step: int, metrics: dict[str, float]) -> None:
        self.extend([(step, metrics)])

    def extend(self, points: list[tuple[int, dict[str, float]]]) -> None:
        """Add logged steps, then redraw each curve once."""
        for step, metrics in points:
            if self._size == len(self.steps):  # grow the buffers geometrically
                self.steps = np.resize(self.steps, 2 * len(self.steps))
                self.values = {k: np.resize(v, 2 * len(v)) for k, v in self.values.items()}
            n = self._size
            self.steps[n] = step
            for name, buffer in self.values.items():
                buffer[n] = metrics.get(name, np.nan)
            self._size = n + 1
        steps = self.steps[:self._size]
        for name, curve in self.curves.items():
            # a metric some windows lack (the GAN's lazy R1) is drawn through its logged points
            values = self.values[name][:self._size]
            logged = np.isfinite(values)
            curve.setData(steps[logged], values[logged])

    def series(self, name: str) -> np.ndarray:
        return self.values[name][:self._size].copy()

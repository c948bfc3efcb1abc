"""The codebook map: the code vectors projected on their two main axes (PCA)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal

from ...widgets.images import BACKGROUND
from ...widgets.codebook_style import DEAD, HIGHLIGHT, HOVER, LABEL_STYLE, style_plot


class CodebookMap(pg.PlotWidget):
    """The codebook vectors projected on their two main axes (PCA); points sized by usage and filled
    with the colour the code draws, dead codes as red rings, codes of the current grid ringed in
    white; a click picks a code."""

    code_clicked = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent, background=BACKGROUND)
        plot = self.getPlotItem()
        style_plot(plot)
        plot.setAspectLocked(True)
        plot.showGrid(x=True, y=True, alpha=0.12)
        self.points = pg.ScatterPlotItem(hoverable=True, tip=lambda x, y, data: f"code {data}",
                                         hoverPen=pg.mkPen(HOVER, width=2))
        self.ring = pg.ScatterPlotItem(size=30, pen=pg.mkPen(HIGHLIGHT, width=4), brush=None, symbol="o")
        self.ring.setAcceptHoverEvents(False)
        self.ring.setZValue(10)
        self.grid_rings = pg.ScatterPlotItem(pen=pg.mkPen("w", width=2), brush=None, symbol="o", pxMode=True)
        self.grid_rings.setAcceptHoverEvents(False)
        self.grid_rings.setZValue(5)
        self.in_grid = np.zeros(0, np.int64)
        self.addItem(self.points)
        self.addItem(self.grid_rings)
        self.addItem(self.ring)
        self.coords = np.zeros((0, 2), np.float32)
        self.sizes = np.zeros(0)
        self.selected: int | None = None
        self.points.sigClicked.connect(self._on_click)

    def set_codebook(self, coords: np.ndarray, colours: np.ndarray, counts: np.ndarray | None,
                     explained: tuple[float, float] | None = None) -> None:
        """`colours`: what each code draws (e.g. its tile's mean colour), so colour clusters show on the map.

        Builds one symbol per point (slow-ish, ~100 ms for 128 codes on a busy machine): call it when
        the codebook or the counts change, and `set_in_grid` (cheap) when the grid does.
        """
        self.coords = np.asarray(coords, np.float32)
        k = len(self.coords)
        if counts is None:
            self.sizes = np.full(k, 12.0)
        else:
            share = np.sqrt(np.asarray(counts, np.float64) / max(1, np.max(counts)))
            self.sizes = 6 + 24 * share
        dead = np.zeros(k, bool) if counts is None else np.asarray(counts) == 0
        live_pen, dead_pen = pg.mkPen("#707070", width=1), pg.mkPen(DEAD, width=2)
        self.points.setData(
            pos=self.coords, size=np.where(dead, 10.0, self.sizes), data=np.arange(k),
            pen=[dead_pen if d else live_pen for d in dead],
            brush=[pg.mkBrush(0, 0, 0, 0) if d else pg.mkBrush(*colours[c], 230) for c, d in enumerate(dead)])
        plot = self.getPlotItem()
        if explained is not None:
            plot.setLabel("bottom", f"PC 1 ({explained[0]:.0%} of the variance)", **LABEL_STYLE)
            plot.setLabel("left", f"PC 2 ({explained[1]:.0%})", **LABEL_STYLE)
        self.set_in_grid(self.in_grid)
        self._draw_ring()

    def set_in_grid(self, codes: np.ndarray | list[int]) -> None:
        """Ring the codes the current grid uses (one shared symbol: cheap on every brush step)."""
        self.in_grid = np.asarray(sorted(set(int(c) for c in codes)), np.int64)
        codes = self.in_grid[self.in_grid < len(self.coords)]
        self.grid_rings.setData(pos=self.coords[codes], size=self.sizes[codes] + 6)

    def select(self, code: int | None) -> None:
        self.selected = code
        self._draw_ring()

    def _draw_ring(self) -> None:
        if self.selected is None or not 0 <= self.selected < len(self.coords):
            self.ring.setData([])
            return
        self.ring.setData(pos=self.coords[self.selected][None], size=float(self.sizes[self.selected]) + 14)

    def _on_click(self, _item, points, _event=None) -> None:
        if len(points):
            self.code_clicked.emit(int(points[0].data()))
